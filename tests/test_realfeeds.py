"""Every real-world feed in ../shared/fixtures/realfeeds: articles or ParseError, never anything
else; and every post rendered from them is well-formed front matter with harmless HTML."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from articles import as_stored
from conftest import SHARED, shared_or_skip
from posts import front_matter

from aggregator.config import FeedConfig
from aggregator.errors import ParseError
from aggregator.models import Article, StoredArticle
from aggregator.steps.normalize import normalize_document, normalize_feed
from aggregator.steps.parse import parse_document
from aggregator.steps.render import render_post
from aggregator.steps.render.post import post_title

KEYS = ["title", "categories", "headimg", "author", "comments", "date", "thumbnail"]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PLACEHOLDER = "https://picsum.photos/400/300?random={n}"
NOT_FEEDS = {"README.md", "SOURCES.tsv"}
JS_URL = re.compile(r"""[\s"'/]\w[\w:-]*\s*=\s*["']?\s*javascript:""", re.IGNORECASE)

_folder = SHARED / "fixtures" / "realfeeds"
FILES = (
    sorted(p.name for p in _folder.iterdir() if p.is_file() and p.name not in NOT_FEEDS)
    if _folder.is_dir()
    else ["absent"]
)


def stored(article: Article, feed: FeedConfig) -> StoredArticle:
    return as_stored(article, feed, NOW)


class Tags(HTMLParser):
    """Every start tag with its (unescaped) attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_harmless(html: str) -> None:
    assert "<script" not in html.lower()
    parser = Tags()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag not in ("script", "style", "iframe", "object", "embed", "form"), tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            squeezed = "".join((value or "").split()).lower()
            assert not squeezed.startswith(("javascript:", "vbscript:", "data:")), (tag, name)


@pytest.mark.parametrize("name", FILES)
def test_real_feed(name: str) -> None:
    folder = shared_or_skip("fixtures/realfeeds")
    path: Path = folder / name
    url = f"https://realfeeds.example/{name}"
    feed = FeedConfig(name=name, url=url, categories=("real", "feeds"))
    content_type = "application/feed+json" if path.suffix == ".json" else ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # feedparser's own deprecation notes
        try:
            document = parse_document(path.read_bytes(), url, content_type)
        except ParseError as e:
            assert url in str(e)
            return
        articles = normalize_feed(document, feed, url, NOW)
        # Read again, the same document is nothing but entries known unchanged, its dates
        # still counted (the feed's rhythm).
        known = {a.entry_digest: a.entry_key for a in articles}
        again = normalize_document(document, feed, url, NOW, known=known)
    assert again.articles == [] and dict(again.known) == known
    assert sorted(again.known_dates) == sorted(a.published for a in articles if a.published)
    for article in articles:
        text = render_post(stored(article, feed), PLACEHOLDER)
        data = front_matter(text)
        assert list(data) == KEYS
        assert data["title"] == post_title(article.title)
        assert data["categories"] == ["real", "feeds"]
        assert data["author"] == name
        assert data["comments"] is False
        for key in ("headimg", "thumbnail"):
            assert str(data[key]).startswith(("http://", "https://")), data[key]
        assert_harmless(article.content)
        body = text.split("\n---\n", 2)[2]
        assert_harmless(body)
        assert not JS_URL.search(text)


@pytest.mark.parametrize(
    "html",
    [
        "<SCRIPT>x()</SCRIPT>",
        '<img src="a.png" ONERROR="x()">',
        '<a href=" java\tscript:x()">a</a>',
        '<a href="&#106;avascript:x()">a</a>',
        '<table background="javascript:x()"></table>',
        "<iframe src=https://x.example/></iframe>",
    ],
    ids=["script", "handler", "js-url-whitespace", "js-url-entity", "background", "iframe"],
)
def test_the_harmless_check_catches_harm(html: str) -> None:
    with pytest.raises(AssertionError):
        assert_harmless(html)
    assert JS_URL.search(html) or "javascript" not in html
