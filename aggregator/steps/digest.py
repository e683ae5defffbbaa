"""Pure: one fetched document -> the articles a feed keeps, and the feed's rhythm. The
CPU-bound step, run in worker processes; this module imports only the pure steps, so workers
stay small."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ..config import FeedConfig
from ..models import Article, ParsedEntry, ParsedFeed
from .filters import NO_FILTERS, Filters, newest
from .normalize import normalize_document
from .parse import parse_document
from .schedule import document_hint, typical_gap

# Entries taken from one document, the newest: a feed of 100,000 items would otherwise cost
# minutes of normalizing, and as many rows and post files, in a single pass.
MAX_ENTRIES = 1000


@dataclass(frozen=True, slots=True)
class Digest:
    """What the worker process returns for one document."""

    articles: list[Article]  # to store: filtered, and cut to the backlog on a first fetch
    document_hint: float | None  # seconds asked by <ttl> / sy:update*
    entry_gap: float | None  # typical seconds between entries
    filtered: int = 0  # entries the include / exclude rules turned away
    skipped: tuple[tuple[str, str], ...] = ()  # (entry key, article id) beyond the backlog
    # (entry digest, entry key) of the entries read before exactly as now (Reading.known):
    # unchanged, not normalized again
    known: tuple[tuple[str, str], ...] = ()

    @property
    def read_entries(self) -> tuple[tuple[str, str], ...]:
        """(entry digest, entry key) of every entry this document was read into: what the
        next read of the feed need not normalize again (``Reading.known``)."""
        return tuple((a.entry_digest, a.entry_key) for a in self.articles) + self.known


@dataclass(frozen=True, slots=True)
class Reading:
    """How a feed's document is read beyond the feed's own settings: the rules it keeps
    entries by, the backlog of a first fetch (0 = all), whether inline data:image URLs stay,
    the minimum tokens of a text signed for near-duplicates (0: none; [dedupe]), and what the
    feed's last document, read with the same rules, was read into (entry digest -> entry
    key: the store's ``read_entries``): those entries are not normalized again."""

    filters: Filters = NO_FILTERS
    backlog: int = 0
    allow_data_images: bool = False
    sign_min_tokens: int = 0
    known: Mapping[str, str] = field(default_factory=dict)


DEFAULT_READING = Reading()


def digest_document(
    body: bytes,
    url: str,
    content_type: str,
    feed: FeedConfig,
    now: datetime,
    reading: Reading = DEFAULT_READING,
) -> Digest:
    """The CPU-bound part, run in a worker process: bytes -> articles and rhythm."""
    return digest_parsed(parse_document(body, url, content_type), url, feed, now, reading)


def digest_parsed(
    parsed: ParsedFeed,
    url: str,
    feed: FeedConfig,
    now: datetime,
    reading: Reading = DEFAULT_READING,
) -> Digest:
    """A document already read (a feed, or a source's pages) -> articles and rhythm. A
    backlog keeps the newest entries; the older ones are remembered as seen, so that they do
    not come back as new on the next pass."""
    if len(parsed.entries) > MAX_ENTRIES:
        parsed = replace(parsed, entries=newest_entries(parsed.entries, MAX_ENTRIES))
    sign = reading.sign_min_tokens if feed.dedupe else 0
    normalized = normalize_document(
        parsed, feed, url, now, reading.allow_data_images, sign, reading.known
    )
    articles = normalized.articles
    dates = [a.published for a in articles if a.published is not None]
    dates += normalized.known_dates
    kept = [a for a in articles if reading.filters.admits(a, feed.categories)]
    skipped: tuple[tuple[str, str], ...] = ()
    backlog = reading.backlog
    if backlog and len(kept) > backlog:
        capped = newest(kept, backlog, _when)
        chosen = {a.id for a in capped}
        skipped = tuple((a.entry_key, a.id) for a in kept if a.id not in chosen)
        kept = capped
    return Digest(
        kept,
        document_hint(parsed.hints),
        typical_gap(dates),
        filtered=len(articles) - len(kept) - len(skipped),
        skipped=skipped,
        known=normalized.known,
    )


def newest_entries(entries: Sequence[ParsedEntry], limit: int) -> tuple[ParsedEntry, ...]:
    """The ``limit`` newest entries, in document order."""
    return tuple(newest(entries, limit, lambda e: e.published or e.updated))


def _when(article: Article) -> datetime | None:
    return article.published or article.updated
