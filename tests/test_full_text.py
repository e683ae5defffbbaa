"""Full text against a real server: feeds carrying summaries only, article pages of several
layouts on 127.0.0.1, the real CLI with ``full_text = true``."""

from __future__ import annotations

from pathlib import Path

import pytest
from feeds import rss, rss_item
from server import LoopbackServer, Reply, Workspace, status

from aggregator.steps.extract import visible_text
from aggregator.steps.text import clean_text

PAGES = Path(__file__).parent / "fixtures" / "crawl"


def summaries(items: list[tuple[str, str, str]]) -> bytes:
    """A feed of (title, link, summary) items, each with its link as its guid."""
    return rss(*(rss_item(link, title, link, summary) for title, link, summary in items))


def serve_page(server: LoopbackServer, path: str, fixture: str) -> str:
    body = (PAGES / fixture).read_bytes()
    server.routes[path] = lambda r: Reply(200, body, {"Content-Type": "text/html; charset=utf-8"})
    return server.url(path)


def serve_feed(server: LoopbackServer, items: list[tuple[str, str, str]]) -> str:
    body = summaries(items)
    server.routes["/feed.xml"] = lambda r: Reply(200, body, {"Content-Type": "application/rss+xml"})
    return server.url("/feed.xml")


def stored(ws: Workspace) -> dict[str, tuple[str, str | None]]:
    """link -> (visible text of the stored content, image)."""
    return {
        link: (clean_text(visible_text(content)), image)
        for link, content, image in ws.query("SELECT link, content, image FROM articles")
    }


def page_requests(server: LoopbackServer) -> list[str]:
    return [r.path for r in server.requests if r.path not in ("/feed.xml", "/robots.txt")]


@pytest.fixture
def three_pages(loopback: LoopbackServer) -> dict[str, str]:
    return {
        "news": serve_page(loopback, "/news/bridge.html", "news.html"),
        "blog": serve_page(loopback, "/blog/sourdough.html", "blog.html"),
        "lazy": serve_page(loopback, "/gallery/lighthouses.html", "lazy.html"),
    }


def test_pages_replace_summaries_with_the_article_only(
    loopback: LoopbackServer, ws: Workspace, three_pages: dict[str, str]
) -> None:
    url = serve_feed(
        loopback, [(k.title(), link, f"Summary of {k}.") for k, link in three_pages.items()]
    )
    ws.write_config([{"name": "Pages", "url": url, "full_text": True}])
    result = ws.fetch()
    assert result.returncode == 0, result.stderr
    articles = stored(ws)

    news, news_image = articles[three_pages["news"]]
    assert "eighteen months of repairs" in news
    assert "lighting system would take place next week" in news
    for boilerplate in (
        "navigation",
        "Sidebar headline",
        "Advertisement",
        "Commenter",
        "footer",
        "NAVSCRIPT",
    ):
        assert boilerplate not in news, boilerplate
    assert news_image == loopback.url("/media/bridge-og.jpg"), "the page's og:image, absolute"

    blog, _ = articles[three_pages["blog"]]
    assert "living culture of wild yeast" in blog and "nail polish remover" in blog
    for boilerplate in ("Blog menu", "Blogroll", "Reader comment"):
        assert boilerplate not in blog, boilerplate

    lazy = ws.query("SELECT content FROM articles WHERE link = ?", (three_pages["lazy"],))[0][0]
    for image in ("/img/north-light.jpg", "/gallery/img/south-light.jpg", "/img/east-"):
        assert f'src="{loopback.url(image)}' in lazy, image  # lazy attributes, made absolute
    assert "data:image" not in lazy

    posts = " ".join(b"".join(ws.posts().values()).decode().split())
    assert "eighteen months of repairs" in posts and "Summary of news" not in posts


def test_each_page_is_fetched_once_new_articles_only(
    loopback: LoopbackServer, ws: Workspace, three_pages: dict[str, str]
) -> None:
    items = [(k.title(), link, f"Summary of {k}.") for k, link in three_pages.items()]
    url = serve_feed(loopback, items[:2])
    ws.write_config([{"name": "Pages", "url": url, "full_text": True}])
    assert ws.fetch().returncode == 0
    assert sorted(page_requests(loopback)) == ["/blog/sourdough.html", "/news/bridge.html"]

    loopback.clear_log()
    serve_feed(loopback, items)  # one more entry; the first two unchanged
    assert ws.fetch().returncode == 0
    assert page_requests(loopback) == ["/gallery/lighthouses.html"]
    loopback.clear_log()
    assert ws.fetch().returncode == 0
    assert page_requests(loopback) == [], "an unchanged feed costs no page request"
    news, _ = stored(ws)[three_pages["news"]]
    assert "eighteen months of repairs" in news, "the crawled text is kept, not updated away"


