"""Sources without a feed end to end (issue 19): list pages and JSON APIs served on 127.0.0.1,
read by the real CLI (``fetch``, ``run``, ``preview``) or by ``run_pass`` on both storage
backends. What holds for feeds holds for them: conditional GET and the body hash, filters,
dedupe, full text with robots.txt, the crawl guard, posts and Atom, the daemon's schedule."""

from __future__ import annotations

import asyncio
import html
import json
import os
import pty
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest
from server import (
    CLI_TIMEOUT,
    FeedResource,
    LoopbackServer,
    Reply,
    Request,
    Workspace,
    running_server,
    status,
)

from aggregator.config import load_config
from aggregator.edges.store import open_store
from aggregator.models import PassSummary, StoredArticle
from aggregator.run.passes import run_pass

pytestmark = pytest.mark.slow

SOURCES = Path(__file__).parent / "fixtures" / "sources"
SHANGHAI = ZoneInfo("Asia/Shanghai")
HTML = "text/html; charset=utf-8"
ZAKER_SELECT = {
    "script": "window.WinPageData",
    "items": "data.article",
    "title": "title",
    "link": "url",
    "summary": "desc",
    "author": "author_name",
    "date": "date",
    "date_format": "%m月%d日",
    "timezone": "Asia/Shanghai",
    "image": "thumbnail_mpic",
    "tags": "tag[*].tag",
}
LIST_SELECT: dict[str, object] = {
    "items": "div.article-item",
    "title": "h2 a",
    "link": "h2 a@href",
    "date": "time@datetime",
    "summary": "p.desc",
    "id": "@data-id",
    "next_page": "a.next@href",
}


# -- pages --------------------------------------------------------------------------------


def list_page(
    items: Sequence[tuple[str, str]], next_href: str | None = None, item_class: str = "article-item"
) -> bytes:
    """A server-rendered list: (id, link) items titled "Story <id>", dated 2024-01-<n>."""
    blocks = "".join(
        f'<div class="{item_class}" data-id="{i}"><h2><a href="{html.escape(link)}">Story {i}</a>'
        f'</h2><time datetime="2024-01-{n + 1:02d}T08:00:00Z">{n + 1} Jan</time>'
        f'<p class="desc">The teaser of story {i}.</p></div>'
        for n, (i, link) in enumerate(items)
    )
    pager = f'<a class="next" href="{next_href}">Older</a>' if next_href else ""
    return (
        f"<!DOCTYPE html><html><head><title>List</title></head><body><nav><a href='/'>Home</a>"
        f"</nav><main>{blocks}</main><div class='pager'>{pager}</div></body></html>"
    ).encode()


def page(body: bytes, content_type: str = HTML, validators: bool = True) -> FeedResource:
    return FeedResource(body, content_type, validators=validators)


def zaker_items() -> list[dict[str, Any]]:
    """The fixture's window.WinPageData items, read here with json, not with aggregator."""
    text = (SOURCES / "zaker-channel.html").read_text(encoding="utf-8")
    found = re.search(r"window\.WinPageData = (\{.*?\});</script>", text)
    assert found
    items: list[dict[str, Any]] = json.loads(found.group(1))["data"]["article"]
    return items


def yearless(month: int, day: int, now: datetime) -> datetime:
    """`MM月DD日` in Shanghai: the latest year that does not put it (a day's slack) ahead."""
    for year in range(now.year, now.year - 2, -1):
        dated = datetime(year, month, day, tzinfo=SHANGHAI)
        if dated <= now + timedelta(days=1):
            return dated
    raise AssertionError("unreachable")


def source_feed(name: str, url: str, select: Mapping[str, object] | None, **keys: object) -> dict:
    table: dict[str, object] = {"name": name, "url": url, "source": "html", **keys}
    if select is not None:
        table["select"] = dict(select)
    return table


