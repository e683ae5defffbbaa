"""Crawling article pages safely: the address guard (a pure rule, then applied on real loopback
connections and redirect hops), robots.txt, and which feed settings reach a page's host."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from server import LoopbackServer, Reply, redirect, running_server, status

from aggregator.config import FeedConfig, FetchConfig
from aggregator.edges.fetch import guard
from aggregator.edges.fetch.client import Fetcher
from aggregator.edges.fetch.guard import first_refusal, own_headers, refusal, strip_foreign_headers
from aggregator.edges.fetch.robots import product_token, rules_from
from aggregator.errors import FetchError
from aggregator.models import FetchResult

# -- the rule, on resolved addresses -------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata services
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),  # a scoped address from getaddrinfo
        ("fec0::1", "site-local"),  # deprecated (RFC 3879), still routed on some networks
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "private"),  # documentation ranges count as private in ipaddress
        ("198.18.0.1", "private"),  # benchmarking
        ("100.64.0.1", "non-global"),  # carrier-grade NAT
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 around 169.254.169.254
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private"),  # Teredo (2001::/32)
        ("64:ff9b::a00:1", "reserved"),  # NAT64
    ],
)
def test_refused_addresses(address: str, reason: str) -> None:
    assert refusal(address) == reason


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700::6810:84e5", "2a00:1450::1"]
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal(address) is None


def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    message = first_refusal("mixed.example", ["93.184.216.34", "10.0.0.7"])
    assert message is not None
    assert "mixed.example" in message and "10.0.0.7" in message and "private" in message
    assert "allow_private" in message, "the error says how to allow it"
    assert first_refusal("public.example", ["93.184.216.34", "2606:4700::1"]) is None


# -- the guard on real connections -----------------------------------------------------------

PAGE = b"<html><body><article><p>Hello from the page.</p></article></body></html>"


def html(body: bytes = PAGE) -> Reply:
    return Reply(200, body, {"Content-Type": "text/html; charset=utf-8"})


def feed_on(server: LoopbackServer, **settings: object) -> FeedConfig:
    return FeedConfig(name="F", url=server.url("/feed.xml"), **settings)  # type: ignore[arg-type]


def fetch_page(config: FetchConfig, url: str, feed: FeedConfig) -> FetchResult:
    async def run() -> FetchResult:
        async with Fetcher(config) as fetcher:
            return await fetcher.fetch_page(url, feed)

    return asyncio.run(run())


def fetch_pages(config: FetchConfig, urls: list[str], feed: FeedConfig) -> list[object]:
    async def run() -> list[object]:
        async with Fetcher(config) as fetcher:
            return await asyncio.gather(
                *(fetcher.fetch_page(u, feed) for u in urls), return_exceptions=True
            )

    return asyncio.run(run())


def test_a_page_on_loopback_is_refused_before_connecting(loopback: LoopbackServer) -> None:
    loopback.routes["/page"] = lambda r: html()
    with pytest.raises(FetchError) as info:
        fetch_page(FetchConfig(retries=2), loopback.url("/page"), feed_on(loopback))
    assert "127.0.0.1" in str(info.value) and "loopback" in str(info.value)
    assert loopback.url("/page") in str(info.value), "the error names the page"
    assert loopback.requests == [], "not even robots.txt was asked for"


def test_allow_private_lets_pages_on_loopback_through(loopback: LoopbackServer) -> None:
    loopback.routes["/page"] = lambda r: html()
    result = fetch_page(FetchConfig(allow_private=True), loopback.url("/page"), feed_on(loopback))
    assert result.body == PAGE


@pytest.fixture
def second_loopback() -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.2 (another loopback address) that records the paths it serves."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.2:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_every_redirect_hop_is_checked(
    loopback: LoopbackServer,
    second_loopback: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first hop passes, the redirect's target does not. 127.0.0.1 stands for a public
    address here, 127.0.0.2 for a private one: the rule is swapped, the connections are real."""
    other, seen = second_loopback
    monkeypatch.setattr(guard, "refusal", lambda a: "private" if a == "127.0.0.2" else None)
    loopback.routes["/page"] = redirect(f"{other}/secret")
    with pytest.raises(FetchError) as info:
        fetch_page(FetchConfig(), loopback.url("/page"), feed_on(loopback))
    assert "127.0.0.2" in str(info.value) and "private" in str(info.value)
    assert [r.path for r in loopback.requests] == ["/robots.txt", "/page"]
    assert seen == [], "nothing reached the refused address"
    # The same redirect with the target allowed is followed: the refusal above was the guard.
    monkeypatch.setattr(guard, "refusal", lambda a: None)
    assert fetch_page(FetchConfig(), loopback.url("/page"), feed_on(loopback)).body == PAGE
    assert seen == ["/secret"]


