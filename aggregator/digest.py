"""Pure: one fetched document -> articles and the feed's rhythm. The CPU-bound step, run in
worker processes; this module imports only the pure steps, so workers stay small."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from .config import FeedConfig
from .models import Article, ParsedEntry
from .normalize import normalize_feed
from .parse import parse_document
from .schedule import document_hint, typical_gap

# Entries taken from one document, the newest: a feed of 100,000 items would otherwise cost
# minutes of normalizing, and as many rows and post files, in a single pass.
MAX_ENTRIES = 1000


@dataclass(frozen=True, slots=True)
class Digest:
    """What the worker process returns for one document."""

    articles: list[Article]
    document_hint: float | None  # seconds asked by <ttl> / sy:update*
    entry_gap: float | None  # typical seconds between entries


def digest_document(
    body: bytes, url: str, content_type: str, feed: FeedConfig, now: datetime
) -> Digest:
    """The CPU-bound part, run in a worker process: bytes -> articles and rhythm."""
    parsed = parse_document(body, url, content_type)
    if len(parsed.entries) > MAX_ENTRIES:
        parsed = replace(parsed, entries=newest_entries(parsed.entries, MAX_ENTRIES))
    articles = normalize_feed(parsed, feed, url, now)
    dates = [a.published for a in articles if a.published is not None]
    return Digest(articles, document_hint(parsed.hints), typical_gap(dates))


def newest_entries(entries: Sequence[ParsedEntry], limit: int) -> tuple[ParsedEntry, ...]:
    """The ``limit`` newest entries, in document order: dated ones newest first, then undated
    ones in document order (feeds list their newest first)."""

    def age(i: int) -> tuple[bool, float]:
        when = entries[i].published or entries[i].updated
        return (when is None, -when.timestamp() if when else 0.0)

    kept = sorted(sorted(range(len(entries)), key=age)[:limit])
    return tuple(entries[i] for i in kept)
