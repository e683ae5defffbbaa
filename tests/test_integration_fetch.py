"""``aggregator fetch`` end to end: the real CLI in a subprocess against a real HTTP server on
127.0.0.1 (tests/server.py). Each test owns its server, data folder and config."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
from downstream.jsonfeed11 import json_feed_problems
from feeds import rss, rss_item
from posts import read_post
from server import (
    FEEDS_DIR,
    FIXTURE_FEEDS,
    FeedResource,
    LoopbackServer,
    Workspace,
    in_turn,
    redirect,
    running_server,
    serve_fixture_feeds,
    status,
)

from aggregator.config import FeedConfig, FetchConfig
from aggregator.edges.fetch import Fetcher

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures"
FRONT_MATTER_KEYS = ["title", "categories", "headimg", "author", "comments", "date", "thumbnail"]
ATOM = "{http://www.w3.org/2005/Atom}"
RSS_BODY = (FEEDS_DIR / "rss2.xml").read_bytes()


# -- helpers ------------------------------------------------------------------------------


def story(guid: str, link: str, title: str, html: str) -> str:
    """An item of the inline feeds, all published at one time."""
    return rss_item(guid, title, link, html, published="Mon, 01 Jul 2024 08:00:00 GMT")


GOOD_ITEMS = (
    story("good-1", "https://good.example.org/1", "Good news one", "<p>One.</p>"),
    story("good-2", "https://good.example.org/2", "Good news two", "<p>Two.</p>"),
)


def good_feed(server: LoopbackServer, path: str = "/good.xml") -> dict[str, object]:
    server.routes[path] = FeedResource(rss(*GOOD_ITEMS))
    return {"name": "Good", "url": server.url(path), "categories": ["good"]}


def summary_line(stderr: str) -> str:
    """The closing summary: the last ``feeds: ...`` line on stderr."""
    lines = [line for line in stderr.splitlines() if line.startswith("feeds: ")]
    assert lines, stderr
    return lines[-1]


def article_count(ws: Workspace, feed: str | None = None) -> int:
    if feed is None:
        return int(ws.query("SELECT count(*) FROM articles")[0][0])
    sql = "SELECT count(*) FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE f.name = ?"
    return int(ws.query(sql, (feed,))[0][0])


def feed_row(ws: Workspace, name: str) -> dict[str, object]:
    cols = ["url", "config_url", "etag", "last_status", "last_http_status", "error_count"]
    [row] = ws.query(f"SELECT {', '.join(cols)} FROM feeds WHERE name = ?", (name,))
    return dict(zip(cols, row, strict=True))


def posts_containing(ws: Workspace, text: str) -> list[str]:
    return [name for name, data in ws.posts().items() if text in data.decode("utf-8")]


def assert_ok(run: subprocess.CompletedProcess[str]) -> None:
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr, run.stderr


# -- formats ------------------------------------------------------------------------------


def test_every_feed_format_becomes_posts_and_rows(loopback: LoopbackServer, ws: Workspace) -> None:
    ws.write_config(serve_fixture_feeds(loopback))

    run = ws.fetch()

    assert_ok(run)
    assert summary_line(run.stderr).startswith("feeds: 4 ok, 0 failed, 0 not modified; ")
    assert "articles: 8 new, 0 updated, 0 duplicate" in run.stderr
    posts = ws.posts()
    assert len(posts) == sum(len(f.titles) for f in FIXTURE_FEEDS)
    by_title: dict[object, dict[str, object]] = {}
    for name, data in posts.items():
        assert re.fullmatch(r"\d{4}-\d\d-\d\d-[a-z0-9-]+-[0-9a-f]{8}\.md", name), name
        values, body = read_post(data)
        assert list(values) == FRONT_MATTER_KEYS, name
        assert values["comments"] is False
        assert values["headimg"] == values["thumbnail"]
        assert str(values["headimg"]).startswith("https://")
        date = str(values["date"])
        assert date.endswith(" GMT")
        assert parsedate_to_datetime(date).tzinfo is not None
        assert body.startswith("\n<div>   \n") and body.endswith("  \n</div>\n" + " " * 12)
        by_title[values["title"]] = values
    for feed in FIXTURE_FEEDS:
        for title in feed.titles:
            assert title in by_title, (title, sorted(map(str, by_title)))
            assert by_title[title]["author"] == feed.name
            assert by_title[title]["categories"] == list(feed.categories)
        assert article_count(ws, feed.name) == len(feed.titles)
        assert feed_row(ws, feed.name)["last_status"] == "ok"
    # The gzip-encoded feed was asked for with gzip accepted, and decoded.
    [rss_request] = loopback.requests_for("/rss2.xml")
    assert "gzip" in (rss_request.header("Accept-Encoding") or "")
    # An entry's own image wins over the placeholder.
    assert by_title["JSON note two"]["headimg"] == "https://json.example.org/img/two.png"


def test_zaker_over_http_is_byte_identical_to_the_seed(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    loopback.routes["/zaker/channel/10386"] = FeedResource(
        (FIXTURES / "zaker-channel.xml").read_bytes()
    )
    ws.write_config(
        [
            {
                "name": "ZAKER",
                "url": loopback.url("/zaker/channel/10386"),
                "categories": ["新媒体", "ZAKER", "source"],
            }
        ],
        output={"placeholder_image": "https://picsum.photos/400/300?random=5863"},
    )

    assert_ok(ws.fetch())

    [post] = ws.posts().values()
    assert post == (FIXTURES / "seed-post.md").read_bytes()


# -- identity -----------------------------------------------------------------------------


def test_syndicated_duplicate_is_stored_once(loopback: LoopbackServer, ws: Workspace) -> None:
    shared_html = "<p>A story both agencies carry.</p>"
    loopback.routes["/a.xml"] = FeedResource(
        rss(
            story("a-1", "https://news.example.org/story?id=7", "Shared story", shared_html),
            story("a-2", "https://news.example.org/only-a", "Only in A", "<p>A alone.</p>"),
        )
    )
    # Same article, another guid; the link differs only in what canonical URLs ignore.
    loopback.routes["/b.xml"] = FeedResource(
        rss(
            story(
                "b-99",
                "http://www.news.example.org/story?id=7&utm_source=rss#top",
                "Shared story",
                shared_html,
            ),
            story("b-2", "https://news.example.org/only-b", "Only in B", "<p>B alone.</p>"),
        )
    )
    ws.write_config(
        [
            {"name": "Agency A", "url": loopback.url("/a.xml")},
            {"name": "Agency B", "url": loopback.url("/b.xml")},
        ]
    )

    run = ws.fetch()

    assert_ok(run)
    assert "articles: 3 new, 0 updated, 1 duplicate" in summary_line(run.stderr)
    assert article_count(ws) == 3
    assert len(posts_containing(ws, "Shared story")) == 1
    assert len(ws.posts()) == 3
    # Both feeds' entries point at the one stored article.
    [(keys, articles)] = ws.query(
        "SELECT count(*), count(DISTINCT e.article_id) FROM entries e"
        " JOIN articles a ON a.id = e.article_id WHERE a.title = 'Shared story'"
    )
    assert (keys, articles) == (2, 1)


def test_changed_entry_rewrites_its_post_in_place(loopback: LoopbackServer, ws: Workspace) -> None:
    item = ("story-1", "https://upd.example.org/1", "A developing story", "<p>First draft.</p>")
    other = story("story-2", "https://upd.example.org/2", "A quiet story", "<p>Unchanged.</p>")
    feed = FeedResource(rss(story(*item), other))
    loopback.routes["/upd.xml"] = feed
    ws.write_config([{"name": "Updates", "url": loopback.url("/upd.xml")}])
    assert_ok(ws.fetch())
    [name] = posts_containing(ws, "First draft.")
    before = ws.posts()
    quiet_stamp = ws.stamps()[next(n for n in before if n != name)]

    feed.body = rss(story(*item[:3], "<p>Second draft, with corrections.</p>"), other)
    run = ws.fetch()

    assert_ok(run)
    assert "articles: 0 new, 1 updated, 0 duplicate" in summary_line(run.stderr)
    after = ws.posts()
    assert sorted(after) == sorted(before)
    assert "Second draft, with corrections." in after[name].decode("utf-8")
    assert "First draft." not in after[name].decode("utf-8")
    assert article_count(ws) == 2
    assert ws.stamps()[next(n for n in before if n != name)] == quiet_stamp
    assert "Second draft, with corrections." in ws.atom_path.read_text(encoding="utf-8")


# -- conditional GET and no-op passes -----------------------------------------------------


def test_304_writes_nothing(loopback: LoopbackServer, ws: Workspace) -> None:
    ws.write_config([good_feed(loopback)])
    assert_ok(ws.fetch())
    etag = feed_row(ws, "Good")["etag"]
    stamps = ws.stamps()
    loopback.clear_log()

    run = ws.fetch()

    assert_ok(run)
    [request] = loopback.requests_for("/good.xml")
    assert request.header("If-None-Match") == etag
    assert request.header("If-Modified-Since") is not None
    assert ws.stamps() == stamps
    assert summary_line(run.stderr).startswith("feeds: 0 ok, 0 failed, 1 not modified; ")
    assert "articles: 0 new, 0 updated, 0 duplicate" in run.stderr
    assert feed_row(ws, "Good")["last_http_status"] == 304


def test_rerun_without_validators_writes_nothing(loopback: LoopbackServer, ws: Workspace) -> None:
    loopback.routes["/plain.xml"] = FeedResource(rss(*GOOD_ITEMS), validators=False)
    ws.write_config([{"name": "Plain", "url": loopback.url("/plain.xml")}])
    assert_ok(ws.fetch())
    stamps = ws.stamps()
    loopback.clear_log()

    run = ws.fetch()

    assert_ok(run)
    [request] = loopback.requests_for("/plain.xml")
    assert request.header("If-None-Match") is None
    assert ws.stamps() == stamps
    assert "1 not modified" in summary_line(run.stderr)


def test_missing_post_file_is_recreated(loopback: LoopbackServer, ws: Workspace) -> None:
    ws.write_config([good_feed(loopback)])
    assert_ok(ws.fetch())
    posts = ws.posts()
    victim = sorted(posts)[0]
    (ws.posts_dir / victim).unlink()
    survivors = {n: s for n, s in ws.stamps().items() if n != victim}

    assert_ok(ws.fetch())

    assert ws.posts() == posts
    assert {n: s for n, s in ws.stamps().items() if n != victim} == survivors


# -- redirects ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [301, 308])
def test_permanent_redirect_moves_the_feed_url(
    loopback: LoopbackServer, ws: Workspace, code: int
) -> None:
    loopback.routes["/old.xml"] = redirect(loopback.url("/new.xml"), code)
    loopback.routes["/new.xml"] = FeedResource(rss(*GOOD_ITEMS))
    ws.write_config([{"name": "Moved", "url": loopback.url("/old.xml")}])

    assert_ok(ws.fetch())

    assert article_count(ws, "Moved") == 2
    row = feed_row(ws, "Moved")
    assert row["url"] == loopback.url("/new.xml")
    assert row["config_url"] == loopback.url("/old.xml")
    # The next pass goes straight to the new address.
    loopback.clear_log()
    assert_ok(ws.fetch())
    assert [r.path for r in loopback.requests] == ["/new.xml"]


@pytest.mark.parametrize("code", [302, 307])
def test_temporary_redirect_keeps_the_feed_url(
    loopback: LoopbackServer, ws: Workspace, code: int
) -> None:
    loopback.routes["/old.xml"] = redirect("/new.xml", code)  # a relative Location, too
    loopback.routes["/new.xml"] = FeedResource(rss(*GOOD_ITEMS))
    ws.write_config([{"name": "Visiting", "url": loopback.url("/old.xml")}])

    assert_ok(ws.fetch())

    assert article_count(ws, "Visiting") == 2
    assert feed_row(ws, "Visiting")["url"] == loopback.url("/old.xml")


# -- throttling and failures --------------------------------------------------------------


def test_short_retry_after_is_waited_out(loopback: LoopbackServer, ws: Workspace) -> None:
    loopback.routes["/busy.xml"] = in_turn(
        status(429, retry_after="1"), FeedResource(rss(*GOOD_ITEMS))
    )
    loopback.routes["/down.xml"] = in_turn(
        status(503, retry_after="1"),
        FeedResource(rss(story("d-1", "https://down.example.org/1", "Back up", "<p>Up.</p>"))),
    )
    ws.write_config(
        [
            {"name": "Busy", "url": loopback.url("/busy.xml")},
            {"name": "Down", "url": loopback.url("/down.xml")},
        ]
    )

    run = ws.fetch()

    assert_ok(run)
    assert summary_line(run.stderr).startswith("feeds: 2 ok, 0 failed, 0 not modified; ")
    for path in ("/busy.xml", "/down.xml"):
        first, second = loopback.requests_for(path)
        assert second.at - first.at >= 0.9  # Retry-After: 1 was honoured
    assert article_count(ws, "Busy") == 2
    assert article_count(ws, "Down") == 1


def test_long_retry_after_defers_the_feed(loopback: LoopbackServer, ws: Workspace) -> None:
    loopback.routes["/busy.xml"] = status(429, retry_after="3600")
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    loopback.routes["/down.xml"] = status(503, retry_after=format_datetime(tomorrow, usegmt=True))
    ws.write_config(
        [
            good_feed(loopback),
            {"name": "Busy", "url": loopback.url("/busy.xml")},
            {"name": "Down", "url": loopback.url("/down.xml")},
        ]
    )
    started = datetime.now(UTC)

    run = ws.fetch()

    assert_ok(run)
    assert "failed:" not in run.stderr
    assert summary_line(run.stderr).startswith("feeds: 1 ok, 0 failed, 0 not modified, 2 deferred;")
    assert len(loopback.requests_for("/busy.xml")) == 1  # not retried within the run
    assert len(loopback.requests_for("/down.xml")) == 1
    for name, wait in (("Busy", timedelta(hours=1)), ("Down", timedelta(days=1))):
        assert feed_row(ws, name)["last_status"] == "deferred"
        assert feed_row(ws, name)["error_count"] == 0
        [(next_check,)] = ws.query("SELECT next_check_at FROM feeds WHERE name = ?", (name,))
        delay = datetime.fromisoformat(next_check) - started
        assert wait - timedelta(minutes=1) <= delay <= wait + timedelta(minutes=1)
    assert article_count(ws, "Good") == 2


def test_failing_feeds_are_named_and_the_good_feed_is_stored(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    loopback.routes["/500.xml"] = status(500)
    loopback.routes["/404.xml"] = status(404)
    loopback.routes["/410.xml"] = status(410)
    ws.write_config(
        [
            good_feed(loopback),
            {"name": "Broken", "url": loopback.url("/500.xml")},
            {"name": "Missing", "url": loopback.url("/404.xml")},
            {"name": "Gone", "url": loopback.url("/410.xml")},
        ]
    )

    run = ws.fetch()

    assert run.returncode == 1, run.stderr
    assert f"failed: Broken: {loopback.url('/500.xml')}: HTTP 500" in run.stderr
    assert f"failed: Missing: {loopback.url('/404.xml')}: HTTP 404 Not Found" in run.stderr
    assert f"failed: Gone: {loopback.url('/410.xml')}: HTTP 410 Gone" in run.stderr
    assert summary_line(run.stderr).startswith("feeds: 1 ok, 3 failed, 0 not modified; ")
    assert len(loopback.requests_for("/500.xml")) == 2  # a 5xx is retried ([fetch] retries = 1)
    assert len(loopback.requests_for("/404.xml")) == 1  # a 4xx is not
    assert len(loopback.requests_for("/410.xml")) == 1
    assert article_count(ws, "Good") == 2
    assert len(posts_containing(ws, "Good news")) == 2
    for name in ("Broken", "Missing", "Gone"):
        assert feed_row(ws, name)["last_status"] == "failed"
        assert feed_row(ws, name)["error_count"] == 1


def test_malformed_document_fails_only_its_feed(loopback: LoopbackServer, ws: Workspace) -> None:
    loopback.routes["/bad.xml"] = FeedResource(
        (FEEDS_DIR / "malformed.xml").read_bytes(), "text/html; charset=utf-8"
    )
    loopback.routes["/noise.xml"] = FeedResource(b"\x00\x01\x02 {{{ <<< garbage", "text/xml")
    ws.write_config(
        [
            good_feed(loopback),
            {"name": "Bad", "url": loopback.url("/bad.xml")},
            {"name": "Noise", "url": loopback.url("/noise.xml")},
        ]
    )

    run = ws.fetch()

    assert run.returncode == 1, run.stderr
    bad = loopback.url("/bad.xml")
    assert f"failed: Bad: {bad}: an HTML page that declares no feed" in run.stderr
    assert f"failed: Noise: {loopback.url('/noise.xml')}: " in run.stderr
    assert summary_line(run.stderr).startswith("feeds: 1 ok, 2 failed, 0 not modified; ")
    assert article_count(ws) == 2
    assert len(ws.posts()) == 2


# -- config errors ------------------------------------------------------------------------


def _unknown_key(ws: Workspace) -> str:
    ws.write_config([], fetch={"retires": 1})
    return "fetch.retires"


def _wrong_type(ws: Workspace) -> str:
    ws.write_config([], fetch={"retries": "many"})
    return "fetch.retries"


def _duplicate_names(ws: Workspace) -> str:
    ws.write_config(
        [
            {"name": "Twin", "url": "http://127.0.0.1:9/a.xml"},
            {"name": "Twin", "url": "http://127.0.0.1:9/b.xml"},
        ]
    )
    return 'feeds[1] "Twin".name'


def _duplicate_urls(ws: Workspace) -> str:
    ws.write_config(
        [
            {"name": "One", "url": "http://127.0.0.1:9/same.xml"},
            {"name": "Two", "url": "http://127.0.0.1:9/same.xml"},
        ]
    )
    return 'feeds[1] "Two".url'


def _unknown_feed_key(ws: Workspace) -> str:
    ws.write_config([{"name": "One", "url": "http://127.0.0.1:9/a.xml", "colour": "red"}])
    return 'feeds[0] "One".colour'


@pytest.mark.parametrize(
    "break_config",
    [_unknown_key, _wrong_type, _duplicate_names, _duplicate_urls, _unknown_feed_key],
    ids=lambda f: f.__name__.strip("_"),
)
def test_config_error_exits_2_naming_file_and_key(ws: Workspace, break_config: object) -> None:
    assert callable(break_config)
    key = break_config(ws)

    run = ws.fetch()

    assert run.returncode == 2, run.stderr
    [message] = run.stderr.strip().splitlines()
    assert message.startswith(f"aggregator: config error: {ws.config_path}: {key}: "), message
    assert not ws.database.exists()  # refused before touching anything


# -- other commands -----------------------------------------------------------------------


def _table(stdout: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in stdout.splitlines() if line.strip()]


def test_feeds_lists_name_url_status_and_count(loopback: LoopbackServer, ws: Workspace) -> None:
    loopback.routes["/500.xml"] = status(500)
    ws.write_config([good_feed(loopback), {"name": "Broken", "url": loopback.url("/500.xml")}])
    assert ws.fetch().returncode == 1

    run = ws.run("feeds")

    assert_ok(run)
    header, *rows = _table(run.stdout)
    assert header[:7] == [
        "NAME",
        "URL",
        "LAST FETCH",
        "STATUS",
        "ARTICLES",
        "DUPLICATES",
        "ERRORS",
    ]
    by_name = {row[0]: row for row in rows}
    assert set(by_name) == {"Good", "Broken"}
    assert by_name["Good"][1] == loopback.url("/good.xml")
    assert by_name["Good"][3:7] == ["ok", "2", "0", "0"]
    assert by_name["Broken"][1] == loopback.url("/500.xml")
    assert by_name["Broken"][3:7] == ["failed", "0", "0", "1"]


@pytest.mark.parametrize("config_first", [True, False], ids=["before", "after"])
def test_config_option_is_read_before_or_after_the_command(
    ws: Workspace, config_first: bool
) -> None:
    ws.write_config([{"name": "Listed", "url": "http://127.0.0.1:9/listed.xml"}])

    run = ws.run("feeds", config_first=config_first)

    assert_ok(run)
    assert "Listed" in run.stdout
    assert f"{ws.database}: no database yet" in run.stderr, "the config's database"


def test_atom_to_stdout_prints_the_atom_document(loopback: LoopbackServer, ws: Workspace) -> None:
    ws.write_config([good_feed(loopback)])
    assert_ok(ws.fetch())

    run = ws.run("atom", "-o", "-")

    assert_ok(run)
    root = ET.fromstring(run.stdout)
    assert root.tag == f"{ATOM}feed"
    titles = sorted(e.findtext(f"{ATOM}title") or "" for e in root.iter(f"{ATOM}entry"))
    assert titles == ["Good news one", "Good news two"]
    assert run.stdout == ws.atom_path.read_text(encoding="utf-8")


def test_conditional_gets_reuse_connections() -> None:
    """A 304 has no body; unless it is read, httpcore drops the connection after each one."""
    body = (FEEDS_DIR / "rss2.xml").read_bytes()
    feed = FeedConfig(name="x", url="x")

    async def fetch_many(url: str) -> list[int]:
        async with Fetcher(FetchConfig(concurrency=1, per_host=1), trusted=[url]) as fetcher:
            first = await fetcher.fetch_feed(url, feed)
            return [(await fetcher.fetch_feed(url, feed, first.etag)).status for _ in range(10)]

    with running_server() as server:
        server.routes["/feed.xml"] = FeedResource(body)
        statuses = asyncio.run(fetch_many(server.url("/feed.xml")))
        peers = {r.peer for r in server.requests}
    assert statuses == [304] * 10
    assert len(peers) == 1


def test_the_connection_pool_asks_each_connection_a_few_times_per_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpcore 1.0's pool asked every connection whether it was idle, for each idle one,
    before each request and after each response: with a full pool of 8, about 220 calls a
    request; edges/fetch/backend.LinearPool asks each a few times."""
    import httpcore

    calls = {"is_idle": 0, "has_expired": 0}

    def counting(name: str) -> Callable[[httpcore.AsyncHTTPConnection], bool]:
        method = getattr(httpcore.AsyncHTTPConnection, name)

        def counted(self: httpcore.AsyncHTTPConnection) -> bool:
            calls[name] += 1
            return bool(method(self))

        return counted

    for name in calls:
        monkeypatch.setattr(httpcore.AsyncHTTPConnection, name, counting(name))
    body = (FEEDS_DIR / "rss2.xml").read_bytes()
    feed = FeedConfig(name="x", url="x")
    pool, requests = 8, 64

    async def fetch_many(urls: list[str]) -> list[int]:
        config = FetchConfig(concurrency=pool, per_host=pool)
        async with Fetcher(config, trusted=urls) as fetcher:
            firsts = await asyncio.gather(*(fetcher.fetch_feed(u, feed) for u in urls))
            again = [(u, f.etag) for u, f in zip(urls, firsts, strict=True)] * (requests // pool)
            done = await asyncio.gather(*(fetcher.fetch_feed(u, feed, e) for u, e in again))
            return [r.status for r in done]

    with running_server() as server:
        for i in range(pool):
            server.routes[f"/feed{i}.xml"] = FeedResource(body)
        statuses = asyncio.run(fetch_many([server.url(f"/feed{i}.xml") for i in range(pool)]))
        peers = {r.peer for r in server.requests}
    assert statuses == [304] * requests
    assert len(peers) <= pool  # connections reused
    assert calls["is_idle"] <= 4 * pool * (requests + pool)  # measured 1,788; httpcore 15,752
    # One poll of a socket for each request given a connection; httpcore's pool polled every
    # idle connection before each request and after each response.
    assert calls["has_expired"] <= 5 * (requests + pool)  # measured 213; httpcore 2,436


def test_a_connection_the_server_closed_while_idle_is_not_given_a_request() -> None:
    """The pool asks a connection whether the server closed it only when it is about to be
    used (edges/fetch/backend.LinearPool): asked, it is replaced, not written to."""
    closed = threading.Event()
    accepted: list[int] = []

    def serve(listener: socket.socket) -> None:
        with listener:
            while len(accepted) < 2:
                conn, _ = listener.accept()
                accepted.append(1)
                with conn:
                    conn.recv(65536)
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(RSS_BODY), RSS_BODY)
                    )
                closed.set()  # no "Connection: close": the client keeps it in its pool

    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    thread = threading.Thread(target=serve, args=(listener,), daemon=True)
    thread.start()

    async def twice() -> list[int]:
        config = FetchConfig(retries=0)
        async with Fetcher(config, trusted=[url]) as fetcher:
            first = await fetcher.fetch_feed(url, FeedConfig(name="x", url=url))
            assert await asyncio.to_thread(closed.wait, 10), "the server closed the connection"
            second = await fetcher.fetch_feed(url, FeedConfig(name="x", url=url))
            return [first.status, second.status]

    assert asyncio.run(twice()) == [200, 200]
    thread.join(timeout=10)
    assert len(accepted) == 2


