"""One feed, one pass. The chain, as the daemon and ``aggregator fetch`` both run it:

fetch(url, etag)                  -> FetchResult        (I/O, fetch/)
  | 304 or same bytes             -> not modified: bookkeeping only
parse(bytes)                      -> ParsedFeed         (pure, worker process)
normalize(entries, feed, now)     -> [Article]          (pure, worker process)
  | full_text: new articles only  -> page body           (crawl.py: fetch page, extract/page.py)
store.save(update, articles)      -> [Decision]         (dedupe + write, one transaction)
publish(store)                    -> post files, Atom   (after the feeds: render pending)
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TypeVar

from ..config import Config, FeedConfig
from ..edges.fetch import Fetcher
from ..edges.fetch.client import body_digest
from ..edges.hooks import run_on_change
from ..edges.store import Store
from ..errors import AggregatorError, DeferredError, FetchError, ParseError
from ..models import (
    Article,
    FeedState,
    FeedUpdate,
    FetchResult,
    Outcome,
    ParsedFeed,
    PassSummary,
)
from ..steps.digest import DEFAULT_READING, Digest, Reading, digest_document
from ..steps.extract.page import PageContent, extract_page
from ..steps.filters import Filters
from ..steps.parse import parse_document
from ..steps.schedule import Signals, next_check
from . import crawl
from .crawl import Crawler
from .discover import follow_page, looks_like_html
from .publish import BackgroundPublisher, PublishError, publish

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class FeedOutcome:
    """What one feed's pass did, for progress, logs and the summary."""

    name: str
    status: str  # ok, not_modified, failed, deferred
    counts: dict[Outcome, int] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    next_check_at: datetime | None = None
    schedule_reason: str | None = None
    filtered: int = 0  # entries the include / exclude rules turned away


