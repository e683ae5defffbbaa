"""Feed discovery: the pure page readers on small HTML fixtures, and ``discover`` against a
real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json

import pytest
from server import FEEDS_DIR, FeedResource, LoopbackServer, Reply, Workspace, redirect

from aggregator.config import FeedConfig, FetchConfig
from aggregator.edges.fetch import Fetcher
from aggregator.errors import DiscoveryError, FetchError
from aggregator.run.discover import Discovered, discover, suggested_name
from aggregator.steps.extract.page import decode_html
from aggregator.steps.feedlinks import (
    COMMON_PATHS,
    MAX_CANDIDATES,
    anchor_feed_links,
    candidate_urls,
    feed_links,
    looks_like_html,
)

PAGE = "https://blog.example/posts/hello.html"
RSS = (FEEDS_DIR / "rss2.xml").read_bytes()
ATOM = (FEEDS_DIR / "atom.xml").read_bytes()
JSON_FEED = (FEEDS_DIR / "jsonfeed.json").read_bytes()


def head(*links: str, body: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{''.join(links)}</head><body>{body}</body></html>"


# -- feed_links ----------------------------------------------------------------------------


def test_alternate_links_of_every_feed_type_in_document_order() -> None:
    html = head(
        '<link rel="alternate" type="application/atom+xml" href="/atom.xml">',
        '<link rel="alternate" type="application/rss+xml" href="rss.xml">',
        '<link rel="alternate" type="application/feed+json" href="https://cdn.example/f.json">',
        '<link rel="alternate" type="application/rdf+xml" href="/index.rdf">',
        '<link rel="alternate" type="application/x.atom+xml" href="/old-atom">',
    )
    assert feed_links(html, PAGE) == [
        "https://blog.example/atom.xml",
        "https://blog.example/posts/rss.xml",
        "https://cdn.example/f.json",
        "https://blog.example/index.rdf",
        "https://blog.example/old-atom",
    ]


def test_rel_and_type_are_case_insensitive_tokens_with_parameters() -> None:
    html = head(
        '<link rel="Alternate Feed" type="Application/RSS+XML; charset=utf-8" href="/a">',
        '<link rel="feed" href="/b">',  # HTML5 rel=feed needs no type
        '<link rel=" home alternate " type="application/atom+xml" href="/c">',
    )
    assert feed_links(html, PAGE) == [
        "https://blog.example/a",
        "https://blog.example/b",
        "https://blog.example/c",
    ]


def test_links_that_are_not_feeds_are_ignored() -> None:
    html = head(
        '<link rel="alternate" type="text/html" hreflang="de" href="/de/">',
        '<link rel="alternate stylesheet" type="text/css" href="/dark.css">',
        '<link rel="stylesheet" type="application/rss+xml" href="/not-alternate">',
        '<link rel="alternate" href="/no-type">',
        '<link rel="icon" type="image/png" href="/icon.png">',
        '<link rel="alternate" type="application/json" href="/api.json">',
    )
    # Plain JSON counts with rel=alternate: candidates are parsed before they are trusted.
    assert feed_links(html, PAGE) == ["https://blog.example/api.json"]


def test_repeats_fragments_and_non_http_urls_are_dropped() -> None:
    html = head(
        '<link rel="alternate" type="application/rss+xml" href="/feed.xml#top">',
        '<link rel="alternate" type="application/rss+xml" href="https://blog.example/feed.xml">',
        '<link rel="feed" href="javascript:alert(1)">',
        '<link rel="feed" href="file:///etc/passwd">',
        '<link rel="feed" href="http://[::1/broken">',
        '<link rel="feed" href="http://blog.example:99999/x">',
        '<link rel="feed" href="  ">',
        '<link rel="feed">',
    )
    assert feed_links(html, PAGE) == ["https://blog.example/feed.xml"]


def test_base_href_resolves_relative_links() -> None:
    html = head(
        '<base href="/blog/">',
        '<link rel="alternate" type="application/rss+xml" href="feed.xml">',
    )
    assert feed_links(html, PAGE) == ["https://blog.example/blog/feed.xml"]


def test_a_page_without_a_head_still_yields_its_links() -> None:
    html = "<link rel=alternate type=application/rss+xml href=/rss><p>hi"
    assert feed_links(html, PAGE) == ["https://blog.example/rss"]


def test_anchor_links_are_feed_like_paths_on_the_same_host() -> None:
    body = (
        '<a href="/feed/">Feed</a><a href="/about">About</a>'
        '<a href="https://other.example/rss.xml">elsewhere</a>'
        '<a href="/posts/atom.xml">Atom</a><a href="/podcast.rss">Podcast</a>'
    )
    assert anchor_feed_links(head(body=body), PAGE) == [
        "https://blog.example/feed/",
        "https://blog.example/posts/atom.xml",
        "https://blog.example/podcast.rss",
    ]


# -- candidate_urls ------------------------------------------------------------------------


def test_candidates_are_links_then_anchors_then_common_paths_without_the_page() -> None:
    html = head(
        '<link rel="alternate" type="application/rss+xml" href="/posts/hello.html">',
        '<link rel="alternate" type="application/rss+xml" href="/feed.xml">',
        body='<a href="/rss">RSS</a>',
    )
    candidates = candidate_urls(html, PAGE)
    assert candidates[:2] == ["https://blog.example/feed.xml", "https://blog.example/rss"]
    assert PAGE not in candidates
    assert len(candidates) == len(set(candidates)) <= MAX_CANDIDATES
    assert "https://blog.example/?feed=rss2" in candidates


def test_candidates_are_capped() -> None:
    links = [
        f'<link rel="alternate" type="application/rss+xml" href="/f{i}.xml">' for i in range(30)
    ]
    candidates = candidate_urls(head(*links), PAGE)
    assert candidates == [f"https://blog.example/f{i}.xml" for i in range(MAX_CANDIDATES)]


def test_common_paths_are_on_the_origin_of_the_page() -> None:
    candidates = candidate_urls(head(), "http://127.0.0.1:8080/a/b/")
    assert candidates == [f"http://127.0.0.1:8080{p}" for p in COMMON_PATHS]


def test_a_local_page_gets_no_common_paths() -> None:
    assert candidate_urls(head(), "file:///srv/site/index.html") == []


# -- looks_like_html, decode_html, suggested_name ------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<rss/>", "text/html; charset=utf-8", True),
        (b"", "application/xhtml+xml", True),
        (b"\xef\xbb\xbf  <!-- hi -->\n<!doctype HTML><p>", "", True),
        (b"<html lang=en>", "application/octet-stream", True),
        (b"<head><title>x</title>", "text/plain", True),
        (b'<?xml version="1.0"?><rss version="2.0"/>', "", False),
        (b"<html>", "application/rss+xml", False),
        (b"{}", "application/json", False),
        (b"\x89PNG\r\n", "image/png", False),
    ],
)
def test_looks_like_html(body: bytes, content_type: str, expected: bool) -> None:
    assert looks_like_html(body, content_type) is expected


def test_decode_html_prefers_the_header_then_meta_then_utf8() -> None:
    latin = "<meta charset='iso-8859-1'><title>Café</title>".encode("latin-1")
    assert "Café" in decode_html(latin, "text/html")
    assert "Café" in decode_html(latin, "text/html; charset=bogus-charset")
    cp1252 = "<title>Café</title>".encode("cp1252")
    assert "Café" in decode_html(cp1252, "text/html; charset=cp1252")
    assert "Caf\ufffd" in decode_html(cp1252, "text/html")


def test_suggested_name_is_the_title_on_one_line_else_the_host() -> None:
    assert suggested_name(Discovered("https://a.example/f", " My\nBlog\u200b ")) == "My Blog"
    assert suggested_name(Discovered("https://a.example/f", "")) == "a.example"


# -- discover, over HTTP -------------------------------------------------------------------


def run_discover(url: str, *, allow_private: bool = True) -> Discovered:
    async def run() -> Discovered:
        config = FetchConfig(retries=0, timeout=10, allow_private=allow_private)
        async with Fetcher(config, trusted=[url]) as fetcher:  # the URL the user typed
            return await discover(fetcher, url)

    return asyncio.run(run())


def html_page(text: str) -> FeedResource:
    return FeedResource(text.encode(), "text/html; charset=utf-8", validators=False)


def paths(server: LoopbackServer) -> list[str]:
    return [r.path for r in server.requests]


def test_a_feed_url_is_its_own_feed(loopback: LoopbackServer) -> None:
    loopback.routes["/feed.xml"] = FeedResource(RSS)
    found = run_discover(loopback.url("/feed.xml"))
    assert found == Discovered(loopback.url("/feed.xml"), "Loopback RSS")
    assert paths(loopback) == ["/feed.xml"]


def test_a_feed_served_as_text_html_is_still_a_feed(loopback: LoopbackServer) -> None:
    loopback.routes["/feed"] = FeedResource(ATOM, "text/html")
    assert run_discover(loopback.url("/feed")).title == "Loopback Atom"


def test_a_permanently_moved_feed_is_discovered_at_its_new_url(loopback: LoopbackServer) -> None:
    loopback.routes["/old"] = redirect(loopback.url("/new.json"), 301)
    loopback.routes["/new.json"] = FeedResource(JSON_FEED, "application/feed+json")
    assert run_discover(loopback.url("/old")) == Discovered(
        loopback.url("/new.json"), "Loopback JSON Feed"
    )


def test_a_page_leads_to_its_alternate_link(loopback: LoopbackServer) -> None:
    loopback.routes["/"] = html_page(
        head('<link rel="alternate" type="application/atom+xml" href="/blog/atom.xml">')
    )
    loopback.routes["/blog/atom.xml"] = FeedResource(ATOM, "application/atom+xml")
    found = run_discover(loopback.url("/"))
    assert found == Discovered(loopback.url("/blog/atom.xml"), "Loopback Atom")
    assert paths(loopback) == ["/", "/blog/atom.xml"]  # no guessing when the page says


def test_a_linked_candidate_that_is_not_a_feed_is_passed_over(loopback: LoopbackServer) -> None:
    loopback.routes["/"] = html_page(
        head(
            '<link rel="alternate" type="application/rss+xml" href="/broken">',
            '<link rel="alternate" type="application/rss+xml" href="/gone">',
            '<link rel="alternate" type="application/rss+xml" href="/good">',
        )
    )
    loopback.routes["/broken"] = html_page(head())  # an HTML page, not a feed
    loopback.routes["/good"] = FeedResource(RSS)
    assert run_discover(loopback.url("/")).url == loopback.url("/good")
    assert paths(loopback) == ["/", "/broken", "/gone", "/good"]


def test_a_page_without_links_finds_a_common_path(loopback: LoopbackServer) -> None:
    loopback.routes["/"] = html_page(head("<title>Home</title>", body="<p>No feed here.</p>"))
    loopback.routes["/feed.xml"] = FeedResource(RSS)
    found = run_discover(loopback.url("/"))
    assert found == Discovered(loopback.url("/feed.xml"), "Loopback RSS")
    assert paths(loopback) == ["/", "/feed", "/rss", "/feed.xml"]


def test_a_page_with_nothing_is_a_discovery_error_naming_what_was_tried(
    loopback: LoopbackServer,
) -> None:
    loopback.routes["/"] = html_page(head(body='<a href="/about">About</a>'))
    loopback.routes["/feed"] = html_page(head())  # WordPress-like path, but an HTML page
    with pytest.raises(DiscoveryError) as caught:
        run_discover(loopback.url("/"))
    message = str(caught.value)
    assert message.startswith(loopback.url("/"))
    assert loopback.url("/feed") in message and "not a feed" in message
    assert loopback.url("/index.xml") in message and "404" in message
    assert len(loopback.requests) == 1 + len(COMMON_PATHS)


def test_a_document_that_is_neither_feed_nor_page_is_a_discovery_error(
    loopback: LoopbackServer,
) -> None:
    loopback.routes["/data"] = FeedResource(b"\x89PNG\r\n\x1a\n", "image/png")
    with pytest.raises(DiscoveryError, match="neither a feed nor an HTML page"):
        run_discover(loopback.url("/data"))
    assert paths(loopback) == ["/data"]


def test_an_unreachable_url_is_a_fetch_error(loopback: LoopbackServer) -> None:
    with pytest.raises(FetchError, match="404"):
        run_discover(loopback.url("/missing"))


def test_a_link_to_another_host_on_this_machine_is_refused_unless_allowed(
    loopback: LoopbackServer,
) -> None:
    # The page is the user's choice; where it points is not. "localhost" is another host
    # name for the same loopback server.
    other_host = f"http://localhost:{loopback.port}/feed.rss"
    loopback.routes["/"] = html_page(
        head(f'<link rel="alternate" type="application/rss+xml" href="{other_host}">')
    )
    loopback.routes["/feed.rss"] = FeedResource(RSS)
    with pytest.raises(DiscoveryError, match="loopback address"):
        run_discover(loopback.url("/"), allow_private=False)
    assert "/feed.rss" not in paths(loopback)
    assert run_discover(loopback.url("/"), allow_private=True).url == other_host


def test_a_page_in_a_legacy_charset_is_read(loopback: LoopbackServer) -> None:
    page = head('<link rel="alternate" type="application/rss+xml" href="/f%C3%A9ed">')
    loopback.routes["/"] = lambda request: Reply(
        200, page.encode("latin-1"), {"Content-Type": "text/html; charset=iso-8859-1"}
    )
    loopback.routes["/f%C3%A9ed"] = FeedResource(RSS)
    assert run_discover(loopback.url("/")).url == loopback.url("/f%C3%A9ed")


def test_the_feeds_headers_go_only_to_the_host_the_user_named(loopback: LoopbackServer) -> None:
    other_host = f"http://localhost:{loopback.port}/other.rss"
    loopback.routes["/"] = html_page(
        head(
            f'<link rel="alternate" type="application/rss+xml" href="{other_host}">',
            '<link rel="alternate" type="application/rss+xml" href="/same.rss">',
        )
    )
    loopback.routes["/other.rss"] = lambda request: Reply(404)
    loopback.routes["/same.rss"] = FeedResource(RSS)
    feed = FeedConfig(name="F", url=loopback.url("/"), headers=(("X-Key", "secret"),))

    async def run() -> Discovered:
        async with Fetcher(FetchConfig(retries=0, allow_private=True)) as fetcher:
            return await discover(fetcher, loopback.url("/"), feed)

    assert asyncio.run(run()).url == loopback.url("/same.rss")
    keys = {r.path: r.header("X-Key") for r in loopback.requests}
    assert keys == {"/": "secret", "/other.rss": None, "/same.rss": "secret"}


# -- in the pipeline: a configured URL that is a web page -----------------------------------


def test_fetch_follows_a_configured_page_to_its_feed_and_remembers_it(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    page = b'<html><head><link rel="alternate" type="application/atom+xml" href="/atom.xml">'
    page += b"</head><body><p>A blog.</p></body></html>"
    loopback.routes["/blog/"] = lambda r: Reply(200, page, {"Content-Type": "text/html"})
    loopback.routes["/atom.xml"] = FeedResource(
        (FEEDS_DIR / "atom.xml").read_bytes(), "application/atom+xml"
    )
    ws.write_config([{"name": "Blog", "url": loopback.url("/blog/")}])
    result = ws.fetch()
    assert result.returncode == 0, result.stderr
    assert ws.query("SELECT count(*) FROM articles") == [(2,)]
    assert [r.path for r in loopback.requests] == ["/blog/", "/atom.xml"], "each fetched once"
    assert ws.query("SELECT url FROM feeds") == [(loopback.url("/atom.xml"),)]

    loopback.clear_log()
    assert ws.fetch().returncode == 0
    assert [r.path for r in loopback.requests] == ["/atom.xml"], "straight to the feed"


def test_a_configured_page_without_a_feed_fails_saying_it_declares_none(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    page = b"<html><body><p>No feed here.</p></body></html>"
    loopback.routes["/plain/"] = lambda r: Reply(200, page, {"Content-Type": "text/html"})
    ws.write_config([{"name": "Plain", "url": loopback.url("/plain/")}])
    result = ws.fetch()
    assert result.returncode == 1
    assert "Plain" in result.stderr and "declares no feed" in result.stderr
    assert "aggregator add" in result.stderr


def test_a_configured_page_is_never_swapped_for_a_guessed_feed(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    """An unrelated feed at a common path (/atom.xml) of the page's server is not the feed
    the user configured: only what the page declares is followed; guessing is `add`'s."""
    page = b'<html><body><a href="/atom.xml">an unrelated feed</a></body></html>'
    loopback.routes["/shop/"] = lambda r: Reply(200, page, {"Content-Type": "text/html"})
    loopback.routes["/atom.xml"] = FeedResource(
        (FEEDS_DIR / "atom.xml").read_bytes(), "application/atom+xml"
    )
    ws.write_config([{"name": "Shop", "url": loopback.url("/shop/")}])
    result = ws.fetch()
    assert result.returncode == 1, result.stderr
    assert "declares no feed" in result.stderr
    assert ws.query("SELECT count(*) FROM articles") == [(0,)]
    assert [r.path for r in loopback.requests] == ["/shop/"]
    assert ws.query("SELECT url FROM feeds") == [(loopback.url("/shop/"),)]


