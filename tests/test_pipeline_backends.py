"""The pipeline on both storage backends: the same pass (fetch, parse, filter, dedupe, crawl,
store, publish) against a loopback server, once on SQLite and once on PostgreSQL, checked
through the Store interface and the files it publishes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from feeds import rss, rss_item
from server import (
    FIXTURE_FEEDS,
    FeedResource,
    LoopbackServer,
    Reply,
    Workspace,
    serve_fixture_feeds,
)

from aggregator.config import load_config
from aggregator.edges.store import Store, open_store
from aggregator.models import FeedState, FetchResult, PassSummary, StoredArticle
from aggregator.run.passes import run_pass
from aggregator.run.pool import ParserPool, default_workers
from aggregator.steps.digest import Digest


def one_pass(ws: Workspace) -> tuple[PassSummary, list[StoredArticle], dict[str, FeedState]]:
    config = load_config(ws.config_path)

    async def go() -> tuple[PassSummary, list[StoredArticle], dict[str, FeedState]]:
        store = await open_store(config.storage.database)
        try:
            summary = await run_pass(config, store, [f for f in config.feeds if f.enabled])
            states = {s.name: s for s in await store.feed_states()}
            return summary, await store.newest(1000), states
        finally:
            await store.close()

    return asyncio.run(go())


def stories(items: list[tuple[str, str, str]]) -> bytes:
    """(guid, link, description) items, each titled after its guid."""
    return rss(*(rss_item(g, f"Story {g}", link, d) for g, link, d in items))


def test_fixture_feeds_then_a_pass_with_nothing_new(
    loopback: LoopbackServer, ws: Workspace, database: str
) -> None:
    ws.write_config(serve_fixture_feeds(loopback), storage={"database": database})
    summary, articles, _ = one_pass(ws)
    assert (summary.feeds_ok, summary.new, summary.feeds_failed) == (4, 8, 0)
    assert {a.title for a in articles} == {t for f in FIXTURE_FEEDS for t in f.titles}
    assert sorted(ws.posts()) == sorted(a.post_path for a in articles)
    assert ws.atom_path.read_text().count("<entry>") == 8

    stamps = ws.stamps()
    summary, articles, _ = one_pass(ws)
    assert (summary.feeds_not_modified, summary.new, summary.updated) == (4, 0, 0)
    assert ws.stamps() == stamps, "nothing rewritten"


def test_updates_replace_and_syndication_is_stored_once(
    loopback: LoopbackServer, ws: Workspace, database: str
) -> None:
    shared = "https://news.example/shared-story?utm_source=a"
    loopback.routes["/a.xml"] = FeedResource(stories([("a1", shared, "First version.")]))
    loopback.routes["/b.xml"] = FeedResource(
        stories(
            [
                ("b1", "https://www.news.example/shared-story", "Elsewhere."),
                ("b2", "https://b.example/2", "Own."),
            ]
        )
    )
    feeds = [{"name": n, "url": loopback.url(f"/{n.lower()}.xml")} for n in ("A", "B")]
    ws.write_config(feeds, storage={"database": database}, fetch={"concurrency": 1})
    summary, articles, _ = one_pass(ws)
    assert (summary.new, summary.duplicate) == (2, 1)

    loopback.routes["/a.xml"] = FeedResource(stories([("a1", shared, "Second version.")]))
    summary, articles, _ = one_pass(ws)
    assert (summary.new, summary.updated) == (0, 1)
    by_feed = {a.feed_name: a for a in articles}
    assert len(articles) == 2 and "Second version." in by_feed["A"].content
    post = ws.posts()[by_feed["A"].post_path].decode()
    assert "Second version." in post and "First version." not in post


def test_filters_backlog_and_full_text(
    loopback: LoopbackServer, ws: Workspace, database: str
) -> None:
    page = b"<html><body><nav>Menu</nav><article><p>" + b"The whole article text. " * 40
    page += b"</p></article></body></html>"
    loopback.routes["/page.html"] = lambda r: Reply(200, page, {"Content-Type": "text/html"})
    items = [(f"g{i}", f"https://x.example/{i}", f"Summary {i}.") for i in range(10)]
    items[0] = ("g0", loopback.url("/page.html"), "Summary 0.")
    items[1] = ("g1", "https://x.example/1", "Sponsored content.")
    loopback.routes["/f.xml"] = FeedResource(stories(items))
    ws.write_config(
        [
            {
                "name": "F",
                "url": loopback.url("/f.xml"),
                "exclude": ["content:^Sponsored"],
                "backlog": 3,
                "full_text": True,
            }
        ],
        storage={"database": database},
    )
    summary, articles, states = one_pass(ws)
    assert summary.filtered == 1 and states["F"].filtered == 1
    assert len(articles) == 3, "the backlog of a first fetch"
    crawled = [a for a in articles if a.link == loopback.url("/page.html")]
    assert crawled and "The whole article text." in crawled[0].content
    assert "Menu" not in crawled[0].content

    summary, articles, _ = one_pass(ws)
    assert summary.new == 0 and len(articles) == 3, "entries beyond the backlog stay seen"
    assert len(loopback.requests_for("/page.html")) == 1, "one page request per article"


def podcast(episodes: int, show: str) -> bytes:
    """A podcast feed whose episodes all link to the show's page (and so does its channel)."""
    notes = "Notes of episode {}: guests and topics."
    items = [rss_item(f"ep-{i}", f"Episode {i}", show, notes.format(i)) for i in range(episodes)]
    return rss(*items, title="The Show", link=show)