def test_a_failed_page_keeps_the_feeds_content_and_says_so(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    loopback.routes["/gone.html"] = status(404)
    link = loopback.url("/gone.html")
    url = serve_feed(loopback, [("Gone", link, "The feed's own summary stays.")])
    ws.write_config([{"name": "Pages", "url": url, "full_text": True}])
    result = ws.fetch()
    assert result.returncode == 0, "the feed itself was fine"
    assert stored(ws)[link][0] == "The feed's own summary stays."
    assert link in result.stderr and "keeping the feed's content" in result.stderr


def test_content_selector_and_remove_selectors(loopback: LoopbackServer, ws: Workspace) -> None:
    link = serve_page(loopback, "/blog/sourdough.html", "blog.html")
    url = serve_feed(loopback, [("Sourdough", link, "Summary.")])
    ws.write_config(
        [
            {
                "name": "Blog",
                "url": url,
                "full_text": True,
                "content_selector": ".post-body",
                "remove_selectors": [".share-buttons", "blockquote"],
            }
        ]
    )
    assert ws.fetch().returncode == 0
    text, _ = stored(ws)[link]
    assert text.startswith("A sourdough starter is a living culture")
    assert "nail polish remover" in text
    for removed in ("Share this post", "Feed it like a pet", "Posted in baking", "Blogroll"):
        assert removed not in text, removed


def test_an_invalid_selector_is_a_config_error(ws: Workspace) -> None:
    ws.write_config([{"name": "Blog", "url": "http://127.0.0.1:9/f", "content_selector": "div[[["}])
    result = ws.run("check")
    assert result.returncode == 2
    assert "content_selector" in result.stderr and "div[[[" in result.stderr


def test_pages_on_private_addresses_are_refused_by_default(
    loopback: LoopbackServer, ws: Workspace, three_pages: dict[str, str]
) -> None:
    """The feed is the user's choice (fetched); the pages it links to are not (refused):
    here on "localhost", another name for the loopback server the feed is on."""
    elsewhere = three_pages["news"].replace("127.0.0.1", "localhost")
    url = serve_feed(loopback, [("News", elsewhere, "Summary only.")])
    ws.write_config(
        [{"name": "Pages", "url": url, "full_text": True}], fetch={"allow_private": False}
    )
    result = ws.fetch()
    assert result.returncode == 0, result.stderr
    assert page_requests(loopback) == [] and loopback.requests_for("/robots.txt") == []
    assert stored(ws)[elsewhere][0] == "Summary only."
    assert "loopback" in result.stderr and "allow_private" in result.stderr


def test_another_feeds_duplicate_is_not_crawled(
    loopback: LoopbackServer, ws: Workspace, three_pages: dict[str, str]
) -> None:
    body = summaries([("News", three_pages["news"], "Summary.")])
    for path in ("/a.xml", "/b.xml"):
        loopback.routes[path] = lambda r: Reply(200, body, {"Content-Type": "application/rss+xml"})
    ws.write_config(
        [
            {"name": "A", "url": loopback.url("/a.xml"), "full_text": True},
            {"name": "B", "url": loopback.url("/b.xml"), "full_text": True},
        ],
        fetch={"concurrency": 1},
    )
    assert ws.fetch().returncode == 0
    assert ws.query("SELECT count(*) FROM articles") == [(1,)]
    assert [p for p in page_requests(loopback) if p.endswith(".html")] == ["/news/bridge.html"]


def test_pages_per_feed_and_pass_are_capped() -> None:
    """Past the pass's page budget new articles of one feed keep the feed's content
    (document order) and are wanted for a later pass."""
    import asyncio
    from dataclasses import replace as with_fields

    from aggregator.config import FeedConfig
    from aggregator.models import Article, FetchResult
    from aggregator.run import crawl
    from aggregator.steps.extract.page import PageContent

    requested: list[str] = []

    class Pages:
        async def fetch_page(self, url: str, feed: FeedConfig) -> FetchResult:
            requested.append(url)
            return FetchResult(url=url, status=200, body=b"<p>page</p>")

    async def extract(page: FetchResult, feed: FeedConfig) -> PageContent:
        return PageContent(content=f"<p>full text of {page.url}</p>", image=None)

    base = Article(
        "", "F", "", None, None, "t", None, "<p>summary</p>", None, None, None, "", "", ""
    )
    articles = [
        with_fields(base, id=str(i), entry_key=f"k{i}", link=f"https://e.example/{i}")
        for i in range(4)
    ]
    crawler = crawl.Crawler(Pages(), extract)  # type: ignore[arg-type]
    done = asyncio.run(crawler.complete(FeedConfig("F", "https://e.example/feed"), articles, 2))
    assert requested == ["https://e.example/0", "https://e.example/1"]
    assert (done.requested, done.wanted) == (2, (("k2", 0), ("k3", 0)))
    assert [a.content for a in done.articles] == [
        "<p>full text of https://e.example/0</p>",
        "<p>full text of https://e.example/1</p>",
        "<p>summary</p>",
        "<p>summary</p>",
    ]
