"""The key declarations (aggregator/config/keys.py) are the one place a key lives: docs/config.md
lists every key with its default as they declare it, a documented default means what leaving the
key out means, and the keys declared secret are the ones logs mask. Also the keys of near-duplicate
dedupe and of sources without a feed: validated, each mistake naming the feed and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from config_docs import DOCS, TABLES, with_current_tables
from server import Workspace, toml_value

from aggregator.config import Config, FeedConfig, load_config, secret_values
from aggregator.config.checks import REQUIRED, declared
from aggregator.config.keys import SECTIONS
from aggregator.config.select import KEYS as SELECT_KEYS
from aggregator.errors import ConfigError


def test_docs_list_every_key_with_its_default() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert with_current_tables(text) == text, (
        "docs/config.md's key tables differ from aggregator/config/keys.py: "
        "run `python tests/config_docs.py`"
    )


def test_a_key_without_its_docs_line_is_caught() -> None:
    text = DOCS.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `min_tokens` |"))
    without_row = text.replace(row + "\n", "")
    assert with_current_tables(without_row) != without_row
    without_table = re.sub(r"<!-- keys dedupe -->.*?<!-- /keys -->", "", text, flags=re.S)
    with pytest.raises(ValueError, match="no <!-- keys dedupe --> table"):
        with_current_tables(without_table)


def test_every_key_has_one_line_of_doc_that_fits_a_table_row() -> None:
    for section, record in TABLES.items():
        for name, key in declared(record).items():
            assert key.doc.strip(), f"{section}.{name}"
            assert not set(key.doc + key.shown_default) & {"|", "\n"}, f"{section}.{name}"


def _with_defaults(record: type) -> list[str]:
    """`key = default` for every key whose default config.toml can write."""
    return [
        f"{name} = {toml_value(key.default)}"
        for name, key in declared(record).items()
        if key.default is not None and key.default is not REQUIRED
    ]


def test_writing_every_default_out_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGGREGATOR_DATABASE_URL", raising=False)
    feed = '[[feeds]]\nname = "A"\nurl = "https://a.example/feed.xml"\n'
    lines = []
    for section, record in SECTIONS.items():
        lines += [f"[{section}]", *_with_defaults(record), ""]
    written = tmp_path / "written.toml"
    written.write_text("\n".join([*lines, feed, *_with_defaults(FeedConfig)]), encoding="utf-8")
    bare = tmp_path / "bare.toml"
    bare.write_text(feed, encoding="utf-8")

    left_out, spelled_out = load_config(bare), load_config(written)

    assert spelled_out == Config(**{**_fields(left_out), "path": written})
    assert spelled_out.output.posts_dir == tmp_path.resolve() / "data" / "posts"


def _fields(config: Config) -> dict[str, object]:
    return {name: getattr(config, name) for name in Config.__dataclass_fields__}


def test_the_keys_declared_secret_are_the_ones_logs_mask(tmp_path: Path) -> None:
    secret = {
        f"{section}.{name}"
        for section, record in TABLES.items()
        for name, key in declared(record).items()
        if key.secret
    }
    assert secret == {"storage.database", "fetch.proxy", "feeds.headers"}
    config = load_config(_write(tmp_path, _SECRETS))
    assert list(secret_values(config)) == [
        "postgresql://agg:db-pw-1@127.0.0.1/agg",
        "http://u:proxy-pw-2@127.0.0.1:3128",
        (("X-Key", "key-3"),),
    ]


_SECRETS = """
[storage]
database = "postgresql://agg:db-pw-1@127.0.0.1/agg"
[fetch]
proxy = "http://u:proxy-pw-2@127.0.0.1:3128"
[[feeds]]
name = "A"
url = "https://a.example/"
headers = { X-Key = "key-3" }
[[feeds]]
name = "B"
url = "https://b.example/"
"""


def _write(folder: Path, text: str) -> Path:
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_select_key_is_documented() -> None:
    """[feeds.select]'s keys belong to aggregator/config/select.py; sources.md has a row for
    each, and config.md names each where it points there."""
    sources = (DOCS.parent / "sources.md").read_text(encoding="utf-8")
    config = DOCS.read_text(encoding="utf-8").partition("### [feeds.select]")[2]
    for key in SELECT_KEYS:
        assert f"\n| `{key}` |" in sources, key
        assert f"`{key}`" in config, key


MINIMAL = """
[[feeds]]
name = "A"
url = "https://a.example/feed.xml"
"""

MISTAKES = [
    ("[dedupe]\nnear = true\n" + MINIMAL, "dedupe.near", "expected one of"),
    ("dedupe = 1\n" + MINIMAL, "dedupe", "expected a table"),
    ("[dedupe]\nnear_duplicates = 'yes'\n", "dedupe.near_duplicates", "true or false"),
    ("[dedupe]\nthreshold = 0\n", "dedupe.threshold", "above 0 and at most 1, got 0"),
    ("[dedupe]\nthreshold = 1.5\n", "dedupe.threshold", "above 0 and at most 1, got 1.5"),
    ("[dedupe]\nthreshold = nan\n", "dedupe.threshold", "above 0 and at most 1, got nan"),
    ("[dedupe]\nthreshold = true\n", "dedupe.threshold", "above 0 and at most 1"),
    ("[dedupe]\ncontainment = '0.8'\n", "dedupe.containment", "above 0 and at most 1"),
    ("[dedupe]\ncontainment = -0.5\n", "dedupe.containment", "above 0 and at most 1"),
    ("[dedupe]\nmin_tokens = 0\n", "dedupe.min_tokens", "a positive integer, got 0"),
    ("[dedupe]\nmin_tokens = 40.0\n", "dedupe.min_tokens", "a positive integer"),
    (MINIMAL + "dedupe = 'no'\n", 'feeds[0] "A".dedupe', "true or false"),
    (MINIMAL + "source = 'rss'\n", 'feeds[0] "A".source', '"feed", "html" or "json", got'),
    (MINIMAL + "source = 1\n", 'feeds[0] "A".source', "a string"),
    (MINIMAL + "select = 'div'\n", 'feeds[0] "A".select', "expected a table, got 'div'"),
    (MINIMAL + "source = 'json'\n", 'feeds[0] "A".select', 'required table for source = "json"'),
    (
        MINIMAL + "[feeds.select]\nitems = 'div'\n",
        'feeds[0] "A".select',
        'unexpected for source = "feed"',
    ),
    (
        MINIMAL + "source = 'html'\n[feeds.select]\ntitle = 'h2'\n",
        'feeds[0] "A".select.items',
        "missing required key",
    ),
    (
        MINIMAL + "source = 'html'\n[feeds.select]\nitems = 'li'\ntitel = 'h2'\n",
        'feeds[0] "A".select.titel',
        "unknown key (expected one of: author, date, date_format, id, image, items, link",
    ),
    (
        MINIMAL + "source = 'html'\n[feeds.select]\nitems = 'li'\nlink = 'a[@href'\n",
        'feeds[0] "A".select.link',
        "expected a valid CSS selector, not 'a['",
    ),
    (
        MINIMAL + "source = 'json'\n[feeds.select]\nitems = 'data..x'\ntitle = 't'\n",
        'feeds[0] "A".select.items',
        "expected a dotted path",
    ),
    (
        MINIMAL + "source = 'json'\n[feeds.select]\nitems = 'a'\nlink = 'b'\nscript = 'x'\n",
        'feeds[0] "A".select.script',
        'expected no `script`: it is only for source = "html"',
    ),
    (
        MINIMAL + "source = 'html'\n[feeds.select]\nitems = 'li'\npages = 0\n",
        'feeds[0] "A".select.pages',
        "expected a whole number from 1 to 10, not 0",
    ),
    (
        MINIMAL + "source = 'html'\n[feeds.select]\nitems = 'li'\ntimezone = 'Mars/Base'\n",
        'feeds[0] "A".select.timezone',
        "expected an IANA time zone name",
    ),
    (
        MINIMAL + "source = 'html'\n[feeds.select]\nitems = 'li'\ntitle = 3\n",
        'feeds[0] "A".select.title',
        "expected a string, not int",
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "expected"), [pytest.param(*row, id=row[1]) for row in MISTAKES]
)
def test_mistakes_in_the_new_keys_name_file_key_and_expectation(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    error = config_error(tmp_path, text)
    assert error.key == key
    assert f": {key}: " in str(error), str(error)
    assert expected in str(error), str(error)


def config_error(tmp_path: Path, text: str) -> ConfigError:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value), "the error must name the file"
    return info.value


def test_a_select_mistake_names_the_feed_and_its_key_as_the_docs_show(tmp_path: Path) -> None:
    text = """
