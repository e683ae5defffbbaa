"""Typed records, named by the stage that produces them.

fetch -> FetchResult; parse -> ParsedFeed / ParsedEntry; normalize -> Article;
dedupe -> Decision; store <- FeedUpdate; store -> FeedState, StoredArticle, QueuedPage;
one feed's pass -> FeedOutcome (FeedStatus); a pass -> PassSummary; publishing -> Changes.
Nothing passes raw feedparser dicts or httpx responses past its own step.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What the fetch step got for one feed URL."""

    url: str  # the URL finally answered (after redirects)
    status: int  # HTTP status, or 200 / 304 for local files
    body: bytes | None  # None when not modified
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    cache_control: str | None = None
    expires: str | None = None
    permanent_url: str | None = None  # set when every redirect hop was permanent (301/308)
    followed_page: bool = False  # the configured URL was a web page declaring this feed

    @property
    def not_modified(self) -> bool:
        return self.body is None


@dataclass(frozen=True, slots=True)
class FeedHints:
    """What the publisher says about how often to look (used by the scheduler)."""

    ttl_minutes: int | None = None  # RSS <ttl>
    update_period: str | None = None  # sy:updatePeriod (hourly, daily, ...)
    update_frequency: int | None = None  # sy:updateFrequency


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One entry as the document said it, decoded but not yet normalized."""

    guid: str | None
    link: str | None
    title: str
    author: str | None
    content_html: str  # the richest body the entry had (content, else summary)
    base_url: str  # base for relative URLs in content_html (xml:base or the link)
    published: datetime | None  # UTC, as the document claimed (not yet sanity-checked)
    updated: datetime | None
    image_urls: tuple[str, ...] = ()  # media:thumbnail / media:content / image enclosures, in order
    tags: tuple[str, ...] = ()  # the entry's own categories (what category filters see)
    # The title is HTML (feedparser's title_detail.type): plain text keeps "a <b> c" literally.
    title_html: bool = True


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None
    entries: tuple[ParsedEntry, ...]
    hints: FeedHints = field(default_factory=FeedHints)
    warning: str | None = None  # a recoverable problem (bozo feed that still had entries)


@dataclass(frozen=True, slots=True)
class Article:
    """One normalized article, ready to be deduplicated and stored."""

    id: str  # UUID5 of (feed name, entry key): stable forever
    feed_name: str
    entry_key: str  # identity within the feed: guid:, link: or hash:
    canonical_url: str | None  # a per-article link (cross-feed dedupe); None: identifies nothing
    link: str | None
    title: str
    author: str | None
    content: str  # sanitized HTML, absolute URLs
    image: str | None
    published: datetime | None  # None when missing or absurd: first-seen is used instead
    updated: datetime | None
    fingerprint: str  # normalized title + text, for cross-feed dedupe
    content_hash: str  # what a change means: differs => update
    # Not stored, used on the way: the feed's own image (media:thumbnail / media:content /
    # enclosure), which a crawled page's og:image does not override; the entry's categories.
    media_image: str | None = None
    tags: tuple[str, ...] = ()
    # Near-duplicates across feeds (steps/similar.py), made in the worker when [dedupe]
    # near_duplicates and the feed's dedupe are on and the text has min_tokens: the band keys
    # of the entry's visible text (the store's lookup), and that text (the verification).
    signature: tuple[int, ...] = ()
    text: str = ""
    # The entry as read (normalize.entry_digest): the same digest in the feed's next document
    # is this very article again, which is not normalized again.
    entry_digest: str = ""


class FeedStatus(enum.StrEnum):
    """How one feed's pass ended (stored as the feed's last status, but ``BUG``)."""

    OK = "ok"  # a fresh document was read
    NOT_MODIFIED = "not_modified"  # 304, or the same bytes as last time
    FAILED = "failed"  # fetching or parsing failed (counts toward max_failures)
    DEFERRED = "deferred"  # Retry-After longer than max_retry_wait: not a failure
    BUG = "bug"  # an internal error: logged with its traceback, exit 3


class Outcome(enum.Enum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    ALIAS = "alias"  # a new entry key for an article this feed already has
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one incoming article. ``target`` is the stored article it maps to."""

    outcome: Outcome
    article: Article
    target: str  # id of the stored article (== article.id when NEW)
    new_key: bool = False  # the store must remember article.entry_key -> target
    fuller: bool = False  # a DUPLICATE whose text is fuller: the target takes its content
    # Stored articles of other feeds that a DUPLICATE shows to be its target's story (it copies
    # them, and they are copies of the story's text; alone they held too little of each
    # other's): they join the target, the first stored of them all (dedupe._joining,
    # Store.join_articles). ``text_from``: the one among them whose text the target takes.
    absorbs: tuple[str, ...] = ()
    text_from: str | None = None


