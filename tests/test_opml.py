"""OPML: parse and render (pure), and ``import-opml`` / ``export-opml`` through the real CLI."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from server import Workspace

from aggregator.config import load_config
from aggregator.errors import OpmlError
from aggregator.steps.opml import MAX_OPML_BYTES, OpmlFeed, parse_opml, render_opml

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0" xmlns:fz="urn:example:extension">
  <head><title>Subscriptions</title><dateCreated>Mon, 01 Jul 2024 08:00:00 GMT</dateCreated></head>
  <body>
    <outline text="Loose" type="rss" xmlUrl="https://loose.example/feed" htmlUrl="https://loose.example/"/>
    <outline text="Tech" title="Technology">
      <outline text="Python Weekly" type="rss" xmlUrl="https://py.example/rss" fz:priority="1"/>
      <outline title="Title only" type="rss" xmlUrl="https://title.example/atom.xml"/>
      <outline text="Deep">
        <outline text="Deeper">
          <outline type="rss" xmlUrl="https://nameless.example:8443/feed.json"/>
        </outline>
      </outline>
      <outline text="Empty folder"/>
      <outline text="A bookmark" type="link" url="https://bookmark.example/"/>
    </outline>
    <outline title="News">
      <outline TEXT="Python Weekly" XMLURL="https://other-py.example/rss"/>
      <outline text="  Spaced
        name " xmlUrl="https://spaced.example/rss" category="/News/World,/Extra"/>
    </outline>
  </body>
</opml>
"""


# -- parse ---------------------------------------------------------------------------------


def test_nested_outlines_become_categories_outer_first() -> None:
    assert parse_opml(READER_EXPORT, "subs.opml") == [
        OpmlFeed("Loose", "https://loose.example/feed", ()),
        OpmlFeed("Python Weekly", "https://py.example/rss", ("Tech",)),
        OpmlFeed("Title only", "https://title.example/atom.xml", ("Tech",)),
        OpmlFeed(
            "nameless.example",
            "https://nameless.example:8443/feed.json",
            ("Tech", "Deep", "Deeper"),
        ),
        OpmlFeed("Python Weekly (2)", "https://other-py.example/rss", ("News",)),
        OpmlFeed("Spaced name", "https://spaced.example/rss", ("News", "World", "Extra")),
    ]


def test_a_category_attribute_that_disagrees_with_the_folders_adds_to_them() -> None:
    opml = b"""<opml version="2.0"><body><outline text="A">
      <outline text="F" xmlUrl="https://f.example/" category="/X/Y,A"/>
    </outline></body></opml>"""
    assert parse_opml(opml, "x.opml") == [OpmlFeed("F", "https://f.example/", ("A", "X", "Y"))]


def test_opml_1_without_head_and_with_a_utf16_encoding() -> None:
    opml = (
        '<?xml version="1.0" encoding="UTF-16"?><opml version="1.0"><body>'
        '<outline text="Ünïcode" xmlUrl="http://u.example/"/></body></opml>'
    )
    assert parse_opml(opml.encode("utf-16"), "u.opml") == [OpmlFeed("Ünïcode", "http://u.example/")]


def test_an_empty_body_is_an_empty_list() -> None:
    assert parse_opml(b"<opml><body/></opml>", "empty.opml") == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not well-formed XML at line 1"),
        (b"<opml><body><outline text='x'></body></opml>", "not well-formed XML at line 1"),
        (b"<rss version='2.0'/>", "not OPML: the root element is <rss>"),
        (b"<opml><head/></opml>", "not OPML: no <body>"),
        (b"<opml><body><outline text='x' type='rss'/></body></opml>", "outline 'x'"),
        (b"<opml><body><outline text='x' xmlUrl=''/></body></opml>", "without xmlUrl"),
        (
            b"<opml><body><outline text='T'><outline text='J' xmlUrl='javascript:alert(1)'/>"
            b"</outline></body></opml>",
            "outline 'T / J': xmlUrl 'javascript:alert(1)' is not an http(s) or file: URL",
        ),
        (b"<opml><body><outline text='x' xmlUrl='feeds/x.xml'/></body></opml>", "not an http"),
    ],
)
def test_bad_input_is_an_error_naming_the_file(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError) as caught:
        parse_opml(data, "bad.opml")
    assert str(caught.value).startswith("bad.opml")
    assert message in str(caught.value)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY a "aaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<opml version="2.0"><body><outline text="&c;" xmlUrl="https://x.example/"/></body></opml>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="https://x.example/"/></body></opml>
