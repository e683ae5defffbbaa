"""Pure: reading an HTML page for the feeds it leads to (feed discovery's pure half).

``feed_links``: what the page declares (``<link rel="alternate">`` with a feed type, HTML5
``rel="feed"``); ``candidate_urls``: those, then (when guessing) feed-like links on the page's
own host and common feed paths on its origin; ``looks_like_html``: a page rather than a feed.
run/discover.py fetches the candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser

from .extract.html import absolute_url, document_base

__all__ = [
    "COMMON_PATHS",
    "MAX_CANDIDATES",
    "anchor_feed_links",
    "candidate_urls",
    "feed_links",
    "looks_like_html",
]

# Where blog engines put their feed (WordPress, Ghost, Hugo, Jekyll, Blogger, micro.blog, ...).
COMMON_PATHS = (
    "/feed",
    "/rss",
    "/feed.xml",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feed.json",
    "/?feed=rss2",
)
MAX_CANDIDATES = 10  # fetches per discovery beyond the page itself: polite and bounded

# With rel="alternate" these types announce a feed; plain JSON and XML only with that rel.
_FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/x.atom+xml",
        "application/x-atom+xml",
        "application/x-rss+xml",
        "application/json",
        "application/xml",
        "text/xml",
    }
)
# An <a href> whose path ends like this is probably a feed (a weaker hint than <link>).
_FEEDISH_PATH = re.compile(
    r"(?:\.(?:rss|atom|rdf)|/(?:feed|rss|atom)/?|(?:feed|rss|atom|index)\.(?:xml|json))$",
    re.IGNORECASE,
)
_MAX_ANCHORS = 3
_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL
)


def looks_like_html(body: bytes, content_type: str) -> bool:
    """An HTML page by its Content-Type, or (for a missing or generic type) by how it starts."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in ("text/html", "application/xhtml+xml"):
        return True
    if mime and mime not in ("text/plain", "application/octet-stream"):
        return False
    return _HTML_START.match(body.lstrip(b"\xef\xbb\xbf")[:4096]) is not None


def feed_links(html: str, base_url: str) -> list[str]:
    """The feeds a page advertises with ``<link rel="alternate" type="...">`` (or
    ``rel="feed"``), as absolute http(s) URLs in document order, without repeats."""
    return _advertised(LexborHTMLParser(html), base_url)


def anchor_feed_links(html: str, base_url: str) -> list[str]:
    """Links in the page's text (``<a href>``) whose path looks like a feed's, on the page's
    own host: a fallback for pages that advertise nothing in their head."""
    return _feedish_anchors(LexborHTMLParser(html), base_url)


def candidate_urls(html: str, page_url: str, guess: bool = True) -> list[str]:
    """What to try, best first: advertised feeds, then (``guess``) feed-like links and common
    paths on the page's origin; never the page itself, at most MAX_CANDIDATES."""
    tree = LexborHTMLParser(html)
    ordered = _advertised(tree, page_url)
    if guess:
        common = [urljoin(_origin(page_url), path) for path in COMMON_PATHS]
        ordered += _feedish_anchors(tree, page_url)[:_MAX_ANCHORS]
        ordered += common if _is_http(page_url) else []
    page = _without_fragment(page_url)
    unique = [u for u in dict.fromkeys(ordered) if u != page]
    return unique[:MAX_CANDIDATES]


def _advertised(tree: LexborHTMLParser, page_url: str) -> list[str]:
    hrefs = (
        node.attrs.get("href")
        for node in tree.css("link[href]")
        if _announces_feed(node.attrs.get("rel"), node.attrs.get("type"))
    )
    return _absolute_http(hrefs, document_base(tree, page_url))


def _feedish_anchors(tree: LexborHTMLParser, page_url: str) -> list[str]:
    hrefs = (node.attrs.get("href") for node in tree.css("a[href]"))
    host = urlsplit(page_url).hostname
    urls = _absolute_http(hrefs, document_base(tree, page_url))
    return [u for u in urls if urlsplit(u).hostname == host and _FEEDISH_PATH.search(_path(u))]


def _announces_feed(rel: str | None, mime: str | None) -> bool:
    rels = set((rel or "").lower().split())
    if "feed" in rels:  # HTML5 rel="feed": the type is optional
        return True
    mime = (mime or "").split(";", 1)[0].strip().lower()
    return "alternate" in rels and mime in _FEED_TYPES


def _absolute_http(hrefs: Iterable[str | None], base: str) -> list[str]:
    """Absolute, fragment-free http(s) URLs in order, first occurrence kept. Anything else
    (javascript:, file:, mailto:) is dropped: a web page must not point the fetcher at files."""
    urls: list[str] = []
    for href in hrefs:
        url = absolute_url(href, base) if href else None
        if url is not None and (url := _without_fragment(url)) not in urls:
            urls.append(url)
    return urls


def _is_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))


def _path(url: str) -> str:
    return urlsplit(url).path


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]