def test_check_validates_the_config_without_fetching(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.write_config([{"name": "A", "url": "http://127.0.0.1:9/never.xml"}])
    ok = ws.run("check")
    assert ok.returncode == 0, ok.stderr
    assert "(1 feed)" in ok.stderr
    assert not ws.database.exists()
    ws.config_path.write_text(ws.config_path.read_text() + "\nbogus = 1\n", encoding="utf-8")
    bad = ws.run("check")
    assert bad.returncode == 2
    assert "bogus" in bad.stderr and str(ws.config_path) in bad.stderr


def test_json_feed_carries_the_same_newest_articles_as_the_atom(tmp_path: Path) -> None:
    with running_server() as server:
        feeds = serve_fixture_feeds(server)
        ws = Workspace(tmp_path)
        json_path = tmp_path / "data" / "feed.json"
        ws.write_config(feeds, output={"json_feed_path": str(json_path), "atom_limit": 5})
        assert ws.fetch().returncode == 0
    text = json_path.read_text(encoding="utf-8")
    assert json_feed_problems(text) == []  # the JSON Feed 1.1 rules
    doc = json.loads(text)
    assert doc["title"]
    atom_ids = [
        e.findtext(f"{ATOM}id") for e in ET.parse(ws.atom_path).getroot().iter(f"{ATOM}entry")
    ]
    assert [item["id"] for item in doc["items"]] == atom_ids
    assert len(doc["items"]) == 5
    for item in doc["items"]:
        assert item["id"].startswith("urn:uuid:")
        assert item["content_html"] and item["title"]
        assert item["authors"][0]["name"]


def test_render_rebuilds_a_wiped_output_folder_without_fetching(tmp_path: Path) -> None:
    with running_server() as server:
        feeds = serve_fixture_feeds(server)
        ws = Workspace(tmp_path)
        ws.write_config(feeds)
        assert ws.fetch().returncode == 0
        before, atom = ws.posts(), ws.atom_path.read_bytes()
        requests = len(server.requests)
        for path in ws.posts_dir.iterdir():
            path.unlink()
        ws.atom_path.unlink()
        result = ws.run("render")
        assert result.returncode == 0, result.stderr
        assert len(server.requests) == requests  # nothing fetched
    assert ws.posts() == before
    assert ws.atom_path.read_bytes() == atom
    stamps = ws.stamps()
    assert ws.run("render").returncode == 0
    assert ws.stamps() == stamps  # the same bytes are not rewritten


HOOK = """
import json, os, sys, time
manifest = json.load(sys.stdin)
log = os.path.join(os.environ.get("HOOK_DIR", "."), "calls.jsonl")
with open(log, "a", encoding="utf-8") as f:
    f.write(json.dumps({"cwd": os.getcwd(), "manifest": manifest}) + "\\n")
print("hook saw", len(manifest["added"]), "added")
if "fail" in sys.argv:
    sys.exit(3)
if "hang" in sys.argv:
    time.sleep(60)
"""


def hook_calls(folder: Path) -> list[dict[str, object]]:
    path = folder / "calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    script = tmp_path / "hook.py"
    script.write_text(HOOK, encoding="utf-8")
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setenv("HOOK_DIR", str(site))
    return script, site


def test_on_change_gets_a_manifest_of_added_and_updated_posts(
    tmp_path: Path, hook: tuple[Path, Path]
) -> None:
    script, site = hook
    body = (FEEDS_DIR / "rss2.xml").read_bytes()
    with running_server() as server:
        resource = FeedResource(body, validators=False)
        server.routes["/feed.xml"] = resource
        ws = Workspace(tmp_path)
        ws.write_config(
            [{"name": "RSS", "url": server.url("/feed.xml")}],
            output={"on_change": [sys.executable, str(script)], "on_change_cwd": str(site)},
        )
        assert ws.fetch().returncode == 0
        [first] = hook_calls(site)
        assert ws.fetch().returncode == 0  # nothing changed: the hook does not run
        assert len(hook_calls(site)) == 1
        resource.body = body.replace(b"RSS first story", b"RSS first story, revised")
        assert ws.fetch().returncode == 0
    calls = hook_calls(site)
    assert len(calls) == 2
    manifest = first["manifest"]
    assert first["cwd"] == str(site)
    rows = dict(ws.query("SELECT id, post_path FROM articles"))
    assert {(p["id"], Path(p["path"]).name) for p in manifest["added"]} == set(rows.items())
    assert all(Path(p["path"]).parent == ws.posts_dir for p in manifest["added"])
    assert manifest["feeds_changed"] is True and manifest["removed"] == []
    second = calls[1]["manifest"]
    assert second["added"] == []
    assert len(second["updated"]) == 1 and second["updated"][0]["id"] in rows


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_a_failing_or_hanging_on_change_never_fails_the_pass(
    tmp_path: Path, hook: tuple[Path, Path], mode: str
) -> None:
    script, site = hook
    with running_server() as server:
        feeds = serve_fixture_feeds(server, FIXTURE_FEEDS[:1])
        ws = Workspace(tmp_path)
        ws.write_config(
            feeds,
            output={"on_change": [sys.executable, str(script), mode], "on_change_timeout": "1s"},
        )
        result = ws.run("--log-level", "info", "fetch", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert ws.posts()
    assert len(hook_calls(site)) == 1
    assert ("exited 3" if mode == "fail" else "timed out") in result.stderr


def test_fetch_and_feeds_print_json_on_stdout(tmp_path: Path) -> None:
    with running_server() as server:
        feeds = serve_fixture_feeds(server, FIXTURE_FEEDS[:2])
        server.routes["/broken.xml"] = status(500)
        feeds.append({"name": "Broken", "url": server.url("/broken.xml")})
        ws = Workspace(tmp_path)
        ws.write_config(feeds)
        fetched = ws.fetch("--json")
        listed = ws.run("feeds", "--json")
    assert fetched.returncode == 1
    report = json.loads(fetched.stdout)  # stdout is JSON alone; the summary is on stderr
    assert report["summary"]["feeds_ok"] == 2 and report["summary"]["feeds_failed"] == 1
    by_name = {f["name"]: f for f in report["feeds"]}
    assert set(by_name) == {"RSS Two", "Atom Feed", "Broken"}
    assert by_name["Broken"]["status"] == "failed" and "500" in by_name["Broken"]["error"]
    assert by_name["RSS Two"]["new"] == 2 and by_name["RSS Two"]["error"] is None
    assert report["summary"]["new"] == sum(f["new"] for f in report["feeds"])
    states = {f["name"]: f for f in json.loads(listed.stdout)}
    assert listed.returncode == 0
    assert states["RSS Two"]["articles"] == 2 and states["RSS Two"]["last_status"] == "ok"
    assert states["Broken"]["errors"] == 1 and states["Broken"]["last_status"] == "failed"
    assert all(datetime.fromisoformat(f["next_check"]) for f in states.values())
