"""Full text: for a feed with ``full_text = true``, each new (or changed) article's page is
fetched once and its body replaces the feed's summary.

The page goes through the same fetcher as feeds (limits, timeouts, size cap, per-host
politeness), plus robots.txt and the address guard (fetch/). Extraction is CPU-bound and runs
in the parser's worker processes (extract/page.py). Any failure keeps the feed's own content,
and says so in the log. The article's identity, fingerprint, content hash and near-duplicate
signature stay those of the feed's entry: the next pass compares the feed with the feed, so a
crawled article is not "updated" back to its summary.

At most MAX_PAGES pages per feed and pass. The pages a pass does not fetch (past the cap, or
after a transient failure) are queued in the store and fetched on later passes, whatever the
feed answers then (see Pipeline.process_feed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from ..config import FeedConfig
from ..edges.fetch import Fetcher
from ..edges.fetch.policy import RETRY_STATUSES
from ..errors import DeferredError, FetchError, ParseError, RefusedError
from ..models import Article, FetchResult, PageResult, QueuedPage
from ..steps.extract import choose_image
from ..steps.extract.page import PageContent

log = logging.getLogger(__name__)

Extract = Callable[[FetchResult, FeedConfig], Awaitable[PageContent | None]]


# Pages between request and extraction at once, over all feeds: the extractor keeps up with
# two cores, so more bodies in flight would only wait in memory (each up to max_bytes).
IN_FLIGHT = 16
# Pages per feed and pass: a first fetch of a long feed without a backlog would otherwise hold
# the feed (and, on PostgreSQL, its lease) for as long as hundreds of page requests take.
MAX_PAGES = 100


@dataclass(frozen=True, slots=True)
class _Page:
    """One page request's end: the extracted body, or why there is none."""

    content: PageContent | None
    retry: bool = False  # a transient failure (network, timeout, 5xx, 429): try a later pass


@dataclass(frozen=True, slots=True)
class Completed:
    """A document's articles, those whose page was fetched with its full text, and the
    entry keys whose page is still wanted, with the attempts made so far."""

    articles: list[Article]
    wanted: tuple[tuple[str, int], ...]
    requested: int  # pages asked for (the pass's page budget they used)


class Crawler:
    def __init__(self, fetcher: Fetcher, extract: Extract) -> None:
        self.fetcher = fetcher
        self.extract = extract
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)

    async def complete(
        self, feed: FeedConfig, articles: Sequence[Article], budget: int = MAX_PAGES
    ) -> Completed:
        """The first ``budget`` articles (in document order: feeds list their newest first)
        with their pages' full text where it could be had; the others keep the feed's content
        until a later pass fetches their page."""
        linked = [a for a in articles if a.link]
        tried, later = linked[:budget], linked[budget:]
        if later:
            log.warning(
                "full text feed=%r: %d new articles, pages fetched for %d; the other %d are "
                "queued for the next passes",
                feed.name,
                len(linked),
                len(tried),
                len(later),
            )
        pages = await asyncio.gather(*(self._page(feed, a.link or "") for a in tried))
        ends = list(zip(tried, pages, strict=True))
        crawled = {a.id: with_page(a, p.content) for a, p in ends if p.content}
        wanted = [(a.entry_key, 1) for a, p in ends if p.retry]
        wanted += [(a.entry_key, 0) for a in later]
        return Completed([crawled.get(a.id, a) for a in articles], tuple(wanted), len(tried))

    async def complete_queued(
        self, feed: FeedConfig, queued: Sequence[QueuedPage]
    ) -> list[PageResult]:
        """Queued pages fetched: each one's new content and image, or whether to retry."""
        pages = await asyncio.gather(*(self._page(feed, q.url) for q in queued))
        return [_result(q, p) for q, p in zip(queued, pages, strict=True)]

    async def _page(self, feed: FeedConfig, url: str) -> _Page:
        try:
            async with self._in_flight:
                page = await self.fetcher.fetch_page(url, feed)
                content = await self.extract(page, feed)
        except FetchError as e:
            retry = _transient(e)
            log.warning(
                "full text feed=%r: %s; keeping the feed's content%s",
                feed.name,
                e,
                " for now" if retry else "",
            )
            return _Page(None, retry)
        except ParseError as e:
            log.warning("full text feed=%r: %s; keeping the feed's content", feed.name, e)
            return _Page(None)
        if content is None:
            log.warning(
                "full text feed=%r: no article found in %s; keeping the feed's content",
                feed.name,
                url,
            )
        return _Page(content)


def _transient(error: FetchError) -> bool:
    """Worth another try in a later pass: the network, a timeout, a server error or a
    throttle; not a refused address, robots.txt or a 4xx."""
    if isinstance(error, DeferredError):
        return True
    if isinstance(error, RefusedError):
        return False
    return error.status is None or error.status in RETRY_STATUSES


def _result(queued: QueuedPage, page: _Page) -> PageResult:
    if page.content is None:
        return PageResult(queued.article_id, retry=page.retry)
    feed_images = [queued.media_image] if queued.media_image else []
    image = choose_image(feed_images, page.content.content, queued.url, page.content.image)
    return PageResult(queued.article_id, page.content.content, image)


def with_page(article: Article, page: PageContent) -> Article:
    """The article with the page's body. Images, in order of preference: the feed's own
    (media, enclosure), the page's og:image, the first meaningful image of the new body, the
    one the feed's content had."""
    feed_images = [article.media_image] if article.media_image else []
    image = choose_image(feed_images, page.content, article.link or "", page.image)
    return replace(article, content=page.content, image=image or article.image)