"""
PLAIN_DOCTYPE = b'<!DOCTYPE opml SYSTEM "opml.dtd"><opml><body/></opml>'


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, PLAIN_DOCTYPE])
def test_any_doctype_is_refused(data: bytes) -> None:
    with pytest.raises(OpmlError, match="refusing a DOCTYPE"):
        parse_opml(data, "evil.opml")


def test_an_undeclared_entity_is_not_well_formed() -> None:
    with pytest.raises(OpmlError, match="undefined entity"):
        parse_opml(b"<opml><body><outline text='&x;' xmlUrl='https://x/'/></body></opml>", "e")


def test_size_and_depth_are_capped() -> None:
    with pytest.raises(OpmlError, match="larger than"):
        parse_opml(b" " * (MAX_OPML_BYTES + 1), "big.opml")
    deep = b"<opml><body>" + b"<outline text='f'>" * 40 + b"</outline>" * 40 + b"</body></opml>"
    with pytest.raises(OpmlError, match="nested deeper"):
        parse_opml(deep, "deep.opml")


UNLABELLED_DEEP = b"<opml><body>" + b"<outline>" * 5000 + b"</outline>" * 5000 + b"</body></opml>"


def test_unlabelled_folders_count_towards_the_depth() -> None:
    with pytest.raises(OpmlError, match="nested deeper than 32 levels"):
        parse_opml(UNLABELLED_DEEP, "deep.opml")
    assert parse_opml(feed_in_unlabelled_folders(32), "ok.opml") == [
        OpmlFeed("f", "https://f.example/")
    ]
    with pytest.raises(OpmlError, match="nested deeper"):
        parse_opml(feed_in_unlabelled_folders(33), "deep.opml")


def feed_in_unlabelled_folders(levels: int) -> bytes:
    feed = b"<outline text='f' xmlUrl='https://f.example/'/>"
    return (
        b"<opml><body>" + b"<outline>" * levels + feed + b"</outline>" * levels + b"</body></opml>"
    )


# -- render --------------------------------------------------------------------------------

FEEDS = [
    OpmlFeed("Python Weekly", "https://py.example/rss", ("Tech", "Python")),
    OpmlFeed("Rust & <Co>", "https://rust.example/feed?a=1&b=2", ("Tech",)),
    OpmlFeed("Loose \"quoted\" 'name'", "https://loose.example/"),
    OpmlFeed("新媒体", "https://zaker.example/rss", ("新媒体", "ZAKER", "贵州")),
    OpmlFeed("Slashed", "https://s.example/", ("a/b", "c,d")),
    OpmlFeed("Late tech", "file:///srv/feeds/late.xml", ("Tech",)),
]


def test_render_is_opml_2_with_the_first_category_as_folder() -> None:
    root = ET.fromstring(render_opml(FEEDS, "My feeds"))
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "My feeds"
    top = list(root.find("body") or [])
    assert [o.get("text") for o in top] == [
        "Tech",
        "Loose \"quoted\" 'name'",
        "新媒体",
        "a/b",
        "Tech",
    ]
    python, rust = list(top[0])
    assert python.attrib == {
        "type": "rss",
        "text": "Python Weekly",
        "title": "Python Weekly",
        "xmlUrl": "https://py.example/rss",
        "category": "/Tech/Python",
    }
    assert rust.get("xmlUrl") == "https://rust.example/feed?a=1&b=2"
    assert "category" not in top[1].attrib
    # Categories holding "/" or "," cannot go into the attribute: one folder per category.
    slashed = top[3][0][0]
    assert slashed.get("text") == "Slashed" and "category" not in slashed.attrib


def test_render_drops_characters_xml_cannot_carry() -> None:
    data = render_opml([OpmlFeed("bell\x07", "https://b.example/", ("c\x1b",))], "t\x00")
    assert parse_opml(data, "x") == [OpmlFeed("bell", "https://b.example/", ("c",))]


def test_round_trip() -> None:
    assert parse_opml(render_opml(FEEDS, "t"), "t.opml") == FEEDS


def _clean(text: str) -> str:
    return " ".join(text.split())


_words = (
    st.text(
        st.characters(
            blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"),
            blacklist_characters="\ufffe\uffff",
        ),
        min_size=1,
        max_size=12,
    )
    .map(_clean)
    .filter(bool)
)
_urls = st.builds(
    "https://{}.example/{}?q={}".format,
    st.sampled_from(["a", "b", "news", "xn--caf-dma"]),
    st.text("abcXYZ019-_./%", max_size=10),
    st.text("abc&=;", max_size=5),
)
_feeds = st.lists(
    st.builds(OpmlFeed, _words, _urls, st.lists(_words, max_size=4).map(tuple)),
    max_size=8,
    unique_by=lambda f: f.name,
)


@given(_feeds, _words)
def test_round_trip_any(feeds: list[OpmlFeed], title: str) -> None:
    assert parse_opml(render_opml(feeds, title), "any.opml") == feeds


# -- the CLI -------------------------------------------------------------------------------

COMMENTED = """\
# My aggregator: hand-written, with comments that must survive.