def test_file_and_other_schemes_are_never_pages(loopback: LoopbackServer) -> None:
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "javascript:alert(1)"):
        with pytest.raises(FetchError, match="not an http"):
            fetch_page(FetchConfig(allow_private=True), url, feed_on(loopback))


# -- robots.txt ------------------------------------------------------------------------------


def test_robots_rules_match_our_product_token() -> None:
    rules = rules_from(
        b"User-agent: aggregator\nDisallow: /mine/\n\nUser-agent: *\nDisallow: /all/\n"
    )
    assert product_token("aggregator/1.2 (+https://x.example)") == "aggregator"
    assert not rules("https://a.example/mine/1", "aggregator/1.2 (+https://x.example)")
    assert rules("https://a.example/all/1", "aggregator/1.2"), "our group replaces the * one"
    assert not rules("https://a.example/all/1", "otherbot/3")
    assert rules("https://a.example/free", "otherbot/3")


def test_robots_txt_is_honoured_and_fetched_once_per_host(loopback: LoopbackServer) -> None:
    loopback.routes["/robots.txt"] = lambda r: Reply(
        200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}
    )
    for path in ("/public/1", "/public/2", "/private/1"):
        loopback.routes[path] = lambda r: html()
    config = FetchConfig(allow_private=True)
    urls = [loopback.url(p) for p in ("/public/1", "/public/2", "/private/1")]
    results = fetch_pages(config, urls, feed_on(loopback))
    assert [r.body for r in results[:2] if isinstance(r, FetchResult)] == [PAGE, PAGE]
    assert isinstance(results[2], FetchError) and "robots.txt" in str(results[2])
    assert len(loopback.requests_for("/robots.txt")) == 1, "cached per host"
    assert loopback.requests_for("/private/1") == []


def test_robots_txt_does_not_apply_to_feeds(loopback: LoopbackServer) -> None:
    loopback.routes["/robots.txt"] = lambda r: Reply(200, b"User-agent: *\nDisallow: /\n")
    loopback.routes["/feed.xml"] = lambda r: Reply(200, b"<rss/>", {"Content-Type": "text/xml"})

    async def run() -> FetchResult:
        async with Fetcher(FetchConfig(allow_private=True)) as fetcher:
            return await fetcher.fetch_feed(loopback.url("/feed.xml"), feed_on(loopback))

    assert asyncio.run(run()).body == b"<rss/>"
    assert loopback.requests_for("/robots.txt") == []


@pytest.mark.parametrize(("code", "allowed"), [(404, True), (403, True), (503, False)])
def test_missing_robots_allows_and_unreachable_robots_disallows(
    loopback: LoopbackServer, code: int, allowed: bool
) -> None:
    """RFC 9309: a 4xx means no rules; a server error means "crawl nothing" for now."""
    loopback.routes["/robots.txt"] = status(code)
    loopback.routes["/page"] = lambda r: html()
    results = fetch_pages(
        FetchConfig(allow_private=True), [loopback.url("/page")], feed_on(loopback)
    )
    assert isinstance(results[0], FetchResult) is allowed
    assert len(loopback.requests_for("/page")) == (1 if allowed else 0)


# -- feed settings on page requests ------------------------------------------------------------