[[feeds]]
name = "ZAKER 科技"
url = "https://www.myzaker.com/channel/13"
source = "html"
[feeds.select]
items = "div[["
"""
    error = config_error(tmp_path, text)
    assert error.key == 'feeds[0] "ZAKER 科技".select.items'
    assert str(error).endswith(
        'config.toml: feeds[0] "ZAKER 科技".select.items: '
        "expected a valid CSS selector, not 'div[['"
    )
    docs = (Path(__file__).parent.parent / "docs" / "config.md").read_text(encoding="utf-8")
    assert f"config error: {str(error).rpartition('/')[2]}" in docs, "the example in the docs"


def test_check_rejects_a_bad_select_table_naming_the_feed_and_key(ws: Workspace) -> None:
    page = {"name": "ZAKER 科技", "url": "http://127.0.0.1:9/channel/13", "source": "html"}
    ws.write_config([page | {"select": {"items": "div.article-item", "link": "h2 a@"}}])
    bad = ws.run("check")
    assert bad.returncode == 2, bad.stderr
    assert 'feeds[0] "ZAKER 科技".select.link: expected a valid CSS selector' in bad.stderr
    assert "Traceback" not in bad.stderr

    ws.write_config([page | {"select": {"items": "div.article-item", "link": "h2 a@href"}}])
    ok = ws.run("check")
    assert ok.returncode == 0, ok.stderr
