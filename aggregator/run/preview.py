"""``aggregator preview``: fetch a feed's page (and the next ones, as a pass would), read it as
its config says, and return the entries it yields. No database is opened and nothing is
written: this is how a person tries selectors.

The pages are read in this process (one command, one feed: starting worker processes would
cost more than reading). The URL is fetched as a configured feed's is: its server trusted,
any other (next pages) through the address guard unless allow_private.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..config import Config, FeedConfig
from ..edges.fetch import Fetcher
from ..models import FetchResult, ParsedFeed
from ..steps.filters import Filters
from ..steps.parse import parse_document
from ..steps.preview import PreviewItem, preview_items
from ..steps.sourcepages import SourceRead, is_source, read_source_page
from ..steps.sources import SourcePage
from .sources import read_source


@dataclass(frozen=True, slots=True)
class Preview:
    feed: FeedConfig
    url: str  # the URL that answered (after redirects)
    read: SourceRead | None  # a source's pages; None for a feed document
    title: str  # the document's own title
    items: tuple[PreviewItem, ...]


async def preview_feed(config: Config, feed: FeedConfig, now: datetime | None = None) -> Preview:
    """The entries ``feed`` yields now. Raises FetchError or ParseError naming the URL."""
    now = now or datetime.now(UTC)
    async with Fetcher(config.fetch, trusted=[feed.url]) as fetcher:
        first = await fetcher.fetch_feed(feed.url, feed)
        assert first.body is not None  # no validators were sent
        read = None
        if is_source(feed):
            read = await read_source(fetcher, _read_page, feed, first, now, feed.url)
            document = read.document
        else:
            document = parse_document(first.body, first.url, first.content_type)
    items = preview_items(
        document,
        feed,
        first.url,
        now,
        Filters.for_feed(config, feed),
        config.output.allow_data_images,
    )
    return Preview(feed, first.url, read, _title(document), items)


async def _read_page(page: FetchResult, feed: FeedConfig, now: datetime) -> SourcePage:
    assert page.body is not None
    return read_source_page(page.body, page.url, page.content_type, feed, now)


def _title(document: ParsedFeed) -> str:
    return document.title.strip()
