"""One feed, one pass. The chain, as the daemon and ``aggregator fetch`` both run it:

fetch(url, etag)                  -> FetchResult        (I/O, fetch/)
  | 304 or same bytes             -> not modified: bookkeeping only
parse(bytes)                      -> ParsedFeed         (pure, worker process)
normalize(entries, feed, now)     -> [Article]          (pure, worker process)
store.save(update, articles)      -> [Decision]         (dedupe + write, one transaction)
publish(store)                    -> post files, Atom   (after the feeds: render pending)
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .config import Config, FeedConfig
from .errors import AggregatorError, DeferredError, FetchError, ParseError
from .fetch import Fetcher
from .fetch.client import body_digest
from .models import Article, FeedState, FeedUpdate, FetchResult, Outcome, PassSummary
from .normalize import normalize_feed
from .parse import parse_document
from .publish import publish
from .schedule import next_check
from .store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(slots=True)
class FeedOutcome:
    """What one feed's pass did, for progress, logs and the summary."""

    name: str
    status: str  # ok, not_modified, failed, deferred
    counts: dict[Outcome, int] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


def parse_and_normalize(
    body: bytes, url: str, content_type: str, feed: FeedConfig, now: datetime
) -> list[Article]:
    """The CPU-bound part, run in a worker process: bytes -> articles."""
    parsed = parse_document(body, url, content_type)
    return normalize_feed(parsed, feed, url, now)


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

    async def process_feed(self, feed: FeedConfig, state: FeedState) -> FeedOutcome:
        started = time.monotonic()
        now = self.clock()
        outcome = await self._process(feed, state, now)
        outcome.seconds = time.monotonic() - started
        log.info(
            "fetched feed=%s status=%s new=%d updated=%d duplicate=%d seconds=%.2f%s",
            feed.name,
            outcome.status,
            outcome.counts.get(Outcome.NEW, 0),
            outcome.counts.get(Outcome.UPDATED, 0),
            outcome.counts.get(Outcome.DUPLICATE, 0),
            outcome.seconds,
            f" error={outcome.error!r}" if outcome.error else "",
        )
        return outcome

    async def _process(self, feed: FeedConfig, state: FeedState, now: datetime) -> FeedOutcome:
        try:
            result = await self.fetcher.fetch_feed(state.url, feed, state.etag, state.last_modified)
        except DeferredError as e:
            wait = timedelta(seconds=min(e.retry_after or 0, 86400))
            return await self._record(
                feed, state, now, "deferred", str(e), e.status, next_at=now + wait
            )
        except FetchError as e:
            return await self._record(feed, state, now, "failed", str(e), e.status)
        digest = body_digest(result.body) if result.body is not None else None
        if result.not_modified or digest == state.body_hash:
            return await self._record(
                feed, state, now, "not_modified", None, result.status, url=result.permanent_url
            )
        assert result.body is not None
        try:
            articles = await self.parser.run(result, feed, now)
        except ParseError as e:
            return await self._record(feed, state, now, "failed", str(e), result.status)
        update = self._update(state, now, "ok", result.status, None, result, digest)
        decisions = await self.store.save(update, articles)
        counts = {o: 0 for o in Outcome}
        for d in decisions:
            counts[d.outcome] += 1
        return FeedOutcome(feed.name, "ok", counts)

    async def _record(
        self,
        feed: FeedConfig,
        state: FeedState,
        now: datetime,
        status: str,
        error: str | None,
        http_status: int | None,
        *,
        url: str | None = None,
        next_at: datetime | None = None,
    ) -> FeedOutcome:
        update = FeedUpdate(
            feed_id=state.id,
            now=now,
            status=status,
            http_status=http_status,
            error=error,
            url=url,
            next_check_at=next_at or self._next_check(feed, state, now, status),
        )
        await self.store.save(update, ())
        return FeedOutcome(feed.name, status, error=error)

    def _update(
        self,
        state: FeedState,
        now: datetime,
        status: str,
        http_status: int,
        error: str | None,
        result: FetchResult,
        digest: str | None,
    ) -> FeedUpdate:
        return FeedUpdate(
            feed_id=state.id,
            now=now,
            status=status,
            http_status=http_status,
            error=error,
            url=result.permanent_url,
            etag=result.etag,
            last_modified=result.last_modified,
            body_hash=digest,
            next_check_at=self._next_check(self.config.feed(state.name), state, now, status),
        )

    def _next_check(
        self, feed: FeedConfig | None, state: FeedState, now: datetime, status: str
    ) -> datetime:
        interval = feed.interval if feed and feed.interval else None
        return next_check(
            now,
            self.config.schedule,
            interval=interval,
            failures=state.error_count + 1 if status == "failed" else 0,
        )


class ParserPool:
    """Worker processes for parse + normalize (CPU-bound), started on first use."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._executor: Executor | None = None

    def _pool(self) -> Executor:
        if self._executor is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._executor

    async def run(self, result: FetchResult, feed: FeedConfig, now: datetime) -> list[Article]:
        assert result.body is not None
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._pool(),
                parse_and_normalize,
                result.body,
                result.url,
                result.content_type,
                feed,
                now,
            )
        except BrokenProcessPool:
            self.close()  # a worker died (killed, out of memory): start afresh next time
            raise ParseError(result.url, "the parser process died on this document") from None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

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

    with ParserPool() as parser:
        async with Fetcher(config.fetch) as fetcher:
            pipeline = Pipeline(config, store, fetcher, parser, clock)

            async def worker() -> None:
                while not queue.empty():
                    feed = queue.get_nowait()
                    outcome = await _guarded(pipeline, feed, states[feed.name])
                    _add(summary, outcome)
                    if on_feed_done:
                        on_feed_done(outcome)

            workers = min(config.fetch.concurrency, max(1, len(feeds)))
            await asyncio.gather(*(worker() for _ in range(workers)))
    await publish(store, config.output)
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
    summary.unchanged += outcome.counts.get(Outcome.UNCHANGED, 0) + outcome.counts.get(
        Outcome.ALIAS, 0
    )
