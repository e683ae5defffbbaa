"""Pure: one fetched document -> articles and the feed's rhythm. The CPU-bound step, run in
worker processes; this module imports only the pure steps, so workers stay small."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .config import FeedConfig
from .models import Article
from .normalize import normalize_feed
from .parse import parse_document
from .schedule import document_hint, typical_gap


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
    articles = normalize_feed(parsed, feed, url, now)
    dates = [a.published for a in articles if a.published is not None]
    return Digest(articles, document_hint(parsed.hints), typical_gap(dates))