def test_feed_headers_reach_its_own_host_only(loopback: LoopbackServer) -> None:
    """An access key for a feed proxy must not travel to the article sites it links to. Same
    server, two host names: 127.0.0.1 is the feed's host, localhost is "another site"."""
    loopback.routes["/page"] = lambda r: html()
    feed = feed_on(
        loopback, headers=(("X-Access-Key", "s3cret"),), user_agent="mine/2", timeout=5.0
    )
    config = FetchConfig(allow_private=True)
    fetch_page(config, loopback.url("/page"), feed)
    fetch_page(config, f"http://localhost:{loopback.port}/page", feed)
    same, other = loopback.requests_for("/page")
    assert same.header("X-Access-Key") == "s3cret"
    assert other.header("X-Access-Key") is None
    assert same.header("User-Agent") == other.header("User-Agent") == "mine/2"
    assert "text/html" in (same.header("Accept") or "")


def test_feed_headers_do_not_follow_a_redirect_to_another_origin(loopback: LoopbackServer) -> None:
    """httpx strips only Authorization on a cross-origin redirect; an access key must not
    travel either. /a redirects to "localhost" (another origin, the same server)."""
    loopback.routes["/a"] = redirect(f"http://localhost:{loopback.port}/b")
    loopback.routes["/b"] = lambda r: Reply(200, b"<rss/>", {"Content-Type": "text/xml"})
    feed = feed_on(loopback, headers=(("X-Access-Key", "s3cret"),))

    async def run() -> FetchResult:
        async with Fetcher(FetchConfig(allow_private=True)) as fetcher:
            return await fetcher.fetch_feed(loopback.url("/a"), feed)

    assert asyncio.run(run()).body == b"<rss/>"
    (first,) = loopback.requests_for("/a")
    (second,) = loopback.requests_for("/b")
    assert first.header("X-Access-Key") == "s3cret"
    assert second.header("X-Access-Key") is None


def test_own_headers_are_stripped_on_any_other_origin() -> None:
    """Scheme, host and port make the origin: https -> http on the same host strips too."""
    extensions = own_headers("https://feeds.example/rss", ["X-Access-Key"])

    def hop(url: str) -> httpx.Request:
        request = httpx.Request("GET", url, headers={"X-Access-Key": "k"}, extensions=extensions)
        asyncio.run(strip_foreign_headers(request))
        return request

    assert hop("https://feeds.example/next").headers.get("X-Access-Key") == "k"
    assert hop("https://feeds.example:443/next").headers.get("X-Access-Key") == "k"
    for other in (
        "http://feeds.example/rss",
        "https://feeds.example:8443/",
        "https://cdn.example/",
    ):
        assert "X-Access-Key" not in hop(other).headers, other


def test_configured_feed_servers_are_trusted_but_not_their_redirects(
    loopback: LoopbackServer,
) -> None:
    """allow_private = false: the configured feed on 127.0.0.1 is the user's choice and is
    fetched; its redirect to "localhost" (a name the feed server chose) is refused."""
    loopback.routes["/feed.xml"] = lambda r: Reply(200, b"<rss/>", {"Content-Type": "text/xml"})
    loopback.routes["/moved"] = redirect(f"http://localhost:{loopback.port}/feed.xml")
    feed = feed_on(loopback)

    async def run(url: str) -> FetchResult:
        async with Fetcher(FetchConfig(retries=0), trusted=[feed.url]) as fetcher:
            return await fetcher.fetch_feed(url, feed)

    assert asyncio.run(run(loopback.url("/feed.xml"))).body == b"<rss/>"
    with pytest.raises(FetchError, match="localhost resolves to loopback"):
        asyncio.run(run(loopback.url("/moved")))


def test_trust_is_per_port_not_per_host(loopback: LoopbackServer) -> None:
    """A feed server on 127.0.0.1 does not open every port of 127.0.0.1 to the links it
    serves (a local RSSHub must not lead us to a local database's HTTP port)."""
    with running_server() as other:
        other.routes["/admin"] = lambda r: html()
        feed = feed_on(loopback)

        async def run() -> FetchResult:
            async with Fetcher(FetchConfig(retries=0), trusted=[feed.url]) as fetcher:
                return await fetcher.fetch_page(other.url("/admin"), feed)

        with pytest.raises(FetchError, match="loopback"):
            asyncio.run(run())
        assert other.requests == []
