"""One feed, one pass: the chain the daemon and ``aggregator fetch`` both run.

fetch(url, etag)                  -> FetchResult        (I/O, edges/fetch/)
  | 304 or same bytes             -> Unchanged: bookkeeping only
  | a web page                    -> the feed it declares (run/discover.py)
  | source = "html" / "json"      -> its pages read, `next_page` followed (run/sources.py)
digest(bytes)                     -> [Article]          (parse, normalize, filter: run/pool.py)
  | full_text: new articles only  -> page bodies         (run/crawl.py)
store.save(update, articles)      -> [Decision]         (dedupe + write, one transaction)
  | full_text                     -> pages queued by earlier passes

How a fetch ends is one of four records (Read, Unchanged, Failed, Deferred); ``_update`` turns
it into the FeedUpdate the store writes with the articles.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import ClassVar

from ..config import Config, FeedConfig
from ..edges.fetch import Fetcher
from ..edges.fetch.client import body_digest
from ..edges.store import Store
from ..errors import DeferredError, FetchError, ParseError
from ..models import (
    Article,
    FeedOutcome,
    FeedState,
    FeedStatus,
    FeedUpdate,
    FetchResult,
    Outcome,
)
from ..steps.dedupe import near_thresholds
from ..steps.digest import Digest, Reading
from ..steps.extract.page import PageContent
from ..steps.feedlinks import looks_like_html
from ..steps.filters import Filters
from ..steps.schedule import Signals, next_check
from ..steps.sourcepages import is_source, source_fingerprint
from . import crawl
from .bookkeeping import Bookkeeper
from .crawl import Crawler
from .discover import follow_page
from .pool import ParserPool
from .sources import read_source

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Read:
    """A fresh document, parsed: its articles and what the next pass compares it with."""

    status: ClassVar[FeedStatus] = FeedStatus.OK
    result: FetchResult
    digest: Digest
    body_hash: str
    rules_hash: str  # the include/exclude rules (and a source's selectors) it was read with
    skipped_items: int = 0  # a source's items without a title or a link


@dataclass(frozen=True, slots=True)
class Unchanged:
    """304, or the same bytes (and rules) as last time: nothing to parse."""

    status: ClassVar[FeedStatus] = FeedStatus.NOT_MODIFIED
    result: FetchResult


@dataclass(frozen=True, slots=True)
class Failed:
    """Fetching or parsing failed; ``result`` is the document that did not parse."""

    status: ClassVar[FeedStatus] = FeedStatus.FAILED
    error: str
    http_status: int | None
    retry_after: float | None = None
    result: FetchResult | None = None


@dataclass(frozen=True, slots=True)
class Deferred:
    """The server asked to come back later than max_retry_wait (not a failure)."""

    status: ClassVar[FeedStatus] = FeedStatus.DEFERRED
    error: str
    http_status: int | None
    retry_after: float | None


Attempt = Read | Unchanged | Failed | Deferred


class Pipeline:
    """Runs feeds through fetch -> parse -> normalize -> store. Owns no global state."""

    def __init__(
        self,
        config: Config,
        store: Store,
        fetcher: Fetcher,
        parser: ParserPool,
        clock: Clock = utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self.bookkeeping = Bookkeeper(store)
        self.fetcher = fetcher
        self.parser = parser
        self.clock = clock
        self.crawler = Crawler(fetcher, self._extract_page)
        # Documents between the parser and the store at once. When saving is the slower step
        # (a large store), parsed documents (~300 KB each) waited there by the fetch
        # concurrency: 32 at once, +18 MB for the main process in pass 1 of 8,000 feeds.
        self._reading = asyncio.Semaphore(2 * parser.workers + 2)

    async def close(self) -> None:
        """Write the bookkeeping still waiting for its batch."""
        await self.bookkeeping.close()

    async def process_feed(self, feed: FeedConfig, state: FeedState) -> FeedOutcome:
        async with AsyncExitStack() as held:  # a reading slot, once the document is fetched
            return await self._process(feed, state, held)

    async def _process(
        self, feed: FeedConfig, state: FeedState, held: AsyncExitStack
    ) -> FeedOutcome:
        started = time.monotonic()
        now = self.clock()
        attempt = await self._attempt(feed, state, now, held)
        update = self._update(feed, state, now, attempt)
        articles = attempt.digest.articles if isinstance(attempt, Read) else []
        pages = crawl.MAX_PAGES if feed.full_text else 0
        if pages and articles:
            completed = await self._with_full_text(feed, state, articles, pages)
            articles, pages = completed.articles, pages - completed.requested
            update = replace(update, pages_wanted=completed.wanted)
        if isinstance(attempt, Read):
            near = near_thresholds(self.config.dedupe)
            decisions = await self.store.save(update, articles, near)
        else:  # nothing to store: the feed's bookkeeping waits for a batch
            decisions = []
            await self.bookkeeping.record(update)
        if pages > 0:
            # Whatever the feed answered: pages an earlier pass left wait for no new entry.
            await self._queued_pages(feed, state, now, pages)
        outcome = FeedOutcome(
            feed.name,
            attempt.status,
            error=update.error,
            next_check_at=update.next_check_at,
            schedule_reason=update.schedule_reason,
            filtered=update.filtered or 0,
            skipped_items=attempt.skipped_items if isinstance(attempt, Read) else 0,
        )
        for d in decisions:
            outcome.counts[d.outcome] = outcome.counts.get(d.outcome, 0) + 1
        if isinstance(attempt, Read) and attempt.digest.known:  # unchanged, not normalized
            known = len(attempt.digest.known)
            outcome.counts[Outcome.UNCHANGED] = outcome.counts.get(Outcome.UNCHANGED, 0) + known
        outcome.seconds = time.monotonic() - started
        _log_outcome(outcome)
        return outcome

    async def _attempt(
        self, feed: FeedConfig, state: FeedState, now: datetime, held: AsyncExitStack
    ) -> Attempt:
        """Fetch, then read what is new; ``held`` takes a reading slot for it."""
        filters = Filters.for_feed(self.config, feed)
        # Changed rules (or selectors) apply from this pass: the document is read again even
        # if unchanged.
        rules_hash = filters.fingerprint() + source_fingerprint(feed)
        rules_changed = rules_hash != state.rules_hash
        etag, last_modified = (None, None) if rules_changed else (state.etag, state.last_modified)
        try:
            result = await self.fetcher.fetch_feed(state.url, feed, etag, last_modified)
            # By its bytes, not its Content-Type: feeds are often served as text/html, and a
            # broken one is better reported as such than as "a page without a feed".
            html = result.body is not None and looks_like_html(result.body, content_type="")
            if html and not is_source(feed):
                result = await self._discovered(feed, state, result)
        except DeferredError as e:
            return Deferred(str(e), e.status, e.retry_after)
        except FetchError as e:
            return Failed(str(e), e.status, e.retry_after)
        body_hash = body_digest(result.body) if result.body is not None else None
        if body_hash is None or (body_hash == state.body_hash and not rules_changed):
            return Unchanged(result)
        # What the last document was read into, if it was read with these rules: its
        # entries that come again unchanged are not normalized again.
        known = (
            await self.store.read_entries(state.id) if state.body_hash and not rules_changed else {}
        )
        reading = Reading(
            filters,
            self._backlog(feed, state),
            self.config.output.allow_data_images,
            _sign_min_tokens(self.config),
            known,
        )
        try:
            if not is_source(feed):
                await self._take_reading_slot(feed, held)
                digest = await self.parser.run(result, feed, now, reading)
                return Read(result, digest, body_hash, rules_hash)
            read = await read_source(
                self.fetcher, self.parser.read_page, feed, result, now, state.url
            )
            await self._take_reading_slot(feed, held)
            digest = await self.parser.digest(read.document, result.url, feed, now, reading)
        except ParseError as e:
            return Failed(str(e), result.status, result=result)
        return Read(result, digest, body_hash, rules_hash, read.skipped)

    async def _take_reading_slot(self, feed: FeedConfig, held: AsyncExitStack) -> None:
        """Before the parser gets a document; kept until the feed is done. Not for a
        full-text feed: its pages are fetched between reading and storing, and a slow site
        would hold the slot while every other feed waited for one."""
        if not feed.full_text:
            await held.enter_async_context(self._reading)

    async def _discovered(
        self, feed: FeedConfig, state: FeedState, page: FetchResult
    ) -> FetchResult:
        """A configured URL that answers with a web page: the feed the page links to,
        remembered as the feed's URL (like a permanent redirect), so the next pass goes there
        directly. Raises DiscoveryError (a FetchError) naming what was tried."""
        found = await follow_page(
            self.fetcher, state.url, page, feed, self.parser.parse, guess=False
        )
        assert found.result is not None
        # Once: the feed's URL is remembered, and the next pass goes to the feed directly.
        log.warning(
            "feed %r: %s is a web page; following the feed it declares, %s "
            "(kept as the feed's URL: `aggregator feeds` shows it)",
            feed.name,
            state.url,
            found.url,
        )
        return replace(found.result, permanent_url=found.url, followed_page=True)

    def _backlog(self, feed: FeedConfig, state: FeedState) -> int:
        """The cap on a first read of the feed (0 = none); later reads keep every entry."""
        if state.body_hash is not None:
            return 0
        return feed.backlog if feed.backlog is not None else self.config.fetch.backlog

    async def _extract_page(self, page: FetchResult, feed: FeedConfig) -> PageContent | None:
        # self.config, not a copy: a reloaded config applies to the next page.
        return await self.parser.extract(page, feed, self.config.output.allow_data_images)

    async def _with_full_text(
        self, feed: FeedConfig, state: FeedState, articles: list[Article], pages: int
    ) -> crawl.Completed:
        """Pages are fetched for articles the store would add or update, nothing else: an
        unchanged entry or another feed's duplicate costs no request."""
        near = near_thresholds(self.config.dedupe)
        decisions = await self.store.preview(state.id, articles, near)
        wanted = [d.article for d in decisions if d.outcome in (Outcome.NEW, Outcome.UPDATED)]
        completed = await self.crawler.complete(feed, wanted, pages)
        crawled = {a.id: a for a in completed.articles}
        return replace(completed, articles=[crawled.get(a.id, a) for a in articles])

    async def _queued_pages(
        self, feed: FeedConfig, state: FeedState, now: datetime, pages: int
    ) -> None:
        """Up to ``pages`` pages queued by earlier passes (not this one's: a transient failure
        waits for the next pass)."""
        queued = await self.store.queued_pages(state.id, pages, before=now)
        if not queued:
            return
        results = await self.crawler.complete_queued(feed, queued)
        await self.store.finish_pages(self.clock(), results)
        log.info(
            "full text feed=%r: %d of %d queued pages fetched",
            feed.name,
            sum(1 for r in results if r.content),
            len(queued),
        )

    def _update(
        self, feed: FeedConfig, state: FeedState, now: datetime, attempt: Attempt
    ) -> FeedUpdate:
        failures = state.error_count + 1 if isinstance(attempt, Failed) else 0
        digest = attempt.digest if isinstance(attempt, Read) else None
        result = None if isinstance(attempt, Deferred) else attempt.result
        retry_after = attempt.retry_after if isinstance(attempt, Failed | Deferred) else None
        signals = Signals(
            entry_gap=(digest.entry_gap if digest else None) or state.entry_gap,
            document_hint=(digest.document_hint if digest else None) or state.document_hint,
            cache_control=result.cache_control if result else None,
            expires=result.expires if result else None,
            retry_after=retry_after,
            failures=failures,
        )
        # From now, after the reply: a Retry-After counts from when it was received.
        plan = next_check(
            self.clock(),
            self.config.schedule,
            signals,
            interval=feed.interval,
            adaptive=feed.adaptive,
        )
        update = FeedUpdate(
            feed_id=state.id,
            now=now,
            status=attempt.status,
            next_check_at=plan.at,
            check_interval=plan.interval,
            schedule_reason=plan.reason,
        )
        if result is not None:
            update = replace(
                update,
                http_status=result.status,
                url=result.permanent_url,
                url_via=_url_via(result),
                etag=result.etag,
                last_modified=result.last_modified,
            )
        if isinstance(attempt, Failed | Deferred):
            update = replace(update, http_status=attempt.http_status, error=attempt.error)
        if isinstance(attempt, Read):
            update = replace(
                update,
                body_hash=attempt.body_hash,
                rules_hash=attempt.rules_hash,
                entry_gap=attempt.digest.entry_gap,
                document_hint=attempt.digest.document_hint,
                filtered=attempt.digest.filtered,
                skipped=attempt.digest.skipped,
                read_entries=attempt.digest.read_entries,
            )
        return replace(update, disable=self._disable(update.http_status, failures))

    def _disable(self, http_status: int | None, failures: int) -> str | None:
        """410 Gone disables at once; so do max_failures consecutive failures (0 = never)."""
        if http_status == 410:
            return "gone"
        limit = self.config.schedule.max_failures
        return "failures" if limit and failures >= limit else None


def _sign_min_tokens(config: Config) -> int:
    """Texts the workers sign for near-duplicates: of at least min_tokens, when they are on."""
    return config.dedupe.min_tokens if config.dedupe.near_duplicates else 0


def _url_via(result: FetchResult) -> str | None:
    if result.permanent_url is None:
        return None
    return "page" if result.followed_page else "redirect"


def _log_outcome(o: FeedOutcome) -> None:
    log.log(
        logging.WARNING if o.status is FeedStatus.FAILED else logging.INFO,
        "fetched feed=%r status=%s new=%d updated=%d duplicate=%d filtered=%d seconds=%.2f "
        "next_check=%s reason=%r%s%s",
        o.name,
        o.status,
        o.count(Outcome.NEW),
        o.count(Outcome.UPDATED),
        o.count(Outcome.DUPLICATE),
        o.filtered,
        o.seconds,
        o.next_check_at.isoformat() if o.next_check_at else "-",
        o.schedule_reason,
        f" skipped_items={o.skipped_items}" if o.skipped_items else "",
        f" error={o.error!r}" if o.error else "",
    )
