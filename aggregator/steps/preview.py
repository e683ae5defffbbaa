"""Pure: what a feed's config yields, for ``aggregator preview``: each entry as its post would
show it (title, link, date, author, the first words of its text) and whether the include /
exclude rules keep it. The entries are normalized as the pipeline normalizes them; nothing is
stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..config import FeedConfig
from ..models import ParsedFeed
from .extract import visible_text
from .filters import Filters
from .normalize import normalize_feed
from .text import clean_text

SUMMARY_CHARS = 120  # the first words of an entry's text


@dataclass(frozen=True, slots=True)
class PreviewItem:
    title: str
    link: str | None
    date: datetime | None  # UTC; None: the first-seen time will be used
    author: str | None
    image: str | None
    tags: tuple[str, ...]
    summary: str  # the first words of the text
    kept: bool  # the include / exclude rules keep it


def preview_items(
    document: ParsedFeed,
    feed: FeedConfig,
    url: str,
    now: datetime,
    filters: Filters,
    allow_data_images: bool = False,
) -> tuple[PreviewItem, ...]:
    """Every entry of ``document`` (read from ``url``) as the pipeline would store it."""
    articles = normalize_feed(document, feed, url, now, allow_data_images)
    return tuple(
        PreviewItem(
            title=a.title,
            link=a.link,
            date=a.published,
            author=a.author,
            image=a.image,
            tags=a.tags,
            summary=first_words(clean_text(visible_text(a.content))),
            kept=filters.admits(a, feed.categories),
        )
        for a in articles
    )


def first_words(text: str, limit: int = SUMMARY_CHARS) -> str:
    """``text`` cut after a word near ``limit`` characters ("…" marks the cut); text without
    spaces (Chinese) is cut at ``limit``."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:，。；：、") + "…"