[storage]
database = "{database}"   # next to the posts

[output]
posts_dir = "{posts}"
atom_path = "{atom}"

# -- feeds --
[[feeds]]
name = "Existing"   # the first one
url = "https://py.example/rss"
categories = ["Tech"]
# interval = "1h"

# The daemon section closes the file.
[daemon]
grace = "5s"
"""


def commented_config(ws: Workspace) -> str:
    return ws.write_config_text(COMMENTED)


def write_opml(ws: Workspace, data: bytes, name: str = "subs.opml") -> Path:
    path = ws.root / name
    path.write_bytes(data)
    return path


def inserted_part(old: str, new: str) -> str:
    """What ``new`` adds to ``old`` in one place, asserting that every other byte is kept."""
    prefix = 0
    while prefix < len(old) and old[prefix] == new[prefix]:
        prefix += 1
    added = len(new) - len(old)
    assert added > 0
    assert new[prefix + added :] == old[prefix:], "bytes outside the inserted part changed"
    return new[prefix : prefix + added]


def test_import_appends_to_a_commented_config_keeping_every_byte(ws: Workspace) -> None:
    old = commented_config(ws)
    result = ws.run("import-opml", str(write_opml(ws, READER_EXPORT)))
    assert result.returncode == 0, result.stderr
    assert "5 feeds added, 1 skipped" in result.stderr
    assert (
        'skipped "Python Weekly": https://py.example/rss is already configured as "Existing"'
        in (result.stderr)
    )
    assert 'added "Spaced name": https://spaced.example/rss' in result.stdout
    new = ws.config_path.read_text(encoding="utf-8")
    added = tomllib.loads(inserted_part(old, new))["feeds"]
    assert [f["name"] for f in added] == [
        "Loose",
        "Title only",
        "nameless.example",
        "Python Weekly (2)",
        "Spaced name",
    ]
    # After the last feed and its commented-out key, before the comment on [daemon].
    assert new.index('# interval = "1h"') < new.index('name = "Loose"')
    assert new.index('name = "Spaced name"') < new.index("# The daemon section closes the file.")
    config = load_config(ws.config_path)
    assert config.feed("nameless.example").categories == ("Tech", "Deep", "Deeper")  # type: ignore[union-attr]
    assert config.daemon.grace == 5


def test_importing_again_adds_nothing_and_leaves_the_file_alone(ws: Workspace) -> None:
    commented_config(ws)
    opml = write_opml(ws, READER_EXPORT)
    assert ws.run("import-opml", str(opml)).returncode == 0
    before = ws.config_path.read_bytes()
    again = ws.run("import-opml", str(opml), config_first=False)
    assert again.returncode == 0, again.stderr
    assert "0 feeds added, 6 skipped" in again.stderr
    assert ws.config_path.read_bytes() == before


def test_export_then_import_into_an_empty_config_round_trips(ws: Workspace, tmp_path: Path) -> None:
    ws.write_config(
        [
            {"name": "RSS Two", "url": "https://a.example/rss", "categories": ["rss", "Tech #1"]},
            {"name": "Off", "url": "https://off.example/feed", "enabled": False},
            {"name": "Local", "url": "feeds/local.xml", "categories": ["a/b"]},
            {
                "name": "新媒体",
                "url": "https://z.example/?a=1&b=2",
                "categories": ["新媒体", "ZAKER"],
            },
        ]
    )
    exported = ws.root / "out" / "feeds.opml"
    result = ws.run("export-opml", "-o", str(exported))
    assert result.returncode == 0, result.stderr
    assert "exported 4 feeds" in result.stderr
    stdout = ws.run("export-opml")
    assert stdout.returncode == 0 and stdout.stdout.encode() == exported.read_bytes()

    other = Workspace(tmp_path / "other")
    other.root.mkdir()
    other.config_path.write_text("", encoding="utf-8")  # an empty config is a valid one
    imported = other.run("import-opml", str(exported))
    assert imported.returncode == 0, imported.stderr
    assert "4 feeds added, 0 skipped" in imported.stderr

    def feeds(path: Path) -> list[tuple[str, str, tuple[str, ...]]]:
        return [(f.name, f.url, f.categories) for f in load_config(path).feeds]

    assert feeds(other.config_path) == feeds(ws.config_path)


def test_import_from_stdin(ws: Workspace) -> None:
    ws.write_config([])
    result = subprocess.run(
        [sys.executable, "-m", "aggregator", "--config", str(ws.config_path), "import-opml", "-"],
        input=render_opml([OpmlFeed("S", "https://s.example/")], "t"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert [f.name for f in load_config(ws.config_path).feeds] == ["S"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><body>not opml</body></html>", "not OPML"),
        (BILLION_LAUGHS, "refusing a DOCTYPE"),
        (b"<opml><body><outline text='x' type='rss'/></body></opml>", "without xmlUrl"),
        (UNLABELLED_DEEP, "nested deeper than 32 levels"),
    ],
)
def test_a_bad_opml_file_exits_2_naming_it_and_changes_nothing(
    ws: Workspace, data: bytes, message: str
) -> None:
    old = commented_config(ws)
    path = write_opml(ws, data, "bad.opml")
    result = ws.run("import-opml", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr and message in result.stderr
    assert ws.config_path.read_text(encoding="utf-8") == old


def test_a_missing_opml_file_exits_2(ws: Workspace) -> None:
    commented_config(ws)
    result = ws.run("import-opml", str(ws.root / "nope.opml"))
    assert result.returncode == 2
    assert "nope.opml: cannot read" in result.stderr


def test_a_broken_config_is_never_edited(ws: Workspace) -> None:
    broken = '[[feeds]]\nname = "x"\n'  # no url
    ws.config_path.write_text(broken, encoding="utf-8")
    result = ws.run("import-opml", str(write_opml(ws, READER_EXPORT)))
    assert result.returncode == 2
    assert 'feeds[0] "x".url: missing required key' in result.stderr
    assert ws.config_path.read_text(encoding="utf-8") == broken


def test_export_writes_to_any_file_name_the_user_chooses(ws: Workspace, tmp_path: Path) -> None:
    ws.write_config([{"name": "A", "url": "http://127.0.0.1:9/a.xml", "categories": ["x"]}])
    target = tmp_path / "exports" / "my subs (été).opml"
    result = ws.run("export-opml", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert b'xmlUrl="http://127.0.0.1:9/a.xml"' in target.read_bytes()


def test_a_first_import_creates_a_starter_config(ws: Workspace) -> None:
    assert not ws.config_path.exists()
    result = ws.run("import-opml", str(write_opml(ws, READER_EXPORT)))
    assert result.returncode == 0, result.stderr
    assert f"created {ws.config_path}: a starter config" in result.stderr
    assert "6 feeds added, 0 skipped" in result.stderr
    text = ws.config_path.read_text(encoding="utf-8")
    assert text.startswith("# aggregator configuration")
    config = load_config(ws.config_path)
    assert len(config.feeds) == 6
    assert config.storage.database == str(ws.root / "data" / "aggregator.sqlite3")
    assert (config.output.posts_dir, config.output.atom_path) == (
        ws.root / "data" / "posts",
        ws.root / "data" / "atom.xml",
    )
    assert ws.run("check").returncode == 0
    assert sorted(p.name for p in ws.root.iterdir() if p.is_file()) == ["config.toml", "subs.opml"]


def test_a_failed_first_import_creates_nothing(ws: Workspace) -> None:
    result = ws.run("import-opml", str(write_opml(ws, b"<opml><body>", "bad.opml")))
    assert result.returncode == 2
    assert not ws.config_path.exists()
    assert "no such config file" not in result.stderr