@dataclass(frozen=True, slots=True)
class StoryJoin:
    """A stored article found to be another's story (``Decision.absorbs``): it joins
    ``into_id`` once its post file is removed."""

    article_id: str
    into_id: str
    post_path: str
    gives_text: bool = False  # into_id takes this article's content


@dataclass(frozen=True, slots=True)
class Match:
    """A stored article that an incoming one may be the same as."""

    article_id: str
    feed_name: str
    content_hash: str
    canonical_url: str | None
    fingerprint: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class KnownEntries:
    """What the store already knows about a batch of incoming articles (one feed)."""

    by_entry_key: dict[str, Match]  # this feed's entry keys -> the article they map to
    by_canonical_url: dict[str, list[Match]]
    by_fingerprint: dict[str, list[Match]]


@dataclass(frozen=True, slots=True)
class FeedState:
    """A feed's row in the store."""

    id: int
    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    error_count: int = 0
    last_fetch_at: datetime | None = None
    last_status: FeedStatus | None = None
    last_error: str | None = None
    next_check_at: datetime | None = None
    article_count: int = 0
    enabled: bool = True
    in_config: bool = True
    disabled_reason: str | None = None
    check_interval: float | None = None
    schedule_reason: str | None = None
    entry_gap: float | None = None
    document_hint: float | None = None
    rules_hash: str = ""  # the include/exclude rules the stored body hash was read with
    filtered: int = 0  # entries the rules turned away in the last document read
    config_url: str = ""  # as configured; ``url`` differs after a move or a followed page
    url_via: str | None = None  # how url came to differ: "redirect" or "page"
    pages_waiting: int = 0  # full_text pages queued for a later pass
    dedupe: bool = True  # from config: false, never merged with another feed's articles
    duplicates: int = 0  # entries of this feed merged into another feed's article


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """Everything one feed's pass writes, committed in one transaction."""

    feed_id: int
    now: datetime
    status: FeedStatus
    http_status: int | None = None
    error: str | None = None
    url: str | None = None  # new URL after a permanent redirect or a followed page
    url_via: str | None = None  # with url: "redirect" or "page"
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    next_check_at: datetime | None = None
    check_interval: float | None = None
    schedule_reason: str | None = None
    entry_gap: float | None = None  # None keeps the stored value
    document_hint: float | None = None  # None keeps the stored value
    disable: str | None = None  # gone, failures: the feed stops being scheduled
    rules_hash: str | None = None  # with a fresh document: the rules it was read with
    filtered: int | None = None  # with a fresh document: entries the rules turned away
    skipped: tuple[tuple[str, str], ...] = ()  # (entry key, article id) seen but not stored
    # full_text pages not fetched in this pass (past the page cap, or a transient failure):
    # (entry key, attempts so far); the store queues the articles those keys decide.
    pages_wanted: tuple[tuple[str, int], ...] = ()
    # with a fresh document: (entry digest, entry key) of the entries it was read into
    read_entries: tuple[tuple[str, str], ...] | None = None

    @property
    def keep_validators(self) -> bool:
        """Only a fresh, parsed document replaces the stored ETag / Last-Modified / body hash."""
        return self.status != FeedStatus.OK