def test_episodes_linking_to_the_shows_page_are_never_merged_away(
    loopback: LoopbackServer, ws: Workspace, database: str
) -> None:
    """30 episodes on the show's page and one item of another feed linking there: 31 posts,
    whichever feed is stored first, the two feeds processed at once."""
    show = "https://show.example/the-show/"
    loopback.routes["/pod.xml"] = FeedResource(podcast(30, show))
    loopback.routes["/news.xml"] = FeedResource(
        stories([("n1", show, "The show is back for a new season, with new guests.")])
    )
    feeds = [{"name": n, "url": loopback.url(f"/{n}.xml")} for n in ("pod", "news")]
    ws.write_config(feeds, storage={"database": database}, fetch={"concurrency": 2})
    summary, _, _ = one_pass(ws)
    assert (summary.new, summary.duplicate) == (31, 0)
    assert len(ws.posts()) == 31

    summary, _, _ = one_pass(ws)
    assert (summary.new, summary.updated, summary.feeds_not_modified) == (0, 0, 2)


def test_full_text_pages_past_the_cap_come_on_later_passes(
    loopback: LoopbackServer, ws: Workspace, database: str
) -> None:
    """181 new articles: 100 pages on the first pass (the cap), the other 81 queued and fetched
    on the next pass although the feed answers 304 then."""
    count = 181
    for i in range(count):
        page = f"<html><body><article><p>{f'Full text of story {i}. ' * 40}</p></article>"
        body = page.encode() + b"</body></html>"
        loopback.routes[f"/p/{i}.html"] = lambda r, body=body: Reply(
            200, body, {"Content-Type": "text/html"}
        )
    items = [(f"g{i}", loopback.url(f"/p/{i}.html"), f"Summary {i}.") for i in range(count)]
    loopback.routes["/f.xml"] = FeedResource(stories(items))
    ws.write_config(
        [{"name": "F", "url": loopback.url("/f.xml"), "full_text": True}],
        storage={"database": database},
    )

    def full(articles: list[StoredArticle]) -> int:
        return sum("Full text of story" in a.content for a in articles)

    summary, articles, states = one_pass(ws)
    assert (summary.new, full(articles), states["F"].pages_waiting) == (count, 100, 81)

    loopback.clear_log()
    summary, articles, states = one_pass(ws)
    assert summary.feeds_not_modified == 1
    assert (full(articles), states["F"].pages_waiting) == (count, 0)
    pages = [r.path for r in loopback.requests if r.path.startswith("/p/")]
    assert len(pages) == 81, "only the pages still waiting"
    posts = ws.posts()
    assert all(b"Full text of story" in posts[a.post_path] for a in articles)

    loopback.clear_log()
    summary, _, _ = one_pass(ws)
    assert not [r for r in loopback.requests if r.path.startswith("/p/")]