@dataclass(frozen=True, slots=True)
class _Attempt:
    """How one fetch ended, before it is written."""

    status: str  # ok, not_modified, failed, deferred
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    result: FetchResult | None = None
    digest: Digest | None = None
    body_hash: str | None = None  # of a fresh, parsed document: the next pass compares it
    rules_hash: str | None = None  # the filters that document was read with


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
        self.fetcher = fetcher
        self.parser = parser
        self.clock = clock
        self.crawler = Crawler(fetcher, self._extract_page)

    async def process_feed(self, feed: FeedConfig, state: FeedState) -> FeedOutcome:
        started = time.monotonic()
        now = self.clock()
        attempt = await self._attempt(feed, state, now)
        update = self._update(feed, state, now, attempt)
        articles = attempt.digest.articles if attempt.digest else []
        pages = crawl.MAX_PAGES if feed.full_text else 0
        if pages and articles:
            completed = await self._with_full_text(feed, state, articles, pages)
            articles, pages = completed.articles, pages - completed.requested
            update = replace(update, pages_wanted=completed.wanted)
        decisions = await self.store.save(update, articles)
        if pages > 0:
            # Whatever the feed answered: pages an earlier pass left wait for no new entry.
            await self._queued_pages(feed, state, now, pages)
        outcome = FeedOutcome(
            feed.name,
            attempt.status,
            error=attempt.error,
            next_check_at=update.next_check_at,
            schedule_reason=update.schedule_reason,
            filtered=attempt.digest.filtered if attempt.digest else 0,
        )
        for d in decisions:
            outcome.counts[d.outcome] = outcome.counts.get(d.outcome, 0) + 1
        outcome.seconds = time.monotonic() - started
        _log_outcome(outcome)
        return outcome

    async def _attempt(self, feed: FeedConfig, state: FeedState, now: datetime) -> _Attempt:
        filters = Filters.for_feed(self.config, feed)
        # Changed rules apply from this pass: the document is read again even if unchanged.
        rules_hash = filters.fingerprint()
        rules_changed = rules_hash != state.rules_hash
        etag, last_modified = (None, None) if rules_changed else (state.etag, state.last_modified)
        try:
            result = await self.fetcher.fetch_feed(state.url, feed, etag, last_modified)
            # By its bytes, not its Content-Type: feeds are often served as text/html, and a
            # broken one is better reported as such than as "a page without a feed".
            if result.body is not None and looks_like_html(result.body, content_type=""):
                result = await self._discovered(feed, state, result)
        except DeferredError as e:
            return _Attempt("deferred", e.status, str(e), retry_after=e.retry_after)
        except FetchError as e:
            return _Attempt("failed", e.status, str(e), retry_after=e.retry_after)
        body_hash = body_digest(result.body) if result.body is not None else None
        if body_hash is None or (body_hash == state.body_hash and not rules_changed):
            return _Attempt("not_modified", result.status, result=result)
        try:
            reading = Reading(
                filters, self._backlog(feed, state), self.config.output.allow_data_images
            )
            digest = await self.parser.run(result, feed, now, reading)
        except ParseError as e:
            return _Attempt("failed", result.status, str(e), result=result)
        return _Attempt(
            "ok",
            result.status,
            result=result,
            digest=digest,
            body_hash=body_hash,
            rules_hash=rules_hash,
        )

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
        decisions = await self.store.preview(state.id, articles)
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
        self, feed: FeedConfig, state: FeedState, now: datetime, attempt: _Attempt
    ) -> FeedUpdate:
        result, digest = attempt.result, attempt.digest
        failures = state.error_count + 1 if attempt.status == "failed" else 0
        signals = Signals(
            entry_gap=(digest.entry_gap if digest else None) or state.entry_gap,
            document_hint=(digest.document_hint if digest else None) or state.document_hint,
            cache_control=result.cache_control if result else None,
            expires=result.expires if result else None,
            retry_after=attempt.retry_after,
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
        return FeedUpdate(
            feed_id=state.id,
            now=now,
            status=attempt.status,
            http_status=attempt.http_status,
            error=attempt.error,
            url=result.permanent_url if result else None,
            url_via=_url_via(result),
            etag=result.etag if result else None,
            last_modified=result.last_modified if result else None,
            body_hash=attempt.body_hash,
            next_check_at=plan.at,
            check_interval=plan.interval,
            schedule_reason=plan.reason,
            entry_gap=digest.entry_gap if digest else None,
            document_hint=digest.document_hint if digest else None,
            disable=self._disable(attempt, failures),
            rules_hash=attempt.rules_hash,
            filtered=digest.filtered if digest else None,
            skipped=digest.skipped if digest else (),
        )

    def _disable(self, attempt: _Attempt, failures: int) -> str | None:
        """410 Gone disables at once; so do max_failures consecutive failures (0 = never)."""
        if attempt.http_status == 410:
            return "gone"
        limit = self.config.schedule.max_failures
        return "failures" if limit and failures >= limit else None


def _url_via(result: FetchResult | None) -> str | None:
    if result is None or result.permanent_url is None:
        return None
    return "page" if result.followed_page else "redirect"


def _log_outcome(o: FeedOutcome) -> None:
    log.log(
        logging.WARNING if o.status == "failed" else logging.INFO,
        "fetched feed=%r status=%s new=%d updated=%d duplicate=%d filtered=%d seconds=%.2f "
        "next_check=%s reason=%r%s",
        o.name,
        o.status,
        o.counts.get(Outcome.NEW, 0),
        o.counts.get(Outcome.UPDATED, 0),
        o.counts.get(Outcome.DUPLICATE, 0),
        o.filtered,
        o.seconds,
        o.next_check_at.isoformat() if o.next_check_at else "-",
        o.schedule_reason,
        f" error={o.error!r}" if o.error else "",
    )


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C and SIGTERM to the main process, which shuts the pool down; when
    the main process dies without doing so (SIGKILL), they exit instead of lingering."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(parent_sentinel: int) -> None:
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(1)


def _stop_resource_tracker() -> None:
    """The spawn pool's semaphores start multiprocessing's resource tracker, a process of its
    own that exits only when it reads EOF on its pipe, that is after this process has exited:
    `aggregator fetch` returned while it was still there (FACTS.md). CPython 3.11 has no public
    way to stop it; ``ResourceTracker._stop()`` (what CPython's own tests call) closes the pipe
    and waits for the process. First the pool's queues are collected, so that their semaphores
    unregister with the running tracker: an unregister after the stop would start a new one."""
    from multiprocessing import resource_tracker

    gc.collect()
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    stop = getattr(tracker, "_stop", None)
    if callable(stop):
        stop()


class ParserPool:
    """Worker processes for parse + normalize (CPU-bound), started on first use. ``close``
    leaves no process behind: the workers are joined, and with the last pool the resource
    tracker goes too."""

    _open = 0  # pools of this process with live workers

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._executor: Executor | None = None

    def _pool(self) -> Executor:
        if self._executor is None:
            # spawn: fresh, small workers that import only the pure steps (a forkserver would
            # cost one more resident process; fork would copy a threaded event loop).
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_ignore_interrupts
            )
            ParserPool._open += 1
        return self._executor

    async def run(
        self,
        result: FetchResult,
        feed: FeedConfig,
        now: datetime,
        reading: Reading = DEFAULT_READING,
    ) -> Digest:
        """A fetched feed document -> its articles (parse, normalize, filter)."""
        assert result.body is not None
        args = (result.body, result.url, result.content_type, feed, now, reading)
        return await self._submit(result.url, digest_document, *args)

    async def parse(self, body: bytes, url: str, content_type: str) -> ParsedFeed:
        """A document parsed, nothing more (feed discovery's candidates)."""
        return await self._submit(url, parse_document, body, url, content_type)

    async def extract(
        self, page: FetchResult, feed: FeedConfig, allow_data_images: bool = False
    ) -> PageContent | None:
        """An article page's body."""
        assert page.body is not None
        selectors = (feed.content_selector, feed.remove_selectors)
        args = (page.body, page.url, page.content_type, *selectors, allow_data_images)
        try:
            return await self._submit(page.url, extract_page, *args)
        except ParseError:
            raise
        except Exception as e:
            # Third-party extractors raise what they raise; the feed's content is kept.
            raise ParseError(page.url, f"extraction failed: {type(e).__name__}: {e}") from None

    async def _submit(self, url: str, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` in a worker process; ParseError (naming ``url``) when it fails as
        expected or when the worker dies."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), work, *args)
        except ParseError as e:
            # concurrent.futures attaches the worker's traceback as the cause, which the
            # message would then carry: the error is the message alone.
            raise ParseError(e.subject, e.message) from None
        except BrokenProcessPool:
            self.close()  # a worker died (killed, out of memory): start afresh next time
            raise ParseError(url, "the worker process died on this document") from None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
            ParserPool._open -= 1
            if ParserPool._open == 0:
                _stop_resource_tracker()

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def run_pass(
    config: Config,
    store: Store,
    feeds: Sequence[FeedConfig],
    on_feed_done: Callable[[FeedOutcome], None] | None = None,
    clock: Clock = utcnow,
) -> PassSummary:
    """One pass over ``feeds`` (the one-shot CLI): every feed once, then publish."""
    started = time.monotonic()
    summary = PassSummary()
    states = await store.sync_feeds(config.feeds)
    queue: asyncio.Queue[FeedConfig] = asyncio.Queue()
    for feed in feeds:
        queue.put_nowait(feed)

    # On PostgreSQL another worker may be the publisher: then posts stay pending for it.
    leading = await store.lead_publisher()
    publisher = BackgroundPublisher(store, config.output) if leading else None
    with ParserPool() as parser:
        async with Fetcher(config.fetch, trusted=[f.url for f in config.feeds]) as fetcher:
            pipeline = Pipeline(config, store, fetcher, parser, clock)

            async def worker() -> None:
                while not queue.empty():
                    feed = queue.get_nowait()
                    outcome = await _guarded(pipeline, feed, states[feed.name])
                    _add(summary, outcome)
                    changed = outcome.counts.get(Outcome.NEW) or outcome.counts.get(Outcome.UPDATED)
                    if changed and publisher:
                        publisher.notify()
                    if on_feed_done:
                        on_feed_done(outcome)

            workers = min(config.fetch.concurrency, max(1, len(feeds)))
            try:
                await asyncio.gather(*(worker() for _ in range(workers)))
            finally:
                if publisher:
                    await publisher.close()
    if publisher:
        changes = publisher.changes
        try:
            changes.merge(await publish(store, config.output))
        except PublishError as e:
            # Every output that could be written was; the feeds' results are stored and the
            # posts stay pending. The summary is still due, then exit 4 (cli/fetching.py).
            changes.merge(e.changes)
            summary.output_error = str(e)
        # Once for the pass: the posts written while feeds were fetched and the closing round.
        changes.log()
        if not summary.output_error:
            await run_on_change(config.output, changes)
    else:
        log.warning("another worker holds the publisher lock: it writes the posts and feeds")
    summary.seconds = time.monotonic() - started
    return summary


async def _guarded(pipeline: Pipeline, feed: FeedConfig, state: FeedState) -> FeedOutcome:
    """Expected failures are recorded per feed inside the pipeline; a store or output failure
    stops the pass (exit 4). Anything else is a bug: logged loudly, the other feeds go on, and
    the command exits 3."""
    try:
        return await pipeline.process_feed(feed, state)
    except (FetchError, ParseError) as e:
        return FeedOutcome(feed.name, "failed", error=str(e))
    except AggregatorError:
        raise
    except Exception as e:
        log.critical("bug while processing feed %s", feed.name, exc_info=True)
        return FeedOutcome(feed.name, "bug", error=f"internal error: {type(e).__name__}: {e}")


def _add(summary: PassSummary, outcome: FeedOutcome) -> None:
    if outcome.status == "ok":
        summary.feeds_ok += 1
    elif outcome.status == "not_modified":
        summary.feeds_not_modified += 1
    elif outcome.status == "deferred":
        summary.feeds_deferred += 1
    else:
        summary.bugs += outcome.status == "bug"
        summary.feeds_failed += 1
        summary.failures.append((outcome.name, outcome.error or "failed"))
    summary.new += outcome.counts.get(Outcome.NEW, 0)
    summary.updated += outcome.counts.get(Outcome.UPDATED, 0)
    summary.duplicate += outcome.counts.get(Outcome.DUPLICATE, 0)
    summary.filtered += outcome.filtered
    summary.unchanged += outcome.counts.get(Outcome.UNCHANGED, 0) + outcome.counts.get(
        Outcome.ALIAS, 0
    )