@dataclass(frozen=True, slots=True)
class QueuedPage:
    """An article whose full-text page is still to be fetched (a full_text feed)."""

    article_id: str
    url: str
    media_image: str | None  # the feed's own image, which a page's og:image does not override
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class PageResult:
    """What fetching a queued page gave: new content and image, or nothing (then ``retry``
    keeps it queued for a later pass)."""

    article_id: str
    content: str | None = None
    image: str | None = None
    retry: bool = False


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as the renderers read it back from the store."""

    id: str
    feed_name: str
    feed_url: str
    link: str | None
    title: str
    author: str | None
    content: str
    image: str | None
    published: datetime  # the claimed date, else first-seen
    updated: datetime
    post_path: str  # file name inside posts_dir
    categories: tuple[str, ...]  # from the feed's config
    post_author: str  # the feed's ``author`` key, else its name
    content_hash: str = ""
    revision: int = 0  # changes of content that keep the hash (a fetched page, a fuller copy)


@dataclass(slots=True)
class FeedOutcome:
    """What one feed's pass did, for progress, logs, metrics and the summary."""

    name: str
    status: FeedStatus
    counts: dict[Outcome, int] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    next_check_at: datetime | None = None
    schedule_reason: str | None = None
    filtered: int = 0  # entries the include / exclude rules turned away
    skipped_items: int = 0  # a source's items without a title or a link (not stored)

    def count(self, outcome: Outcome) -> int:
        return self.counts.get(outcome, 0)


@dataclass(slots=True)
class Changes:
    """What publishing changed on disk: the manifest ``on_change`` commands get on stdin, so a
    search index or a site can follow updates and deletions, not only additions. Posts written
    are counted; their (article id, post file) pairs are kept only when ``listed`` (an
    on_change command will read them): a first pass's 38,000 posts held ~6 MB to its end."""

    added: list[tuple[str, str]] = field(default_factory=list)  # (article id, post file)
    updated: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    feeds_changed: bool = False  # the Atom document or the JSON Feed
    added_count: int = 0
    updated_count: int = 0
    listed: bool = True

    def __bool__(self) -> bool:
        return bool(self.added_count or self.updated_count or self.removed or self.feeds_changed)

    def wrote(
        self, created: Sequence[str], replaced: Sequence[str], ids: Mapping[str, str]
    ) -> None:
        """Post files created and rewritten; ``ids`` maps each file to its article id."""

        def pairs(names: Sequence[str]) -> list[tuple[str, str]]:
            return [(ids[name], name) for name in names] if self.listed else []

        self._count(len(created), len(replaced), pairs(created), pairs(replaced))

    def merge(self, other: Changes) -> None:
        self._count(other.added_count, other.updated_count, other.added, other.updated)
        self.removed += other.removed
        self.feeds_changed |= other.feeds_changed

    def _count(
        self,
        added_count: int,
        updated_count: int,
        added: list[tuple[str, str]],
        updated: list[tuple[str, str]],
    ) -> None:
        self.added_count += added_count
        self.updated_count += updated_count
        if self.listed:
            self.added += added
            self.updated += updated


@dataclass(slots=True)
class PassSummary:
    """Counts for the closing summary and ``fetch --json``."""

    feeds_ok: int = 0
    feeds_failed: int = 0
    feeds_not_modified: int = 0
    feeds_deferred: int = 0
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    unchanged: int = 0
    filtered: int = 0  # entries the include / exclude rules turned away
    seconds: float = 0.0
    bugs: int = 0  # feeds that hit an internal error (exit 3)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (feed name, error)
    output_error: str | None = None  # outputs that could not be written (exit 4)

    def add(self, outcome: FeedOutcome) -> None:
        """Count one feed's pass."""
        if outcome.status is FeedStatus.OK:
            self.feeds_ok += 1
        elif outcome.status is FeedStatus.NOT_MODIFIED:
            self.feeds_not_modified += 1
        elif outcome.status is FeedStatus.DEFERRED:
            self.feeds_deferred += 1
        else:
            self.bugs += outcome.status is FeedStatus.BUG
            self.feeds_failed += 1
            self.failures.append((outcome.name, outcome.error or "failed"))
        self.new += outcome.count(Outcome.NEW)
        self.updated += outcome.count(Outcome.UPDATED)
        self.duplicate += outcome.count(Outcome.DUPLICATE)
        self.unchanged += outcome.count(Outcome.UNCHANGED) + outcome.count(Outcome.ALIAS)
        self.filtered += outcome.filtered