def test_a_changed_document_normalizes_only_its_new_and_edited_entries(
    loopback: LoopbackServer, ws: Workspace, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store keeps what each document was read into; the next one's entries that come
    again unchanged are not normalized again (the worker is told them), and count as
    unchanged. Rules changed since: everything is read afresh."""
    first = stories([(f"g{i}", f"https://x.example/{i}", f"Story {i}.") for i in range(3)])
    loopback.routes["/f.xml"] = FeedResource(first)
    ws.write_config([{"name": "F", "url": loopback.url("/f.xml")}], storage={"database": database})
    told: list[dict[str, str]] = []
    submit = ParserPool.run

    async def spy(pool: ParserPool, result: FetchResult, *args: Any) -> Digest:
        told.append(dict(args[-1].known))
        return await submit(pool, result, *args)

    monkeypatch.setattr(ParserPool, "run", spy)
    summary, _, states = one_pass(ws)
    assert (summary.new, told) == (3, [{}])
    first_read = stored_read_entries(database, states["F"].id)
    assert sorted(first_read.values()) == ["guid:g0", "guid:g1", "guid:g2"]

    second = stories(
        [
            ("g0", "https://x.example/0", "Story 0."),
            ("g1", "https://x.example/1", "Story 1, corrected."),
            ("g3", "https://x.example/3", "Story 3."),
        ]
    )
    loopback.routes["/f.xml"] = FeedResource(second)
    summary, articles, states = one_pass(ws)
    assert told[1] == first_read
    assert (summary.new, summary.updated, summary.unchanged) == (1, 1, 1)
    assert {a.title: a.content for a in articles}["Story g1"] == "Story 1, corrected."
    second_read = stored_read_entries(database, states["F"].id)
    assert sorted(second_read.values()) == ["guid:g0", "guid:g1", "guid:g3"]
    assert set(second_read) & set(first_read) == {
        d for d, key in first_read.items() if key == "guid:g0"
    }

    ws.write_config(
        [{"name": "F", "url": loopback.url("/f.xml"), "exclude": ["title:nothing"]}],
        storage={"database": database},
    )
    summary, _, _ = one_pass(ws)
    assert told[2] == {}, "new rules: the document is read afresh"
    assert (summary.new, summary.updated, summary.unchanged) == (0, 0, 3)


def stored_read_entries(database: str, feed_id: int) -> dict[str, str]:
    async def go() -> dict[str, str]:
        store = await open_store(database)
        try:
            return await store.read_entries(feed_id)
        finally:
            await store.close()

    return asyncio.run(go())


def test_parsed_documents_wait_for_the_store_a_few_at_a_time(
    loopback: LoopbackServer, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When storing is the slower step, documents are not parsed ahead of it by the fetch
    concurrency (each parsed document held in memory until stored): at most 2 x workers + 2
    are between the parser and the store. The store is held until every feed is fetched."""
    feeds = 20
    for n in range(feeds):
        items = [(f"{n}-{i}", f"https://x.example/{n}/{i}", f"Story {n}-{i}.") for i in range(3)]
        loopback.routes[f"/{n}.xml"] = FeedResource(stories(items))
    ws.write_config(
        [{"name": f"f{n}", "url": loopback.url(f"/{n}.xml")} for n in range(feeds)],
        fetch={"concurrency": 32},
    )
    parsing, stored, most = 0, 0, 0
    submit, save = ParserPool.run, Store.save

    async def parse(pool: ParserPool, *args: Any) -> Digest:
        nonlocal parsing, most
        parsing += 1
        most = max(most, parsing - stored)
        return await submit(pool, *args)

    def fetched() -> int:
        return sum(len(loopback.requests_for(f"/{n}.xml")) for n in range(feeds))

    async def slow_save(store: Store, *args: Any) -> Any:
        nonlocal stored
        deadline = time.monotonic() + 10
        while fetched() < feeds:  # the store is held until every document is fetched
            assert time.monotonic() < deadline, "the feeds were not all fetched"
            await asyncio.sleep(0.01)
        decisions = await save(store, *args)
        stored += 1
        return decisions

    monkeypatch.setattr(ParserPool, "run", parse)
    monkeypatch.setattr(Store, "save", slow_save)
    summary, _, _ = one_pass(ws)
    assert (summary.feeds_ok, summary.new) == (feeds, 3 * feeds)
    assert parsing == feeds
    assert 1 < most <= 2 * default_workers() + 2
