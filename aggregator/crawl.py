"""Full text: for a feed with ``full_text = true``, each new (or changed) article's page is
fetched once and its body replaces the feed's summary.

The page goes through the same fetcher as feeds (limits, timeouts, size cap, per-host
politeness), plus robots.txt and the address guard (fetch/). Extraction is CPU-bound and runs
in the parser's worker processes (extract/page.py). Any failure keeps the feed's own content,
and says so in the log. The article's identity, fingerprint and content hash stay those of the
feed's entry: the next pass compares the feed with the feed, so a crawled article is not
"updated" back to its summary.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from .config import FeedConfig
from .errors import FetchError, ParseError
from .extract import choose_image
from .extract.page import PageContent
from .fetch import Fetcher
from .models import Article, FetchResult

log = logging.getLogger(__name__)

Extract = Callable[[FetchResult, FeedConfig], Awaitable[PageContent | None]]


# Pages between request and extraction at once, over all feeds: the extractor keeps up with
# two cores, so more bodies in flight would only wait in memory (each up to max_bytes).
IN_FLIGHT = 16
# Pages per feed and pass: a first fetch of a long feed without a backlog would otherwise hold
# the feed (and, on PostgreSQL, its lease) for as long as hundreds of page requests take.
MAX_PAGES = 100


class Crawler:
    def __init__(self, fetcher: Fetcher, extract: Extract) -> None:
        self.fetcher = fetcher
        self.extract = extract
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)

    async def complete(self, feed: FeedConfig, articles: Sequence[Article]) -> list[Article]:
        """``articles`` with their pages' full text, where it could be had; past MAX_PAGES
        (in document order: feeds list their newest first) the feed's content stays."""
        if len(articles) > MAX_PAGES:
            log.warning(
                "full text feed=%r: %d new articles, pages fetched for the first %d "
                "(set a backlog to start a feed with fewer)",
                feed.name,
                len(articles),
                MAX_PAGES,
            )
        crawled = await asyncio.gather(*(self._complete_one(feed, a) for a in articles[:MAX_PAGES]))
        return [*crawled, *articles[MAX_PAGES:]]

    async def _complete_one(self, feed: FeedConfig, article: Article) -> Article:
        if not article.link:
            return article
        try:
            async with self._in_flight:
                page = await self.fetcher.fetch_page(article.link, feed)
                content = await self.extract(page, feed)
        except (FetchError, ParseError) as e:
            log.warning("full text feed=%r: %s; keeping the feed's content", feed.name, e)
            return article
        if content is None:
            log.warning(
                "full text feed=%r: no article found in %s; keeping the feed's content",
                feed.name,
                article.link,
            )
            return article
        return with_page(article, content)


def with_page(article: Article, page: PageContent) -> Article:
    """The article with the page's body. Images, in order of preference: the feed's own
    (media, enclosure), the page's og:image, the first meaningful image of the new body, the
    one the feed's content had."""
    feed_images = [article.media_image] if article.media_image else []
    image = choose_image(feed_images, page.content, article.link or "", page.image)
    return replace(article, content=page.content, image=image or article.image)
