"""The Atom document and the JSON Feed of a real fetch (fixture and hostile feeds), read by
their consumers: the RFC 4287 RELAX NG schema (jing), the ``reader`` library, and the JSON
Feed 1.1 rules."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from reader import make_reader
from selectolax.lexbor import LexborHTMLParser

from .conftest import ATOM_URL, FIXTURES, JSON_FEED_URL, Published, Stored, stored_articles
from .jsonfeed11 import RFC3339, json_feed_problems
from .tools import jing_or_skip

pytestmark = pytest.mark.slow

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = FIXTURES / "atom-rfc4287.rnc"  # RFC 4287 appendix B, as ../shared/schemas has it


@pytest.fixture(scope="module")
def stored(published: Published) -> dict[str, Stored]:
    return stored_articles(published.ws)


@pytest.fixture(scope="module")
def atom(published: Published) -> ET.Element:
    return ET.parse(published.ws.atom_path).getroot()


def jing(document: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [jing_or_skip(), "-c", str(SCHEMA), str(document)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_atom_validates_against_the_rfc_4287_schema(published: Published, tmp_path: Path) -> None:
    valid = jing(published.ws.atom_path)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    self_link = ET.parse(published.ws.atom_path).getroot().find(f"{ATOM}link[@rel='self']")
    assert self_link is not None and self_link.get("href") == ATOM_URL  # validated with the rest
    # The validator is not vacuous: the same document without an entry's <id> is refused.
    text = published.ws.atom_path.read_text(encoding="utf-8")
    broken = tmp_path / "no-id.xml"
    broken.write_text(re.sub(r"<entry>\s*<id>[^<]*</id>", "<entry>", text, count=1), "utf-8")
    invalid = jing(broken)
    assert invalid.returncode != 0 and "id" in invalid.stdout, invalid.stdout


def test_reader_reads_every_entry_in_full(
    published: Published, stored: dict[str, Stored], tmp_path: Path
) -> None:
    # A local feed: its path relative to feed_root, as reader's docs have it.
    atom_path = published.ws.atom_path
    path = atom_path.name
    reader = make_reader(str(tmp_path / "reader.sqlite"), feed_root=str(atom_path.parent))
    try:
        reader.add_feed(path)
        reader.update_feeds()
        feed = reader.get_feed(path)
        assert feed.last_exception is None, feed.last_exception
        assert feed.version == "atom10"
        entries = list(reader.get_entries(feed=path))
    finally:
        reader.close()
    assert sorted(e.id for e in entries) == sorted(f"urn:uuid:{i}" for i in stored)
    for entry in entries:
        article = stored[entry.id.removeprefix("urn:uuid:")]
        assert entry.title == article.title, entry.id
        assert entry.link == article.link, entry.id
        assert entry.authors_str == article.author, entry.id
        assert entry.published is not None and entry.updated is not None, entry.id
        [content] = entry.content
        assert content.type == "text/html", entry.id
        # feedparser (inside reader) re-serializes the markup; the text and URLs stay.
        assert _text(content.value) == _text(article.content), entry.id
        assert _urls(content.value) == _urls(article.content), entry.id


def test_atom_dates_ids_content_and_authors(atom: ET.Element, stored: dict[str, Stored]) -> None:
    feed_author = atom.findtext(f"{ATOM}author/{ATOM}name")
    dates = [e.text or "" for e in atom.iter() if e.tag in (f"{ATOM}published", f"{ATOM}updated")]
    assert dates and all(RFC3339.fullmatch(d) for d in dates), dates
    entries = atom.findall(f"{ATOM}entry")
    assert len(entries) == len(stored)
    for entry in entries:
        entry_id = entry.findtext(f"{ATOM}id") or ""
        assert entry_id.startswith("urn:uuid:"), entry_id
        article = stored[str(uuid.UUID(entry_id.removeprefix("urn:uuid:")))]
        # Escaped once: the XML text is the stored HTML itself, markup and all.
        content = entry.find(f"{ATOM}content")
        assert content is not None and content.get("type") == "html"
        assert content.text == article.content, entry_id
        assert (entry.findtext(f"{ATOM}author/{ATOM}name") or feed_author) == article.author
        assert entry.findtext(f"{ATOM}title") == article.title
        link = entry.find(f"{ATOM}link[@rel='alternate']")
        assert (link.get("href") if link is not None else None) == article.link
        terms = [c.get("term") for c in entry.findall(f"{ATOM}category")]
        assert terms == list(article.categories), entry_id


def test_json_feed_follows_the_json_feed_1_1_rules(
    published: Published, atom: ET.Element, stored: dict[str, Stored]
) -> None:
    text = published.json_feed.read_text(encoding="utf-8")
    assert json_feed_problems(text) == []
    assert json.loads(text)["feed_url"] == JSON_FEED_URL
    items = json.loads(text)["items"]
    assert [i["id"] for i in items] == [e.findtext(f"{ATOM}id") for e in atom.iter(f"{ATOM}entry")]
    for item in items:
        article = stored[item["id"].removeprefix("urn:uuid:")]
        assert item["title"] == article.title
        assert item["content_html"] == article.content
        assert item.get("url") == article.link
        assert item["authors"] == [{"name": article.author}]
        assert item.get("tags", []) == list(article.categories)


def test_the_json_feed_validator_finds_broken_documents() -> None:
    good = '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}'
    assert json_feed_problems(good) == []
    broken = (
        '{"version": "https://jsonfeed.org/version/1", "items": [{"id": 1, "title": "x"},'
        ' {"id": "a", "content_text": "", "date_published": "2024-07-01 08:00", "tag": []}]}'
    )
    assert json_feed_problems(broken) == [
        "feed: title is missing",
        "version is 'https://jsonfeed.org/version/1', not 'https://jsonfeed.org/version/1.1'",
        "items[0].id is int, not a string",
        "items[0]: neither content_html nor content_text",
        "items[1]: 'tag' is not a JSON Feed 1.1 key (extensions start _)",
        "items[1].date_published: '2024-07-01 08:00' is not RFC 3339",
    ]


def _text(html: str) -> str:
    node = LexborHTMLParser(f"<div>{html}</div>").css_first("div")
    assert node is not None
    return " ".join(node.text(deep=True).split())


def _urls(html: str) -> set[str]:
    tree = LexborHTMLParser(html)
    found = {str(a.attributes["href"]) for a in tree.css("a[href]")}
    return found | {str(i.attributes["src"]) for i in tree.css("img[src]")}
