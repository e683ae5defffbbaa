"""Pure: the pages of a source without a feed (``source = "html"`` or ``"json"``) -> one
document, which digest_parsed turns into articles as it does a feed's.

``read_source_page`` runs in a worker process for each page fetched (run/sources.py follows
`next_page`); ``merge_pages`` joins one pass's pages, and says what they said: items skipped
(neither title nor link), the readers' warnings, where autodetect found the items.
``source_fingerprint`` changes with the `[feeds.select]` table, so that an edited selector
reads an unchanged page afresh, as edited include / exclude rules do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..config import FeedConfig
from ..models import ParsedFeed
from .sources import SourcePage, read_html_source, read_json_source


@dataclass(frozen=True, slots=True)
class SourceRead:
    """The pages of one pass, read: one document, and what reading it found."""

    document: ParsedFeed  # every page's entries, in page order
    pages: tuple[str, ...]  # the URLs read, the configured page first
    skipped: int  # items with neither a title nor a link, over all pages
    warnings: tuple[str, ...]  # the readers' warnings, each once
    detected: str | None  # without [feeds.select]: where autodetect found the items


def is_source(feed: FeedConfig) -> bool:
    """The feed is a web page or an API read through `[feeds.select]`, not a feed document."""
    return feed.source != "feed"


def read_source_page(
    body: bytes, url: str, content_type: str, feed: FeedConfig, now: datetime
) -> SourcePage:
    """One fetched page of a source, by the feed's ``source`` kind. Raises ParseError naming
    ``url`` (0 items for `items`, not JSON, nested too deeply)."""
    if feed.source == "json":
        if feed.select is None:  # the config refuses this; a bug if it gets here
            raise ValueError(f'feed {feed.name!r}: source = "json" without [feeds.select]')
        return read_json_source(body, url, content_type, feed.select, now)
    if feed.source == "html":
        return read_html_source(body, url, content_type, feed.select, now)
    raise ValueError(f"feed {feed.name!r}: source = {feed.source!r} is read as a feed")


def pages_per_pass(feed: FeedConfig) -> int:
    """How many pages one pass reads, following `next_page` (config/select.py bounds it)."""
    return feed.select.pages if feed.select is not None else 1


def merge_pages(pages: Sequence[SourcePage]) -> SourceRead:
    """One pass's pages (at least one) as one document. An item on two pages (the list moved
    between two requests) is one entry: normalize keeps its first occurrence."""
    first = pages[0].feed
    warnings = dict.fromkeys(w for p in pages for w in (p.feed.warning or "").split("; ") if w)
    document = ParsedFeed(
        title=first.title,
        link=first.link,
        entries=tuple(e for p in pages for e in p.feed.entries),
        warning="; ".join(warnings) or None,
    )
    return SourceRead(
        document,
        tuple(p.feed.link or "" for p in pages),
        sum(p.skipped for p in pages),
        tuple(warnings),
        pages[0].detected,
    )


def source_fingerprint(feed: FeedConfig) -> str:
    """Changes when the feed's source kind or select table does ("" for a feed document)."""
    if not is_source(feed):
        return ""
    return hashlib.sha256(f"{feed.source}\n{feed.select!r}".encode()).hexdigest()[:16]
