"""Adding feeds to config.toml in place: where the tables go, what is kept byte for byte, and
that a bad edit never replaces a good file."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from aggregator.config import load_config, parse_config
from aggregator.edges.configedit import (
    STARTER_CONFIG,
    FeedEntry,
    append_feed,
    append_feeds,
    insert_feeds,
)
from aggregator.errors import ConfigError, OutputError, UsageError
from aggregator.steps.opml import OpmlFeed

NEW = [FeedEntry('New "q"', "https://n.example/", ("x", "y")), FeedEntry("M", "https://m.example/")]
NEW_TEXT = (
    '[[feeds]]\nname = "New \\"q\\""\nurl = "https://n.example/"\ncategories = ["x", "y"]\n'
    '\n[[feeds]]\nname = "M"\nurl = "https://m.example/"\n'
)


def feeds_of(text: str) -> list[dict[str, object]]:
    return list(tomllib.loads(text).get("feeds", []))


# -- insert_feeds (pure) -------------------------------------------------------------------


def test_after_the_last_feed_at_the_end_of_the_file() -> None:
    text = '# top\n[storage]\ndatabase = "x"  # why\n\n[[feeds]]\nname = "A"\nurl = "https://a/"\n'
    assert insert_feeds(text, NEW) == text + "\n" + NEW_TEXT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", NEW_TEXT),
        ("   \n", "   \n" + NEW_TEXT),
        ('[storage]\ndatabase = "x"', '[storage]\ndatabase = "x"\n\n' + NEW_TEXT),
        ('[storage]\ndatabase = "x"\n\n', '[storage]\ndatabase = "x"\n\n' + NEW_TEXT),
    ],
)
def test_at_the_end_of_a_file_without_feeds(text: str, expected: str) -> None:
    assert insert_feeds(text, NEW) == expected


def test_before_the_comments_that_introduce_the_next_table() -> None:
    head = '[[feeds]]\nname = "A"\nurl = "https://a/"\n# interval = "1h"\n\n# old = 1\n'
    tail = "\n\n# The daemon:\n[daemon]\ngrace = 5\n"
    assert insert_feeds(head + tail, NEW) == head + "\n" + NEW_TEXT + tail


def test_directly_above_a_table_that_follows_without_a_blank_line() -> None:
    head = '[[feeds]]\nname = "A"\nurl = "https://a/"\n'
    tail = "# daemon\n[daemon]\ngrace = 5\n"
    assert insert_feeds(head + tail, NEW) == head + "\n" + NEW_TEXT + "\n" + tail


def test_a_feeds_subtable_belongs_to_its_feed() -> None:
    head = '[[feeds]]\nname = "A"\nurl = "https://a/"\n[feeds.headers]\nX-Key = "1"\n'
    tail = "\n[fetch]\nretries = 1\n"
    new = insert_feeds(head + tail, NEW)
    assert new == head + "\n" + NEW_TEXT + tail
    assert feeds_of(new)[0] == {"name": "A", "url": "https://a/", "headers": {"X-Key": "1"}}


def test_a_header_inside_a_multiline_string_is_not_a_table() -> None:
    head = '[[feeds]]\nname = "A"\nurl = "https://a/"\ncontent_selector = """\n[fake]\n"""\n'
    tail = "\n[daemon]\ngrace = 5\n"
    assert insert_feeds(head + tail, NEW) == head + "\n" + NEW_TEXT + tail


def test_after_the_last_of_feeds_split_around_another_table() -> None:
    text = '[[feeds]]\nname = "A"\nurl = "https://a/"\n\n[daemon]\ngrace = 5\n\n[[feeds]]\n'
    text += 'name = "B"\nurl = "https://b/"\n'
    new = insert_feeds(text, NEW)
    assert new == text + "\n" + NEW_TEXT
    assert [f["name"] for f in feeds_of(new)] == ["A", "B", 'New "q"', "M"]


def test_crlf_line_endings_are_kept() -> None:
    text = '[[feeds]]\r\nname = "A"\r\nurl = "https://a/"\r\n\r\n[daemon]\r\ngrace = 5\r\n'
    new = insert_feeds(text, NEW[1:])
    assert new == (
        '[[feeds]]\r\nname = "A"\r\nurl = "https://a/"\r\n\r\n'
        '[[feeds]]\r\nname = "M"\r\nurl = "https://m.example/"\r\n'
        "\r\n[daemon]\r\ngrace = 5\r\n"
    )


def test_an_inline_feeds_array_gets_inline_tables() -> None:
    text = 'feeds = [\n  {name = "A", url = "https://a/"},  # kept\n]\n'
    new = insert_feeds(text, NEW[1:])
    assert new == (
        'feeds = [\n  {name = "A", url = "https://a/"},  # kept\n'
        '  {name = "M", url = "https://m.example/"},\n]\n'
    )


# -- the file ------------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('# mine\n[[feeds]]\nname = "A"\nurl = "https://a.example/feed"\n')
    path.chmod(0o640)
    return path


def test_append_feed_writes_atomically_keeping_the_mode(config: Path) -> None:
    before = config.stat()
    entry = append_feed(config, "B", "https://b.example/", ["x"])
    assert entry == FeedEntry("B", "https://b.example/", ("x",))
    after = config.stat()
    assert after.st_ino != before.st_ino  # a new file renamed over the old one
    assert stat.S_IMODE(after.st_mode) == 0o640
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.toml"]  # no temp left


@pytest.mark.parametrize(
    ("name", "url", "message"),
    [
        ("A", "https://new.example/", "a feed named 'A' is already in {config}"),
        (
            "B",
            "https://A.example:443/feed",
            "https://A.example:443/feed is already configured as feed 'A' "
            "(as https://a.example/feed) in {config}",
        ),
        (
            "B",
            "http://www.a.example/feed#top",
            "http://www.a.example/feed#top is already configured as feed 'A' "
            "(as https://a.example/feed) in {config}",
        ),
    ],
)
def test_append_feed_refuses_a_duplicate_naming_the_file(
    config: Path, name: str, url: str, message: str
) -> None:
    old = config.read_bytes()
    with pytest.raises(UsageError) as caught:
        append_feed(config, name, url)
    assert str(caught.value) == message.format(config=config)
    assert config.read_bytes() == old


def test_a_discovered_duplicate_says_which_url_led_to_it(config: Path) -> None:
    with pytest.raises(UsageError) as caught:
        append_feed(config, "B", "https://a.example/feed", given="https://a.example/")
    assert str(caught.value) == (
        "https://a.example/ leads to the feed https://a.example/feed, which is already "
        f"configured as feed 'A' in {config}"
    )


def test_an_edit_the_loader_refuses_never_replaces_the_file(config: Path) -> None:
    old = config.read_bytes()
    with pytest.raises(ConfigError, match="the edit would make it invalid") as caught:
        append_feed(config, "two\nlines", "https://b.example/")
    assert str(config) in str(caught.value) and "feeds[1].name" in str(caught.value)
    assert config.read_bytes() == old
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.toml"]


def test_a_symlinked_config_stays_a_symlink(config: Path, tmp_path: Path) -> None:
    link = tmp_path / "elsewhere" / "link.toml"
    link.parent.mkdir()
    link.symlink_to(config)
    append_feed(link, "B", "https://b.example/")
    assert link.is_symlink()
    assert [f["name"] for f in feeds_of(config.read_text())] == ["A", "B"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_an_output_error(config: Path) -> None:
    config.parent.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="cannot write"):
            append_feed(config, "B", "https://b.example/")
    finally:
        config.parent.chmod(0o755)


def test_a_failed_rename_is_an_output_error_leaving_no_temp_file(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = config.read_bytes()

    def refuse(src: str, dst: str) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr("aggregator.edges.files.os.replace", refuse)
    with pytest.raises(OutputError, match="cannot write: read-only file system"):
        append_feed(config, "B", "https://b.example/")
    assert config.read_bytes() == old
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.toml"]


def test_append_feeds_skips_configured_urls_and_numbers_taken_names(config: Path) -> None:
    result = append_feeds(
        config,
        [
            OpmlFeed("A", "https://other.example/"),
            OpmlFeed("Dup of A", "https://a.example/feed"),
            OpmlFeed("C", "https://c.example/", ("k",)),
            OpmlFeed("C again", "https://c.example/"),
        ],
    )
    assert result.added == (
        FeedEntry("A (2)", "https://other.example/"),
        FeedEntry("C", "https://c.example/", ("k",)),
    )
    assert [(s.feed.name, s.existing) for s in result.skipped] == [
        ("Dup of A", "A"),
        ("C again", "C"),
    ]
    assert [f["name"] for f in feeds_of(config.read_text())] == ["A", "A (2)", "C"]


def test_append_feeds_with_nothing_new_leaves_the_file_untouched(config: Path) -> None:
    before = config.stat()
    result = append_feeds(config, [OpmlFeed("Again", "https://a.example/feed")])
    assert result.added == () and len(result.skipped) == 1
    assert config.stat().st_ino == before.st_ino


def test_the_starter_config_spells_out_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    starter, empty = parse_config(path, STARTER_CONFIG), parse_config(path, "")
    assert starter == empty, "what the starter writes is what no file at all would mean"
    assert "[storage]" in STARTER_CONFIG and "[output]" in STARTER_CONFIG


def test_append_feed_creates_a_missing_config_in_a_new_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    append_feed(path, "A", "https://a.example/feed")
    assert path.read_text(encoding="utf-8").startswith(STARTER_CONFIG)
    assert [f.name for f in load_config(path).feeds] == ["A"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]  # no temp left
