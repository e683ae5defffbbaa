"""``aggregator run``: the schedule lives in the database; an APScheduler tick claims due feeds
into a bounded pool running the same per-feed pipeline as ``aggregator fetch``.

Jobs: tick (claim due feeds), publish (pending posts every tick; retention and the Atom
document at most every atom_every), maintenance (hourly: missing posts re-created, WAL
checkpoint, PRAGMA optimize).
SIGTERM/SIGINT stop claiming and let in-flight feeds finish within [daemon] grace; a second
signal exits at once. SIGHUP reloads config.toml.

On SQLite one daemon owns the database (a file lock). On PostgreSQL several daemons share it:
each claims due feeds with leases, and the one holding the publisher lock
(``store.lead_publisher``) writes posts, the Atom document and runs on_change; when it dies,
another takes the lock over and repairs what was left half done.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from ..config import Config, FeedConfig, load_config
from ..edges.fetch import Fetcher
from ..edges.hooks import run_on_change
from ..edges.store import Store, open_store
from ..errors import AggregatorError
from ..models import Changes, FeedState
from ..steps.text import counted
from .feed import Pipeline, utcnow
from .health import HealthServer, Metrics
from .logs import redact_secrets_of
from .pool import ParserPool
from .publish import (
    log_changes,
    new_changes,
    publish,
    publish_feeds,
    publish_posts,
    remove_articles,
)

log = logging.getLogger(__name__)

FIRST_FETCH_SPREAD = 30.0  # seconds over which never-fetched feeds are spread
MAINTENANCE_EVERY = 3600.0


async def run_daemon(config: Config) -> int:
    """``aggregator run``: open the store (one daemon per SQLite database), the parser pool and
    the fetcher, and serve until a stop signal."""
    store = await open_store(config.storage.database)
    try:
        await store.lock_daemon()
        with ParserPool() as parser:
            trusted = [f.url for f in config.feeds]
            async with Fetcher(config.fetch, trusted) as fetcher:
                return await Daemon(config, store, Pipeline(config, store, fetcher, parser)).serve()
    finally:
        await store.close()


class Daemon:
    def __init__(self, config: Config, store: Store, pipeline: Pipeline) -> None:
        self.config = config
        self.store = store
        self.pipeline = pipeline
        self.metrics = Metrics()
        self._stopping = asyncio.Event()
        self._signals = 0
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._last_atom = 0.0
        self._changes = Changes()
        self._hook: asyncio.Task[int | None] | None = None
        self._leading = False
        self._taking_over = False
        self._claiming = asyncio.Lock()
        # One publishing round at a time: the maintenance job publishes too, and two rounds
        # at once could write a post file the other's join or retention has just removed.
        self._publishing = asyncio.Lock()
        self._refills: set[asyncio.Task[None]] = set()
        self._jobs: set[asyncio.Task[Any]] = set()  # job runs under way (scheduled or refills)

    async def serve(self) -> int:
        await self._sync_feeds(self.config, previous=None)
        if await self._is_publisher():
            await self._take_over()  # first duty of a publisher: repair what a killed run left
        health = await self._start_health()
        scheduler = self._scheduler()
        self._install_signals()
        scheduler.start()
        log.info(
            "daemon started feeds=%d tick=%gs", len(self.config.feeds), self.config.schedule.tick
        )
        await self._stopping.wait()
        await self._stop_jobs(scheduler)
        await self._drain()
        await self.pipeline.close()
        if await self.store.lead_publisher():
            log_changes(await publish(self.store, self.config.output))
        if self._hook is not None:  # a site build in progress gets the grace period too
            await asyncio.wait([self._hook], timeout=self.config.daemon.grace)
        if health:
            await health.close()
        log.info("daemon stopped")
        return 0

    def _scheduler(self) -> AsyncIOScheduler:
        tick = self.config.schedule.tick
        scheduler = AsyncIOScheduler()
        options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(
            self._guard(self._tick),
            "interval",
            seconds=tick,
            next_run_time=datetime.now().astimezone(),
            id="tick",
            **options,
        )
        scheduler.add_job(
            self._guard(self._publish), "interval", seconds=tick, id="publish", **options
        )
        scheduler.add_job(
            self._guard(self._maintain),
            "interval",
            seconds=MAINTENANCE_EVERY,
            next_run_time=datetime.now().astimezone(),
            id="maintain",
            **options,
        )
        return scheduler

    def _guard(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Coroutine[Any, Any, None]]:
        """A failing job is logged and tried again at its next run; the daemon goes on.
        Each run is known to ``_stop_jobs``, which lets it finish."""

        async def run() -> None:
            this = asyncio.current_task()
            assert this is not None  # a coroutine job always runs in a task
            self._jobs.add(this)
            try:
                await job()
            except AggregatorError as e:
                log.error("%s failed: %s", job.__name__.strip("_"), e)
            except Exception:
                log.critical("bug in daemon job %s", job.__name__, exc_info=True)
            finally:
                self._jobs.discard(this)

        run.__name__ = job.__name__
        return run

    # -- jobs ------------------------------------------------------------------------------

    async def _tick(self) -> None:
        async with self._claiming:  # a refill and the scheduled tick must not both claim
            await self._claim()

    async def _claim(self) -> None:
        free = self.config.fetch.concurrency - len(self._in_flight)
        if self._stopping.is_set() or free <= 0:
            return
        # Bookkeeping still waiting for its batch holds leases the per-host budget counts.
        await self.pipeline.bookkeeping.flush()
        claimed = await self.store.claim_due(
            utcnow(), free, self.config.schedule.lease, self.config.fetch.per_host
        )
        for state in claimed:
            feed = self.config.feed(state.name)
            if feed is None:  # removed by a reload between claim and now
                await self.store.release([state.id])
                continue
            task = asyncio.create_task(self._run_feed(feed, state), name=f"feed:{feed.name}")
            self._in_flight[state.id] = task

    async def _run_feed(self, feed: FeedConfig, state: FeedState) -> None:
        started = time.monotonic()
        try:
            outcome = await self.pipeline.process_feed(feed, state)
            self.metrics.record(outcome, time.monotonic() - started)
        except AggregatorError as e:
            log.error("feed %s: %s", feed.name, e)
        except Exception:
            log.critical("bug while processing feed %s", feed.name, exc_info=True)
        finally:
            self._in_flight.pop(state.id, None)
            self._refill()

    def _refill(self) -> None:
        """Claim again as soon as a quarter of the slots is free, not at the next tick only:
        otherwise a worker never did more than concurrency / tick feeds a second (6.4/s with
        the defaults), however fast the feeds answered."""
        free = self.config.fetch.concurrency - len(self._in_flight)
        if self._stopping.is_set() or self._claiming.locked():
            return
        if free * 4 >= self.config.fetch.concurrency:
            task: asyncio.Task[None] = asyncio.create_task(self._guard(self._tick)())
            self._refills.add(task)
            task.add_done_callback(self._refills.discard)

    async def _is_publisher(self) -> bool:
        """Whether this daemon publishes now. With one database per daemon (SQLite) it always
        does; on PostgreSQL one worker at a time holds the publisher lock. Asking is all this
        does; a daemon that has just become the publisher is marked for ``_take_over``."""
        was, self._leading = self._leading, await self.store.lead_publisher()
        if self._leading and not was:
            log.info("publishing from this worker")
            self._taking_over = True
        return self._leading

    async def _take_over(self) -> None:
        """A new publisher first repairs what its predecessor may have left half done (temp
        files, posts not yet written or deleted by hand)."""
        if self._taking_over:
            self._taking_over = False
            with self._reporting() as written:
                await publish(self.store, self.config.output, into=written)

    @contextmanager
    def _reporting(self) -> Iterator[Changes]:
        """A publishing round's record: logged once, and kept for on_change, even when the
        round fails part way (the posts its joins removed are gone either way)."""
        written = new_changes(self.config.output)
        try:
            yield written
        finally:
            log_changes(written)
            self._changes.merge(written)

    async def _publish(self) -> None:
        """Pending posts every tick; retention, the Atom document and on_change at most every
        atom_every (files are rewritten only when their bytes change). Publisher only."""
        if await self._is_publisher():
            async with self._publishing:
                await self._publish_round()

    async def _publish_round(self) -> None:
        await self._take_over()
        with self._reporting() as written:  # posts and Atom / JSON Feed rewrites
            await publish_posts(self.store, self.config.output, into=written)
            if time.monotonic() - self._last_atom < self.config.output.atom_every:
                return
            self._last_atom = time.monotonic()
            removed = await self._retention()  # which writes the feeds without what it removed
            written.merge(removed)
            if not removed:
                written.feeds_changed = await publish_feeds(self.store, self.config.output)
        if self._changes and (self._hook is None or self._hook.done()):
            # In the background: a slow site build never holds up fetching.
            changes, self._changes = self._changes, Changes()
            self._hook = asyncio.create_task(run_on_change(self.config.output, changes))

    async def _retention(self) -> Changes:
        keep_days = self.config.storage.keep_days
        if keep_days <= 0:
            return Changes()
        expired = await self.store.expired_articles(utcnow() - timedelta(days=keep_days))
        if not expired:
            return Changes()
        ids = [article_id for article_id, _ in expired]
        removed = await remove_articles(
            self.store, self.config.output, expired, lambda: self.store.delete_articles(ids)
        )
        log.info("retention removed articles=%d keep_days=%d", len(expired), keep_days)
        return removed

    async def _maintain(self) -> None:
        if await self._is_publisher():
            async with self._publishing:
                await self._take_over()
                with self._reporting() as written:  # on_change: with the next publish round
                    await publish_posts(self.store, self.config.output, repair=True, into=written)
            await self.store.maintain()

    # -- lifecycle -------------------------------------------------------------------------

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._on_stop_signal)
        loop.add_signal_handler(signal.SIGINT, self._on_stop_signal)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self._reload()))

    def _on_stop_signal(self) -> None:
        self._signals += 1
        if self._signals > 1:
            # SQLite commits are atomic and files are renamed into place: nothing half-written.
            log.warning("second signal: exiting at once")
            os._exit(130)
        log.info(
            "stopping: no new claims; waiting up to %gs for %s",
            self.config.daemon.grace,
            counted(len(self._in_flight), "in-flight feed"),
        )
        self._stopping.set()

    async def _stop_jobs(self, scheduler: AsyncIOScheduler) -> None:
        """No job starts any more; the runs under way finish before the scheduler goes.
        Its shutdown cancels running jobs: a publishing round cancelled while its thread
        still wrote posts raced the final publish for the same files."""
        scheduler.pause()
        while running := [job for job in self._jobs if not job.done()]:
            await asyncio.wait(running)
        scheduler.shutdown(wait=False)

    async def _drain(self) -> None:
        async with self._claiming:
            # A claim under way when the stop came makes its tasks now; later ones claim
            # nothing. Its feeds are waited for like the others, not saved after the final
            # publish (their articles had no post until the next start).
            tasks = list(self._in_flight.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.config.daemon.grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        unfinished = list(self._in_flight)
        if unfinished:
            await self.store.release(unfinished)

    async def _reload(self) -> None:
        try:
            new = load_config(self.config.path)
        except AggregatorError as e:
            log.error("reload refused, keeping the running config: %s", e)
            return
        old, self.config = self.config, new
        self.pipeline.config = new
        self.pipeline.fetcher.trust(f.url for f in new.feeds)
        redact_secrets_of(new)
        await self._sync_feeds(new, previous=old)
        if (new.fetch, new.storage, new.daemon) != (old.fetch, old.storage, old.daemon):
            log.warning("reload: changes to [fetch], [storage] and [daemon] apply on restart")
        log.info("reloaded %s feeds=%d", new.path, len(new.feeds))

    async def _sync_feeds(self, config: Config, previous: Config | None) -> None:
        """Make the store match the config; spread first fetches; apply changed intervals."""
        states = await self.store.sync_feeds(config.feeds)
        now, rand = utcnow(), random.Random()
        spread = min(FIRST_FETCH_SPREAD, config.schedule.interval)
        first = [
            (s.name, now + timedelta(seconds=rand.uniform(0, spread)))
            for s in states.values()
            if s.last_fetch_at is None and s.next_check_at is None
        ]
        if first:  # only if still never scheduled: another worker may have got there first
            await self.store.schedule_feeds(first, first_only=True)
        if previous is not None:
            changed = [
                (f.name, now)
                for f in config.feeds
                if (old := previous.feed(f.name)) is not None
                and (old.interval, old.adaptive) != (f.interval, f.adaptive)
            ]
            if changed:
                await self.store.schedule_feeds(changed)

    async def _start_health(self) -> HealthServer | None:
        if not self.config.daemon.health:
            return None
        server = HealthServer(self.config.daemon.health, self.metrics, self.store)
        await server.start()
        return server
