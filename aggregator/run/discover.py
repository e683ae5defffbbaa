"""Feed discovery: from a URL that may be a web page to the feed it leads to.

``discover`` (``aggregator add``) fetches the URL; when it is a page, ``follow_page`` fetches
its candidates (steps/feedlinks.py): the feeds it declares, then, when guessing, feed-like
links and common paths. The first candidate that parses as a feed wins; every candidate is
fetched and parsed, never trusted. The pipeline follows a configured page with ``guess=False``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..config import FeedConfig
from ..edges.fetch import Fetcher
from ..errors import DiscoveryError, FetchError, ParseError
from ..models import FetchResult, ParsedFeed
from ..steps.extract.page import decode_html
from ..steps.feedlinks import candidate_urls, looks_like_html
from ..steps.parse import parse_document
from ..steps.text import clean_line

__all__ = ["Discovered", "discover", "follow_page", "parse_in_thread", "suggested_name"]


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
