"""One pass over a list of feeds (``aggregator fetch``): every feed once, a bounded number at a
time, posts written in the background as feeds store them, then the closing publish and
on_change. The daemon runs the same per-feed pipeline (run/feed.py) on its own schedule.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from ..config import Config, FeedConfig
from ..edges.fetch import Fetcher
from ..edges.hooks import run_on_change
from ..edges.store import Store
from ..errors import AggregatorError, FetchError, ParseError
from ..models import FeedOutcome, FeedState, FeedStatus, Outcome, PassSummary
from .feed import Clock, Pipeline, utcnow
from .pool import ParserPool
from .publish import BackgroundPublisher, PublishError, log_changes, publish

log = logging.getLogger(__name__)


async def run_pass(
    config: Config,
    store: Store,
    feeds: Sequence[FeedConfig],
    on_feed_done: Callable[[FeedOutcome], None] | None = None,
    clock: Clock = utcnow,
    states: Mapping[str, FeedState] | None = None,
) -> PassSummary:
    """One pass over ``feeds`` (the one-shot CLI): every feed once, then publish. ``states``:
    the store's rows once it knows the config's feeds (``sync_feeds``), if already read."""
    started = time.monotonic()
    summary = PassSummary()
    if states is None:
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
                    summary.add(outcome)
                    changed = outcome.count(Outcome.NEW) or outcome.count(Outcome.UPDATED)
                    if changed and publisher:
                        publisher.notify()
                    if on_feed_done:
                        on_feed_done(outcome)

            workers = min(config.fetch.concurrency, max(1, len(feeds)))
            try:
                await asyncio.gather(*(worker() for _ in range(workers)))
                await pipeline.close()
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
        log_changes(changes)
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
        return FeedOutcome(feed.name, FeedStatus.FAILED, error=str(e))
    except AggregatorError:
        raise
    except Exception as e:
        log.critical("bug while processing feed %s", feed.name, exc_info=True)
        error = f"internal error: {type(e).__name__}: {e}"
        return FeedOutcome(feed.name, FeedStatus.BUG, error=error)
