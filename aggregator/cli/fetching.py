"""``aggregator fetch`` (one pass, progress, summary, --json) and ``aggregator run``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import Config, FeedConfig, OutputConfig
from ..edges.store import Store
from ..errors import UsageError
from ..models import FeedOutcome, FeedState, Outcome, PassSummary
from ..run.logs import report
from ..run.passes import run_pass
from .common import EXIT_BUG, EXIT_FEED_FAILED, EXIT_OK, EXIT_REFUSED, log, with_store


async def cmd_fetch(config: Config, args: argparse.Namespace) -> int:
    feeds = [f for f in config.feeds if f.enabled]
    if args.feed:
        unknown = [n for n in args.feed if config.feed(n) is None]
        if unknown:
            raise UsageError(f"no feed named {unknown[0]!r} in {config.path}")
        feeds = [f for f in config.feeds if f.name in args.feed]
    show_progress = not args.no_progress and sys.stderr.isatty()

    async def work(store: Store) -> int:
        nonlocal feeds
        states = await store.sync_feeds(config.feeds)
        feeds = await _claim_due(config, store, feeds) if args.due else _fetchable(feeds, states)
        outcomes: list[FeedOutcome] = []  # each feed's, for --json only

        def done(outcome: FeedOutcome) -> None:
            if args.json:
                outcomes.append(outcome)
            progress.advance(outcome)

        with _Progress(len(feeds), show_progress) as progress:
            summary = await run_pass(config, store, feeds, done, states=states)
        _print_summary(summary)
        _print_outputs(config.output, summary, Path.cwd())
        if args.json:
            json.dump(_fetch_json(summary, outcomes), sys.stdout, ensure_ascii=False, indent=1)
            sys.stdout.write("\n")
        if summary.output_error:
            report(f"aggregator: {summary.output_error}")
        if summary.bugs:
            return EXIT_BUG
        if summary.output_error:
            return EXIT_REFUSED
        return EXIT_FEED_FAILED if summary.feeds_failed else EXIT_OK

    return await with_store(config, work)


def _fetchable(feeds: list[FeedConfig], states: dict[str, FeedState]) -> list[FeedConfig]:
    """Feeds disabled by ``aggregator disable``, failures or 410 Gone are skipped, saying so."""
    chosen = []
    for feed in feeds:
        reason = states[feed.name].disabled_reason
        if reason:
            log.warning(
                "skipping feed=%r: disabled (%s); `aggregator enable` resumes it", feed.name, reason
            )
        else:
            chosen.append(feed)
    return chosen


async def _claim_due(config: Config, store: Store, feeds: list[FeedConfig]) -> list[FeedConfig]:
    """``--due``: the feeds whose next check has come, claimed with a lease as the daemon
    claims them, so that cron on several machines (or beside daemons) fetches each once."""
    everything = len(config.feeds)
    claimed = await store.claim_due(
        datetime.now(UTC), everything, config.schedule.lease, per_host=everything
    )
    wanted = {f.name for f in feeds}
    await store.release([s.id for s in claimed if s.name not in wanted])
    names = {s.name for s in claimed}
    return [f for f in feeds if f.name in names]


class _Progress:
    """A rich progress bar on a terminal; nothing otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar: Any = None
        if enabled:
            from rich.progress import Progress

            self._bar = Progress(transient=True)
            self._task = self._bar.add_task("fetching", total=total)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, outcome: FeedOutcome) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=outcome.name[:30])


def _fetch_json(s: PassSummary, outcomes: list[FeedOutcome]) -> dict[str, Any]:
    return {
        "summary": {
            "feeds_ok": s.feeds_ok,
            "feeds_failed": s.feeds_failed,
            "feeds_not_modified": s.feeds_not_modified,
            "feeds_deferred": s.feeds_deferred,
            "new": s.new,
            "updated": s.updated,
            "duplicate": s.duplicate,
            "filtered": s.filtered,
            "seconds": round(s.seconds, 3),
        },
        "feeds": [
            {
                "name": o.name,
                "status": o.status,
                "error": o.error,
                "new": o.counts.get(Outcome.NEW, 0),
                "updated": o.counts.get(Outcome.UPDATED, 0),
                "duplicate": o.counts.get(Outcome.DUPLICATE, 0),
                "filtered": o.filtered,
                "skipped_items": o.skipped_items,
                "seconds": round(o.seconds, 3),
                "next_check": o.next_check_at.isoformat() if o.next_check_at else None,
            }
            for o in sorted(outcomes, key=lambda o: o.name)
        ],
    }


def _print_summary(s: PassSummary) -> None:
    for name, error in s.failures:
        report(f"failed: {name}: {error}")
    report(
        f"feeds: {s.feeds_ok} ok, {s.feeds_failed} failed, {s.feeds_not_modified} not modified"
        f"{f', {s.feeds_deferred} deferred' if s.feeds_deferred else ''}; "
        f"articles: {s.new} new, {s.updated} updated, {s.duplicate} duplicate"
        f"{f', {s.filtered} filtered' if s.filtered else ''}; "
        f"{s.seconds:.1f}s"
    )


def _print_outputs(output: OutputConfig, s: PassSummary, cwd: Path) -> None:
    """Where to look, after the summary: a first run should not leave the user searching."""
    changed = f"{s.new} new" + (f", {s.updated} updated" if s.updated else "")
    report(f"posts: {shown_path(output.posts_dir, cwd)} ({changed})")
    report(f"atom: {shown_path(output.atom_path, cwd)}")
    if output.json_feed_path:
        report(f"json feed: {shown_path(output.json_feed_path, cwd)}")


def shown_path(path: Path, cwd: Path) -> str:
    """``path`` as the user would type it: relative to ``cwd`` when inside it, else absolute."""
    absolute = Path(os.path.abspath(path))  # "a/../b" from the config reads as "b"
    try:
        return str(absolute.relative_to(cwd))
    except ValueError:
        return str(absolute)


async def cmd_run(config: Config, args: argparse.Namespace) -> int:
    from ..run.daemon import run_daemon  # APScheduler, the health server: for the daemon only

    return await run_daemon(config)
