"""Feed discovery: from a URL that may be a web page to the feed it advertises.

The pure half reads an HTML page (``feed_links``, ``anchor_feed_links``, ``looks_like_html``);
``discover`` fetches: the URL itself when it already is a feed, else the page's advertised
feeds, links that look like feeds, then common feed paths on the page's origin. The first
candidate that parses as a feed wins; every candidate is fetched and parsed, never trusted.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser

from ..config import FeedConfig
from ..edges.fetch import Fetcher
from ..errors import DiscoveryError, FetchError, ParseError
from ..models import FetchResult, ParsedFeed
from ..steps.extract.html import absolute_url, document_base
from ..steps.extract.page import decode_html
from ..steps.parse import parse_document
from ..steps.text import clean_line

__all__ = [
    "COMMON_PATHS",
    "MAX_CANDIDATES",
    "Discovered",
    "anchor_feed_links",
    "candidate_urls",
    "discover",
    "feed_links",
    "follow_page",
    "looks_like_html",
    "suggested_name",
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


@dataclass(frozen=True, slots=True)
class Discovered:
    """A URL that answered with a readable feed, that feed's own title (may be empty), and
    the response itself."""

    url: str
    title: str
    result: FetchResult | None = field(default=None, compare=False, repr=False)


Parse = Callable[[bytes, str, str], Awaitable[ParsedFeed]]


async def parse_in_thread(body: bytes, url: str, content_type: str) -> ParsedFeed:
    """For one-off documents (``aggregator add``); the pipeline parses in its worker pool."""
    return await asyncio.to_thread(parse_document, body, url, content_type)


def suggested_name(found: Discovered) -> str:
    """A config name for a discovered feed: its title on one line, else its host."""
    return clean_line(found.title) or urlsplit(found.url).hostname or found.url


# -- pure: reading a page ------------------------------------------------------------------


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


# -- I/O: fetching candidates --------------------------------------------------------------


async def discover(fetcher: Fetcher, url: str, feed: FeedConfig | None = None) -> Discovered:
    """The feed at ``url``, or the one the page at ``url`` leads to. ``feed`` lends its
    request settings (headers, user agent, timeout). Raises FetchError when ``url`` itself
    cannot be fetched and DiscoveryError (naming what was tried) when no feed is found."""
    settings = feed or FeedConfig(name=url, url=url)
    page = await fetcher.fetch_feed(url, settings)
    body = page.body or b""
    try:
        parsed = await parse_in_thread(body, page.url, page.content_type)
        return Discovered(page.permanent_url or url, parsed.title, page)
    except ParseError as e:
        if not looks_like_html(body, page.content_type):
            raise DiscoveryError(
                url, f"neither a feed nor an HTML page ({e.message})", status=page.status
            ) from None
    return await follow_page(fetcher, url, page, settings, guess=True)


async def follow_page(
    fetcher: Fetcher,
    url: str,
    page: FetchResult,
    feed: FeedConfig,
    parse: Parse = parse_in_thread,
    *,
    guess: bool,
) -> Discovered:
    """The first feed that an HTML page at ``url`` leads to: its advertised feeds, then, when
    ``guess``, feed-like links and common paths (for ``aggregator add``, where the user sees
    the answer before anything is stored: a configured feed follows only what its page
    declares, never a guess). Candidates are fetched with ``feed``'s settings through the
    fetcher, whose guard checks every host but the configured ones and whose feed headers stay
    on the configured origin."""
    html = await asyncio.to_thread(decode_html, page.body or b"", page.content_type)
    candidates = await asyncio.to_thread(candidate_urls, html, page.url, guess)
    tried: list[str] = []
    for candidate in candidates:
        try:
            result = await fetcher.fetch_feed(candidate, feed)
            parsed = await parse(result.body or b"", result.url, result.content_type)
        except (FetchError, ParseError) as e:
            tried.append(f"{candidate} ({e.message})")
            continue
        return Discovered(result.permanent_url or candidate, parsed.title, result)
    if tried:
        what = "an HTML page without a readable feed; tried: " + "; ".join(tried)
    elif guess:
        what = "an HTML page without a readable feed: it links to none"
    else:
        what = (
            'an HTML page that declares no feed (<link rel="alternate">); '
            "`aggregator add URL` also looks at its links and common feed paths"
        )
    raise DiscoveryError(url, what, status=page.status)
