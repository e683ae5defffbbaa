"""A source without a feed (``source = "html"`` or ``"json"``), one pass: the configured page,
which the pipeline fetched with conditional GET, then the pages `next_page` leads to, up to
`pages` (at most 10).

Change detection is the first page's: when it answers 304, or the same bytes as last time,
the pipeline stops there, since a list whose top did not change has nothing new further down.
When it changed, the next pages are fetched afresh (no validators are kept for them) and read
with it. They go through the same fetcher as feeds (limits, timeout, max_bytes, retries,
the feed's User-Agent, its headers only on its own origin); the configured URL's server is
trusted and any other goes through the address guard; http(s) only. A URL already read (next
links in a loop) ends the walk; so does a later page that fails, keeping the pages read: the
first page alone decides whether the feed failed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from urllib.parse import urlsplit

from ..config import FeedConfig
from ..edges.fetch import Fetcher
from ..errors import FetchError, ParseError
from ..models import FetchResult
from ..steps.sourcepages import SourceRead, merge_pages, pages_per_pass
from ..steps.sources import SourcePage
from ..steps.text import counted

log = logging.getLogger(__name__)

ReadPage = Callable[[FetchResult, FeedConfig, datetime], Awaitable[SourcePage]]


async def read_source(
    fetcher: Fetcher,
    read_page: ReadPage,
    feed: FeedConfig,
    first: FetchResult,
    now: datetime,
    asked: str,
) -> SourceRead:
    """The pages of one pass, from ``first`` (the answer to ``asked``, the feed's URL), read
    with ``read_page`` (a worker process). Raises ParseError when the first page fails."""
    pages = [await read_page(first, feed, now)]
    seen = {asked, first.url}
    limit = pages_per_pass(feed)
    while len(pages) < limit and (url := pages[-1].next_page) is not None:
        if url in seen or urlsplit(url).scheme.lower() not in ("http", "https"):
            log.info("source feed=%r: next page %s read already or not http(s)", feed.name, url)
            break
        seen.add(url)
        try:
            page = await _next_page(fetcher, read_page, feed, url, now, seen)
        except (FetchError, ParseError) as e:
            log.warning(
                "source feed=%r: page %d: %s; keeping the %s read before it",
                feed.name,
                len(pages) + 1,
                e,
                counted(len(pages), "page"),
            )
            break
        if page is None:
            break
        pages.append(page)
    read = merge_pages(pages)
    _log_read(feed, read)
    return read


async def _next_page(
    fetcher: Fetcher,
    read_page: ReadPage,
    feed: FeedConfig,
    url: str,
    now: datetime,
    seen: set[str],
) -> SourcePage | None:
    """The page at ``url``; None when it redirects to a page read already."""
    result = await fetcher.fetch_feed(url, feed)
    if result.body is None or (result.url != url and result.url in seen):
        log.info("source feed=%r: %s leads back to a page read already", feed.name, url)
        return None
    seen.add(result.url)
    return await read_page(result, feed, now)


def _log_read(feed: FeedConfig, read: SourceRead) -> None:
    if read.detected:
        log.info("source feed=%r: items found by autodetect in %s", feed.name, read.detected)
    if read.skipped:
        log.info(
            "source feed=%r: %s without a title or a link skipped",
            feed.name,
            counted(read.skipped, "item"),
        )
    for warning in read.warnings:
        log.warning("source feed=%r: %s", feed.name, warning)
