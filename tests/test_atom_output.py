"""The Atom document ``aggregator fetch`` writes, read back as a consumer would (feedparser and
xml.etree), after a real fetch of the fixture feeds over 127.0.0.1."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from server import (
    FIXTURE_FEEDS,
    FeedResource,
    LoopbackServer,
    Workspace,
    running_server,
    serve_fixture_feeds,
)

pytestmark = pytest.mark.slow

ATOM = "{http://www.w3.org/2005/Atom}"
FIXTURES = Path(__file__).parent / "fixtures"
TITLE = "News & Views <digest>"  # escaped in the document, read back intact
ZAKER_CATEGORIES = ["新媒体", "ZAKER", "source"]
ATOM_URL = "https://blog.example/atom.xml"
JSON_FEED_URL = "https://blog.example/feed.json"


@pytest.fixture(scope="module")
def loopback() -> Iterator[LoopbackServer]:
    with running_server() as server:
        yield server


def feed_tables(server: LoopbackServer) -> list[dict[str, object]]:
    server.routes["/zaker.xml"] = FeedResource((FIXTURES / "zaker-channel.xml").read_bytes())
    zaker = {"name": "ZAKER", "url": server.url("/zaker.xml"), "categories": ZAKER_CATEGORIES}
    return [*serve_fixture_feeds(server), zaker]


def fetched(
    root: Path, server: LoopbackServer, output: dict[str, object] | None = None
) -> Workspace:
    ws = Workspace(root)
    ws.write_config(feed_tables(server), output={"atom_title": TITLE} | (output or {}))
    run = ws.fetch()
    assert run.returncode == 0, run.stderr
    return ws


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory, loopback: LoopbackServer) -> Workspace:
    return fetched(tmp_path_factory.mktemp("first"), loopback)


@pytest.fixture(scope="module")
def parsed(first: Workspace) -> Any:
    doc = feedparser.parse(first.atom_path.read_bytes())
    assert not doc.bozo, doc.get("bozo_exception")
    assert doc.version == "atom10"
    return doc


def test_atom_is_well_formed_xml(first: Workspace) -> None:
    root = ET.parse(first.atom_path).getroot()
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title") == TITLE
    expected = sum(len(f.titles) for f in FIXTURE_FEEDS) + 1  # + ZAKER's one entry
    assert len(root.findall(f"{ATOM}entry")) == expected


def test_feed_has_id_title_and_updated(parsed: Any) -> None:
    assert parsed.feed.id.startswith("urn:uuid:")
    assert parsed.feed.title == TITLE
    assert parsed.feed.updated_parsed is not None
    newest = max(e.updated_parsed for e in parsed.entries)
    assert parsed.feed.updated_parsed == newest


def test_every_entry_is_complete(first: Workspace, parsed: Any) -> None:
    rows = first.query(
        "SELECT a.id, a.link, a.title, a.content, f.name, f.url, f.categories"
        " FROM articles a JOIN feeds f ON f.id = a.feed_id"
    )
    stored = {f"urn:uuid:{r[0]}": r for r in rows}
    raw_content = {
        e.findtext(f"{ATOM}id"): e.findtext(f"{ATOM}content")
        for e in ET.parse(first.atom_path).getroot().iter(f"{ATOM}entry")
    }
    assert sorted(e.id for e in parsed.entries) == sorted(stored)
    categories = {f.name: list(f.categories) for f in FIXTURE_FEEDS} | {"ZAKER": ZAKER_CATEGORIES}
    for entry in parsed.entries:
        _, link, title, content, feed_name, feed_url, _ = stored[entry.id]
        assert entry.title == title
        assert entry.updated_parsed >= entry.published_parsed
        assert entry.link == link
        assert entry.author == feed_name  # the post's author: the feed's name here
        assert [t.term for t in entry.tags] == categories[feed_name]
        [body] = entry.content
        assert body.type == "text/html"
        # Escaped once: the consumer reads markup, not "&lt;p&gt;" (feedparser tidies it, so
        # the exact bytes are compared through xml.etree below).
        assert ("<p>" in body.value) == ("<p>" in content)
        assert "&lt;" not in body.value
        assert raw_content[entry.id] == content
        assert entry.source.title == feed_name
        assert entry.source.id == feed_url
        assert entry.source.link == feed_url


def test_entries_are_newest_first(parsed: Any) -> None:
    published = [e.published_parsed for e in parsed.entries]
    assert published == sorted(published, reverse=True)


def test_entry_ids_are_stable_across_data_folders(
    tmp_path: Path, loopback: LoopbackServer, parsed: Any
) -> None:
    second = fetched(tmp_path, loopback)

    again = feedparser.parse(second.atom_path.read_bytes())

    assert [e.id for e in again.entries] == [e.id for e in parsed.entries]
    assert again.feed.id != parsed.feed.id  # each database keeps its own document id


def self_links(atom: Path | str) -> list[str | None]:
    text = atom.read_text(encoding="utf-8") if isinstance(atom, Path) else atom
    root = ET.fromstring(text)
    return [link.get("href") for link in root.findall(f"{ATOM}link[@rel='self']")]


def test_without_atom_url_the_document_has_no_self_link(first: Workspace, parsed: Any) -> None:
    assert self_links(first.atom_path) == []
    assert parsed.feed.get("links", []) == []


def test_atom_url_is_the_documents_self_link_and_json_feed_url_its_feed_url(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    json_feed = tmp_path / "data" / "feed.json"
    output = {
        "atom_url": ATOM_URL,
        "json_feed_path": str(json_feed),
        "json_feed_url": JSON_FEED_URL,
    }
    ws = fetched(tmp_path, loopback, output)

    assert self_links(ws.atom_path) == [ATOM_URL]
    doc = feedparser.parse(ws.atom_path.read_bytes())
    assert not doc.bozo, doc.get("bozo_exception")
    assert [(link.rel, link.href) for link in doc.feed.links] == [("self", ATOM_URL)]
    assert json.loads(json_feed.read_text(encoding="utf-8"))["feed_url"] == JSON_FEED_URL
    # `aggregator atom`, to stdout or to its own file, renders the same document.
    stdout = ws.run("atom", "-o", "-")
    assert stdout.returncode == 0, stdout.stderr
    assert stdout.stdout == ws.atom_path.read_text(encoding="utf-8")


def test_a_new_atom_url_rewrites_the_document_on_the_next_pass(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    ws = fetched(tmp_path, loopback)
    ws.write_config(feed_tables(loopback), output={"atom_title": TITLE, "atom_url": ATOM_URL})

    run = ws.fetch()

    assert run.returncode == 0, run.stderr
    assert self_links(ws.atom_path) == [ATOM_URL]