def test_a_followed_page_is_said_once_at_the_default_level_and_shown_in_feeds(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    page = b'<html><head><link rel="alternate" type="application/atom+xml" href="/atom.xml">'
    loopback.routes["/blog/"] = lambda r: Reply(200, page, {"Content-Type": "text/html"})
    loopback.routes["/atom.xml"] = FeedResource(
        (FEEDS_DIR / "atom.xml").read_bytes(), "application/atom+xml"
    )
    ws.write_config([{"name": "Blog", "url": loopback.url("/blog/")}])
    first = ws.fetch()
    assert first.returncode == 0, first.stderr
    said = [line for line in first.stderr.splitlines() if "is a web page" in line]
    assert len(said) == 1 and loopback.url("/atom.xml") in said[0]
    second = ws.fetch()
    assert "is a web page" not in second.stderr

    [listed] = json.loads(ws.run("feeds", "--json").stdout)
    assert listed["url"] == loopback.url("/atom.xml")
    assert (listed["config_url"], listed["url_via"]) == (loopback.url("/blog/"), "page")
    table = ws.run("feeds").stdout
    assert f"(from the page {loopback.url('/blog/')})" in table


def test_a_malformed_base_href_falls_back_to_the_page_url() -> None:
    page = '<base href="http://[x"><link rel="alternate" type="application/rss+xml" href="/f.xml">'
    assert feed_links(page, "https://blog.example/") == ["https://blog.example/f.xml"]