def fetch_json(ws: Workspace, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    run = ws.fetch("--json", *args)
    assert run.stdout, run.stderr
    return run, json.loads(run.stdout)


def atom_entries(ws: Workspace) -> list[Any]:
    return list(feedparser.parse(ws.atom_path.read_bytes()).entries)


def published(entry: Any) -> datetime:
    return datetime(*entry.published_parsed[:6], tzinfo=UTC)


def front_matter(post: bytes) -> str:
    return post.decode().split("---")[1]


# -- the ZAKER channel page ---------------------------------------------------------------


def test_zaker_channel_page_data_becomes_posts_with_the_configs_categories(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    loopback.routes["/channel/13"] = page((SOURCES / "zaker-channel.html").read_bytes())
    categories = ["新媒体", "ZAKER", "科技"]
    ws.write_config(
        [
            source_feed(
                "ZAKER 科技", loopback.url("/channel/13"), ZAKER_SELECT, categories=categories
            )
        ]
    )
    before = datetime.now(UTC)
    run, report = fetch_json(ws, "--log-level", "info")
    assert run.returncode == 0, run.stderr
    expected = [i for i in zaker_items() if i["title"]]  # the advert slot has no title, no link
    (feed,) = report["feeds"]
    assert (feed["status"], feed["new"], feed["skipped_items"]) == ("ok", len(expected), 1)
    assert "source feed='ZAKER 科技': 1 item without a title or a link skipped" in run.stderr

    # The page's protocol-relative links take the page's scheme; `MM月DD日` is read in
    # Shanghai, in the latest year that is not ahead of the fetch.
    entries = {e.link: e for e in atom_entries(ws)}
    assert set(entries) == {"http:" + i["url"] for i in expected}
    for item in expected:
        entry = entries["http:" + item["url"]]
        assert entry.title == item["title"]
        month, day = map(int, re.findall(r"\d+", item["date"]))
        assert published(entry) == yearless(month, day, before)
        assert [t.term for t in entry.tags] == categories
    posts = ws.posts()
    assert len(posts) == len(expected)
    for post in posts.values():
        matter = front_matter(post)
        assert "categories: \n - 新媒体\n - ZAKER\n - 科技\n" in matter
        assert "\nauthor: ZAKER 科技\n" in matter  # the seed's format: the feed's author
    thumbnails = [re.search(r"thumbnail: '(.*)'", front_matter(p)) for p in posts.values()]
    assert "http://zkres3.myzaker.com/202105/60ad9a2b8e9f0946a4212d3e_320.jpg" in {
        t.group(1) for t in thumbnails if t
    }
    (request,) = loopback.requests_for("/channel/13")
    assert (request.header("Accept") or "").startswith("text/html")


def test_an_unchanged_page_answers_304_and_nothing_is_written(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    resource = page((SOURCES / "zaker-channel.html").read_bytes())
    loopback.routes["/channel/13"] = resource
    ws.write_config([source_feed("ZAKER", loopback.url("/channel/13"), ZAKER_SELECT)])
    assert ws.fetch().returncode == 0
    stamps = ws.stamps()
    run, report = fetch_json(ws)
    assert run.returncode == 0, run.stderr
    assert report["summary"]["feeds_not_modified"] == 1 and report["summary"]["new"] == 0
    second = loopback.requests_for("/channel/13")[-1]
    assert second.header("If-None-Match") == resource.etag
    assert ws.stamps() == stamps


def test_without_validators_the_body_hash_tells_an_unchanged_page(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    body = list_page([("a", "/a/1"), ("b", "/a/2")])
    loopback.routes["/news/"] = page(body, validators=False)
    ws.write_config([source_feed("Press", loopback.url("/news/"), LIST_SELECT)])
    assert ws.fetch().returncode == 0
    stamps = ws.stamps()
    run, report = fetch_json(ws)
    assert report["summary"]["feeds_not_modified"] == 1, run.stderr
    assert ws.stamps() == stamps

    # A changed selector reads the same bytes afresh, as changed filter rules do.
    ws.write_config([source_feed("Press", loopback.url("/news/"), {**LIST_SELECT, "title": "h2"})])
    run, report = fetch_json(ws)
    assert report["feeds"][0]["status"] == "ok", run.stderr


# -- pagination ---------------------------------------------------------------------------


def test_next_page_is_followed_up_to_pages(loopback: LoopbackServer, ws: Workspace) -> None:
    for n in range(1, 5):
        path = "/news/" if n == 1 else f"/news/?page={n}"
        items = [(f"p{n}-{i}", f"/story/{n}/{i}") for i in range(3)]
        loopback.routes[path] = page(list_page(items, f"?page={n + 1}"))
    ws.write_config([source_feed("Press", loopback.url("/news/"), {**LIST_SELECT, "pages": 3})])
    run, report = fetch_json(ws)
    assert run.returncode == 0, run.stderr
    assert report["summary"]["new"] == 9
    assert {e.title for e in atom_entries(ws)} == {
        f"Story p{n}-{i}" for n in (1, 2, 3) for i in range(3)
    }
    assert [len(loopback.requests_for(p)) for p in ("/news/?page=2", "/news/?page=3")] == [1, 1]
    assert loopback.requests_for("/news/?page=4") == [], "pages = 3"
    # The next pages are fetched afresh: only the first page's validators are kept.
    assert loopback.requests_for("/news/?page=2")[0].header("If-None-Match") is None

    # Page 1 unchanged (304): the pass stops there, pages 2 and 3 are not asked for.
    loopback.clear_log()
    run, report = fetch_json(ws)
    assert report["summary"]["feeds_not_modified"] == 1, run.stderr
    assert [r.path for r in loopback.requests] == ["/news/"]


def test_a_loop_of_next_links_stops(loopback: LoopbackServer, ws: Workspace) -> None:
    loopback.routes["/news/"] = page(list_page([("a", "/s/a")], "?page=2"))
    loopback.routes["/news/?page=2"] = page(list_page([("b", "/s/b")], "/news/?page=3"))
    loopback.routes["/news/?page=3"] = page(list_page([("c", "/s/c")], "/news/?page=2"))
    ws.write_config([source_feed("Loop", loopback.url("/news/"), {**LIST_SELECT, "pages": 10})])
    run, report = fetch_json(ws, "--log-level", "info")
    assert run.returncode == 0, run.stderr
    assert report["summary"]["new"] == 3
    assert [
        len(loopback.requests_for(p)) for p in ("/news/", "/news/?page=2", "/news/?page=3")
    ] == [
        1,
        1,
        1,
    ]
    assert "read already" in run.stderr


def test_a_later_page_that_fails_keeps_the_pages_read(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    loopback.routes["/news/"] = page(list_page([("a", "/s/a"), ("b", "/s/b")], "?page=2"))
    loopback.routes["/news/?page=2"] = status(404)
    ws.write_config([source_feed("Press", loopback.url("/news/"), {**LIST_SELECT, "pages": 2})])
    run, report = fetch_json(ws)
    assert run.returncode == 0, run.stderr
    assert (report["feeds"][0]["status"], report["summary"]["new"]) == ("ok", 2)
    assert "source feed='Press': page 2:" in run.stderr and "404" in run.stderr


def test_a_next_page_on_another_server_goes_through_the_address_guard(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    with running_server() as other:
        other.routes["/page2"] = page(list_page([("x", "/s/x")]))
        loopback.routes["/news/"] = page(list_page([("a", "/s/a")], other.url("/page2")))
        select = {**LIST_SELECT, "pages": 2}
        ws.write_config(
            [source_feed("Press", loopback.url("/news/"), select)], fetch={"allow_private": False}
        )
        run, report = fetch_json(ws)
        assert run.returncode == 0, run.stderr
        assert report["summary"]["new"] == 1, "the configured server is trusted"
        assert other.requests == [], "another server on a private address is refused"
        assert "refused" in run.stderr and "page 2" in run.stderr


# -- other kinds of source ----------------------------------------------------------------


def test_a_nextjs_page(loopback: LoopbackServer, ws: Workspace) -> None:
    body = (SOURCES / "nextjs-blog.html").read_bytes()
    loopback.routes["/blog"] = page(body)
    select = {
        "script": "script#__NEXT_DATA__",
        "items": "props.pageProps.posts",
        "title": "title",
        "link": "url",
        "date": "date",
        "summary": "excerpt",
        "author": "author.name",
    }
    ws.write_config([source_feed("Eng", loopback.url("/blog"), select)])
    run = ws.fetch()
    assert run.returncode == 0, run.stderr
    data = re.search(rb'<script id="__NEXT_DATA__"[^>]*>(.*?)</script>', body)
    assert data
    posts = json.loads(data.group(1))["props"]["pageProps"]["posts"]
    entries = {e.title: e for e in atom_entries(ws)}
    assert set(entries) == {p["title"] for p in posts}
    first = entries["Shipping a design system in 6 weeks"]
    assert first.link == loopback.url("/blog/design-system")
    assert published(first) == datetime(2024, 1, 3, 10, tzinfo=UTC)
    assert "why tokens came first" in first.content[0].value


def test_a_wordpress_rest_api(loopback: LoopbackServer, ws: Workspace) -> None:
    body = (SOURCES / "wp-posts.json").read_bytes()
    loopback.routes["/wp-json/wp/v2/posts"] = page(body, "application/json; charset=UTF-8")
    select = {
        "items": "[*]",
        "title": "title.rendered",
        "link": "link",
        "date": "date_gmt",
        "summary": "excerpt.rendered",
        "id": "id",
    }
    feed = {"name": "WP", "url": loopback.url("/wp-json/wp/v2/posts"), "source": "json"}
    ws.write_config([feed | {"select": select}])
    run = ws.fetch()
    assert run.returncode == 0, run.stderr
    expected = {html.unescape(p["title"]["rendered"]): p for p in json.loads(body)}
    entries = {e.title: e for e in atom_entries(ws)}
    assert set(entries) == set(expected)
    for title, entry in entries.items():
        assert entry.link == expected[title]["link"]
        gmt = datetime.fromisoformat(expected[title]["date_gmt"]).replace(tzinfo=UTC)
        assert published(entry) == gmt
    (request,) = loopback.requests_for("/wp-json/wp/v2/posts")
    assert (request.header("Accept") or "").startswith("application/json")


# -- filters, dedupe, full text -----------------------------------------------------------


def rss(items: Sequence[tuple[str, str, str]]) -> bytes:
    """(guid, title, link) items."""
    body = "".join(
        f"<item><guid>{g}</guid><title>{html.escape(t)}</title><link>{html.escape(link)}</link>"
        f"<description>{html.escape(t)}, told by a feed.</description></item>"
        for g, t, link in items
    )
    channel = f"<channel><title>F</title>{body}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def test_filters_and_dedupe_apply_to_page_items(loopback: LoopbackServer, ws: Workspace) -> None:
    shared = "https://news.example/2024/shared-story"
    items = [("a", shared), ("b", "https://news.example/2024/b"), ("ad", "https://ads.example/")]
    loopback.routes["/news/"] = page(list_page(items))
    loopback.routes["/feed.xml"] = FeedResource(rss([("g1", "Story a", shared + "?utm_source=x")]))
    ws.write_config(
        [
            {"name": "Feed", "url": loopback.url("/feed.xml")},
            source_feed("Page", loopback.url("/news/"), LIST_SELECT, exclude=["link:ads\\."]),
        ],
        fetch={"concurrency": 1},  # the feed first: the page's copy is the duplicate
    )
    run, report = fetch_json(ws)
    assert run.returncode == 0, run.stderr
    by_name = {f["name"]: f for f in report["feeds"]}
    assert (by_name["Page"]["new"], by_name["Page"]["duplicate"], by_name["Page"]["filtered"]) == (
        1,
        1,
        1,
    )
    assert len(ws.posts()) == 2


ARTICLE = "<html><body><nav>Menu</nav><article><p>{}</p></article></body></html>"


def test_full_text_fetches_each_new_items_page_honouring_robots_txt(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    for n in (1, 2):
        text = f"The whole text of article {n}. " * 30
        loopback.routes[f"/articles/{n}.html"] = page(ARTICLE.format(text).encode())
    loopback.routes["/robots.txt"] = lambda r: Reply(
        200, b"User-agent: *\nDisallow: /articles/2.html\n", {"Content-Type": "text/plain"}
    )
    items = [("one", "/articles/1.html"), ("two", "/articles/2.html")]
    loopback.routes["/news/"] = page(list_page(items))
    ws.write_config([source_feed("Press", loopback.url("/news/"), LIST_SELECT, full_text=True)])
    run = ws.fetch()
    assert run.returncode == 0, run.stderr
    contents = {e.title: e.content[0].value for e in atom_entries(ws)}
    assert "The whole text of article 1." in contents["Story one"]
    assert "Menu" not in contents["Story one"]
    assert contents["Story two"].strip() == "The teaser of story two.", "robots.txt"
    assert loopback.requests_for("/articles/2.html") == []
    assert "disallowed by robots.txt" in run.stderr


# -- bad input ----------------------------------------------------------------------------


def test_a_page_that_changes_its_markup_fails_loudly_keeping_what_was_stored(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    loopback.routes["/news/"] = page(list_page([("a", "/s/a"), ("b", "/s/b")]))
    ws.write_config([source_feed("Press", loopback.url("/news/"), LIST_SELECT)])
    assert ws.fetch().returncode == 0
    stamps = ws.stamps()
    loopback.routes["/news/"] = page(list_page([("c", "/s/c")], item_class="card"))
    run, report = fetch_json(ws)
    assert run.returncode == 1, run.stderr
    assert report["feeds"][0]["status"] == "failed"
    assert re.search(
        r"^failed: Press: .*0 items for `items` \(div\.article-item\)$", run.stderr, re.M
    )
    assert ws.stamps() == stamps, "what was stored stays"
    # The failure is not remembered as read: once the markup is back, the page is read.
    loopback.routes["/news/"] = page(list_page([("a", "/s/a"), ("b", "/s/b"), ("d", "/s/d")]))
    run, report = fetch_json(ws)
    assert (run.returncode, report["summary"]["new"]) == (0, 1), run.stderr


def huge_page(size: int) -> Callable[[Request], Reply]:
    """A page streamed without Content-Length, so that only the running count can stop it."""

    def write(handler: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        handler.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
        )
        chunk = b"<div class='article-item'><h2><a href='/x'>x</a></h2></div>" * 1000
        sent = 0
        try:
            while sent < size and not stopping.is_set():
                handler.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the client hung up at max_bytes

    def handle(request: Request) -> Reply:
        return Reply(raw=write)

    return handle


def test_a_50_mb_page_is_refused_by_max_bytes(loopback: LoopbackServer, ws: Workspace) -> None:
    loopback.routes["/news/"] = huge_page(50 * 1024 * 1024)
    ws.write_config([source_feed("Huge", loopback.url("/news/"), LIST_SELECT)])
    run, report = fetch_json(ws)
    assert run.returncode == 1, run.stderr
    assert "exceeds max_bytes (16777216)" in report["feeds"][0]["error"]
    assert ws.posts() == {}


def test_hostile_pages_fail_or_are_read_without_running_anything(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    unclosed = b'<script>window.WinPageData = {"data": {"article": [' + b'{"title": "t",' * 5000
    trailing = list_page([("a", "javascript:alert(1)"), ("b", "/s/b")]).replace(
        b"</body>",
        b'<div class="article-item"><h2><a href="javascript:void(0)"></a></h2></div>'
        b"<script>var never = '" + b"x" * 100_000,
    )
    nested = b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    loopback.routes["/unclosed"] = page(unclosed)
    loopback.routes["/trailing"] = page(trailing)
    loopback.routes["/nested"] = page(nested, "application/json")
    ws.write_config(
        [
            source_feed("Unclosed", loopback.url("/unclosed"), ZAKER_SELECT),
            source_feed("Trailing", loopback.url("/trailing"), LIST_SELECT),
            {
                "name": "Nested",
                "url": loopback.url("/nested"),
                "source": "json",
                "select": {"items": "items", "title": "title"},
            },
        ]
    )
    run, report = fetch_json(ws)
    assert run.returncode == 1, run.stderr  # failures, no internal error (exit 3)
    by_name = {f["name"]: f for f in report["feeds"]}
    assert by_name["Unclosed"]["status"] == "failed"
    assert "window.WinPageData" in by_name["Unclosed"]["error"]
    assert by_name["Nested"]["status"] == "failed"
    assert "nested deeper than 256 levels" in by_name["Nested"]["error"]
    # The items before a script that never closes are read; a javascript: link is no link,
    # and an item with neither title nor link is skipped and counted.
    trail = by_name["Trailing"]
    assert (trail["status"], trail["new"], trail["skipped_items"]) == ("ok", 2, 1)
    assert not any(b"javascript:" in p for p in ws.posts().values())
    assert "Traceback" not in run.stderr


# -- dates resolved against the fetch time, on both backends ------------------------------


def one_pass(ws: Workspace, now: datetime) -> tuple[PassSummary, list[StoredArticle]]:
    config = load_config(ws.config_path)

    async def go() -> tuple[PassSummary, list[StoredArticle]]:
        store = await open_store(config.storage.database)
        try:
            summary = await run_pass(config, store, config.feeds, clock=lambda: now)
            return summary, await store.newest(1000)
        finally:
            await store.close()

    return asyncio.run(go())


def relative_page(ages: Sequence[tuple[str, str]]) -> bytes:
    """(id, the date as the page shows it) items."""
    rows = "".join(
        f'<li><a class="title" href="/s/{i}">Story {i}</a><span class="time">{age}</span></li>'
        for i, age in ages
    )
    return f"<html><body><ul class='news'>{rows}</ul></body></html>".encode()


def test_relative_chinese_dates_resolve_against_the_fetch_time(
    loopback: LoopbackServer, ws: Workspace, database: str
) -> None:
    select = {
        "items": "ul.news li",
        "title": "a.title",
        "link": "a.title@href",
        "date": "span.time",
    }
    ws.write_config(
        [source_feed("CN", loopback.url("/cn/"), select | {"timezone": "Asia/Shanghai"})],
        storage={"database": database},
    )
    first = datetime(2024, 1, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    ages = [
        ("a", "刚刚"),
        ("b", "5分钟前"),
        ("c", "3小时前"),
        ("d", "昨天 10:20"),
        ("e", "12月31日"),
    ]
    loopback.routes["/cn/"] = page(relative_page(ages), validators=False)
    summary, articles = one_pass(ws, first)
    assert summary.new == 5
    dates = {a.title: a.published for a in articles}
    assert dates == {
        "Story a": first,
        "Story b": first - timedelta(minutes=5),
        "Story c": first - timedelta(hours=3),
        "Story d": datetime(2024, 1, 1, 10, 20, tzinfo=SHANGHAI),
        "Story e": datetime(2023, 12, 31, tzinfo=SHANGHAI),
    }

    # Seven minutes later the page has one more story and every age has moved on: one new
    # article, and the aged ones are not "updated" to their new estimate.
    later = first + timedelta(minutes=7)
    aged = [("f", "刚刚"), ("a", "7分钟前"), ("b", "12分钟前"), ("c", "3小时前"), *ages[3:]]
    loopback.routes["/cn/"] = page(relative_page(aged), validators=False)
    summary, articles = one_pass(ws, later)
    assert (summary.new, summary.updated) == (1, 0)
    assert {a.title: a.published for a in articles}["Story f"] == later
    assert {a.title: a.published for a in articles}["Story b"] == first - timedelta(minutes=5)


# -- the daemon ---------------------------------------------------------------------------


def test_the_daemon_reads_a_source_on_its_schedule(
    loopback: LoopbackServer, ws: Workspace, tmp_path: Path
) -> None:
    from test_daemon import SCHEDULE, Daemon, post_files

    loopback.routes["/news/"] = page(list_page([("a", "/s/a"), ("b", "/s/b")]))
    ws.write_config(
        [source_feed("Press", loopback.url("/news/"), LIST_SELECT)],
        schedule=SCHEDULE,
        fetch={"retries": 0},
    )
    daemon = Daemon(ws, tmp_path / "daemon.log")
    try:
        daemon.wait_for(lambda: len(post_files(ws)) == 2, 30, "the page's two posts")
        loopback.routes["/news/"] = page(list_page([("c", "/s/c"), ("a", "/s/a"), ("b", "/s/b")]))
        daemon.wait_for(lambda: len(post_files(ws)) == 3, 30, "the new item's post")
        # Checked on schedule: later checks of the unchanged page answer 304.
        daemon.wait_for(
            lambda: any(r.header("If-None-Match") for r in loopback.requests_for("/news/")),
            30,
            "a conditional request",
        )
    finally:
        assert daemon.stop() == 0
    assert "Traceback" not in daemon.log()


# -- preview ------------------------------------------------------------------------------


def test_preview_of_a_configured_source_prints_its_entries_and_stores_nothing(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    loopback.routes["/channel/13"] = page((SOURCES / "zaker-channel.html").read_bytes())
    ws.write_config(
        [
            source_feed(
                "ZAKER 科技", loopback.url("/channel/13"), ZAKER_SELECT, exclude=["title:小米"]
            )
        ]
    )
    run = ws.run("preview", "ZAKER 科技")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "\x1b[" not in out, "plain text when stdout is not a terminal"
    lines = out.splitlines()
    assert lines[0] == "ZAKER 科技: 5 entries, 1 turned away by the include / exclude rules"
    assert "  1 item without a title or a link skipped" in lines
    expected = [i for i in zaker_items() if i["title"]]
    for n, item in enumerate(expected, 1):
        block = lines.index(next(line for line in lines if line.startswith(f"{n:>3}. ")))
        assert lines[block].startswith(f"{n:>3}. {item['title']}")
        assert lines[block + 1].strip() == "http:" + item["url"]
        month, day = map(int, re.findall(r"\d+", item["date"]))
        date = yearless(month, day, datetime.now(UTC)).isoformat(" ", "minutes")
        assert lines[block + 2].strip().startswith(f"{date} · {item['author_name']}")
        if item["desc"]:
            assert lines[block + 3].strip() == item["desc"]
    assert "(turned away by the rules)" in next(line for line in lines if "小米" in line)
    assert not ws.database.exists() and not ws.posts_dir.exists()


def test_preview_of_a_url_with_selectors_and_as_json(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    loopback.routes["/news/"] = page(list_page([("a", "/s/a"), ("b", "/s/b")], "?page=2"))
    loopback.routes["/news/?page=2"] = page(list_page([("c", "/s/c")]))
    ws.write_config([])
    options = [f"--select={k}={v}" for k, v in LIST_SELECT.items()] + ["--select=pages=2"]
    run = ws.run("preview", loopback.url("/news/"), "--source", "html", *options, "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["pages"] == [loopback.url("/news/"), loopback.url("/news/?page=2")]
    assert [e["title"] for e in report["entries"]] == ["Story a", "Story b", "Story c"]
    first = report["entries"][0]
    assert first["link"] == loopback.url("/s/a")
    assert first["date"] == "2024-01-01T08:00:00+00:00"
    assert first["summary"] == "The teaser of story a."
    assert (report["skipped_items"], report["warnings"], report["detected"]) == (0, [], None)

    # Without selectors an html page's items are found, and the preview says how.
    loopback.routes["/blog"] = page((SOURCES / "nextjs-blog.html").read_bytes())
    run = ws.run("preview", loopback.url("/blog"))
    assert run.returncode == 0, run.stderr
    assert "  found by autodetect in page state" in run.stdout.splitlines()
    assert "  1. Shipping a design system in 6 weeks" in run.stdout.splitlines()

    # A selector that matches nothing names itself; a bad option is a usage error.
    run = ws.run("preview", loopback.url("/news/"), "--select", "items=div.card")
    assert run.returncode == 1
    assert "0 items for `items` (div.card)" in run.stderr
    run = ws.run("preview", loopback.url("/news/"), "--select", "items=div.card", "--select", "x=1")
    assert run.returncode == 2 and "--select x: an unknown key" in run.stderr
    assert not ws.database.exists()


def test_preview_of_a_feed_and_usage_errors(loopback: LoopbackServer, ws: Workspace) -> None:
    loopback.routes["/feed.xml"] = FeedResource(rss([("g1", "Feed story", "https://f.example/1")]))
    ws.write_config([{"name": "Feed", "url": loopback.url("/feed.xml")}])
    run = ws.run("preview", "Feed", "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert (report["source"], report["pages"]) == ("feed", [loopback.url("/feed.xml")])
    assert [(e["title"], e["link"], e["date"]) for e in report["entries"]] == [
        ("Feed story", "https://f.example/1", None)
    ]
    for args, message in [
        (["Nothing"], "no feed named 'Nothing'"),
        ([loopback.url("/api"), "--source", "json"], "--source json needs --select"),
        (["Feed", "--select", "items=li"], "--select and --timezone are for --source html"),
        ([loopback.url("/x"), "--select", "items"], "expected KEY=VALUE"),
        (
            [loopback.url("/x"), "--select", "items=li", "--timezone", "Mars/Base"],
            "--select timezone",
        ),
    ]:
        run = ws.run("preview", *args)
        assert (run.returncode, message in run.stderr) == (2, True), (args, run.stderr)
    assert [r.path for r in loopback.requests] == ["/feed.xml"], "usage errors fetch nothing"
    assert not ws.database.exists()


def test_preview_on_a_terminal_is_coloured(loopback: LoopbackServer, ws: Workspace) -> None:
    loopback.routes["/news/"] = page(list_page([("a", "/s/a")]))
    ws.write_config([source_feed("Press", loopback.url("/news/"), LIST_SELECT)])
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "--config", str(ws.config_path), "preview", "Press"],
        stdout=child,
        stderr=subprocess.PIPE,
        env=env | {"TERM": "xterm-256color", "COLUMNS": "100"},
    )
    os.close(child)
    output = b""
    try:
        while chunk := _read(main):
            output += chunk
    finally:
        os.close(main)
        assert proc.wait(timeout=CLI_TIMEOUT) == 0, proc.stderr.read() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    text = output.decode()
    assert "\x1b[" in text, "rich's styles on a terminal"
    assert "Story a" in re.sub(r"\x1b\[[0-9;]*m", "", text)


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the child closed the terminal
        return b""
