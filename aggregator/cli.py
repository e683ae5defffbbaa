"""Command line: argument parsing, progress, summaries and exit codes. Calls the pipeline.

Exit codes: 0 fine; 1 some feed failed (all else stored); 2 usage or config error;
3 internal error (a bug, traceback logged); 4 the environment refused the work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config, default_config_path, load_config
from .errors import AggregatorError, ConfigError, OutputError, StoreError
from .hooks import run_on_change
from .models import FeedState, Outcome, PassSummary
from .output import write_file
from .pipeline import FeedOutcome, run_pass
from .publish import publish, publish_atom
from .render import render_atom
from .store import Store, open_store

EXIT_OK, EXIT_FEED_FAILED, EXIT_USAGE, EXIT_BUG, EXIT_REFUSED = 0, 1, 2, 3, 4

log = logging.getLogger("aggregator")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    log_level = getattr(args, "log_level", None)
    _setup_logging(log_level or ("info" if args.command == "run" else "warning"))
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        config_path = getattr(args, "config", None)
        config = load_config(Path(config_path) if config_path else default_config_path())
        return int(asyncio.run(args.handler(config, args)))
    except ConfigError as e:
        print(f"aggregator: config error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, OutputError) as e:
        print(f"aggregator: {e}", file=sys.stderr)
        return EXIT_REFUSED
    except AggregatorError as e:
        print(f"aggregator: {e}", file=sys.stderr)
        return EXIT_FEED_FAILED
    except KeyboardInterrupt:
        return 130
    except Exception:
        log.critical("internal error (a bug; please report it)", exc_info=True)
        return EXIT_BUG


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help=f"config file (default ./config.toml or ${'AGGREGATOR_CONFIG'})",
    )
    common.add_argument(
        "--log-level", default=argparse.SUPPRESS, choices=["debug", "info", "warning", "error"]
    )
    parser = argparse.ArgumentParser(
        prog="aggregator",
        parents=[common],
        description="Follow feeds; publish posts, Atom and JSON Feed.",
    )
    # No parser.set_defaults(config=...): the parent's actions are shared with every subcommand,
    # so a default set here would make the subcommand overwrite a --config given before it.
    # Absent options stay absent (SUPPRESS); main() reads them with getattr.
    parser.add_argument("--version", action="version", version=f"aggregator {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    fetch = commands.add_parser("fetch", parents=[common], help="fetch every feed once")
    fetch.add_argument(
        "--feed", action="append", default=[], metavar="NAME", help="only this feed (repeatable)"
    )
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    fetch.add_argument(
        "--json",
        action="store_true",
        help="print per-feed outcomes and the summary as JSON on stdout",
    )
    fetch.set_defaults(handler=cmd_fetch)

    atom = commands.add_parser("atom", parents=[common], help="write the Atom document")
    atom.add_argument(
        "-o",
        "--output",
        metavar="PATH|-",
        help="where to write it ('-' for stdout; default [output] atom_path)",
    )
    atom.set_defaults(handler=cmd_atom)

    feeds = commands.add_parser("feeds", parents=[common], help="list feeds and their state")
    feeds.add_argument("--json", action="store_true", help="a JSON array on stdout")
    feeds.set_defaults(handler=cmd_feeds)

    run = commands.add_parser("run", parents=[common], help="run the daemon")
    run.set_defaults(handler=cmd_run)

    render = commands.add_parser(
        "render",
        parents=[common],
        help="rebuild every post, the Atom and the JSON Feed from the database (no fetching)",
    )
    render.set_defaults(handler=cmd_render)

    check = commands.add_parser(
        "check", parents=[common], help="validate the config without fetching (exit 0 or 2)"
    )
    check.set_defaults(handler=cmd_check)

    enable = commands.add_parser(
        "enable", parents=[common], help="re-enable a feed disabled by failures or 410 Gone"
    )
    enable.add_argument("name", metavar="NAME")
    enable.set_defaults(handler=cmd_enable)
    return parser


def _setup_logging(level: str) -> None:
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


async def _with_store(config: Config, work: Callable[[Store], Coroutine[Any, Any, int]]) -> int:
    store = await open_store(config.storage.database)
    try:
        return await work(store)
    finally:
        await store.close()


# -- fetch -------------------------------------------------------------------------------


async def cmd_fetch(config: Config, args: argparse.Namespace) -> int:
    feeds = [f for f in config.feeds if f.enabled]
    if args.feed:
        unknown = [n for n in args.feed if config.feed(n) is None]
        if unknown:
            raise ConfigError(str(config.path), f"no feed named {unknown[0]!r}", key="feeds")
        feeds = [f for f in config.feeds if f.name in args.feed]
    show_progress = not args.no_progress and sys.stderr.isatty()

    async def work(store: Store) -> int:
        outcomes: list[FeedOutcome] = []

        def done(outcome: FeedOutcome) -> None:
            outcomes.append(outcome)
            progress.advance(outcome)

        with _Progress(len(feeds), show_progress) as progress:
            summary = await run_pass(config, store, feeds, done)
        _print_summary(summary)
        if args.json:
            json.dump(_fetch_json(summary, outcomes), sys.stdout, ensure_ascii=False, indent=1)
            sys.stdout.write("\n")
        if summary.bugs:
            return EXIT_BUG
        return EXIT_FEED_FAILED if summary.feeds_failed else EXIT_OK

    return await _with_store(config, work)


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
                "seconds": round(o.seconds, 3),
                "next_check": o.next_check_at.isoformat() if o.next_check_at else None,
            }
            for o in sorted(outcomes, key=lambda o: o.name)
        ],
    }


def _print_summary(s: PassSummary) -> None:
    for name, error in s.failures:
        print(f"failed: {name}: {error}", file=sys.stderr)
    print(
        f"feeds: {s.feeds_ok} ok, {s.feeds_failed} failed, {s.feeds_not_modified} not modified"
        f"{f', {s.feeds_deferred} deferred' if s.feeds_deferred else ''}; "
        f"articles: {s.new} new, {s.updated} updated, {s.duplicate} duplicate; "
        f"{s.seconds:.1f}s",
        file=sys.stderr,
    )


# -- atom --------------------------------------------------------------------------------


async def cmd_atom(config: Config, args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        if args.output in (None, ""):
            await publish_atom(store, config.output)
            print(config.output.atom_path, file=sys.stderr)
            return EXIT_OK
        articles = await store.newest(config.output.atom_limit)
        text = render_atom(
            articles,
            title=config.output.atom_title,
            feed_id=config.output.atom_id or await store.atom_id(),
        )
        if args.output == "-":
            sys.stdout.write(text)
        else:
            write_file(Path(args.output).resolve(), text)
        return EXIT_OK

    return await _with_store(config, work)


# -- feeds -------------------------------------------------------------------------------


async def cmd_feeds(config: Config, args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        await store.sync_feeds(config.feeds)
        states = await store.feed_states()
        if args.json:
            json.dump([_feed_json(s) for s in states], sys.stdout, ensure_ascii=False, indent=1)
            sys.stdout.write("\n")
            return EXIT_OK
        header = (
            "NAME",
            "URL",
            "LAST FETCH",
            "STATUS",
            "ARTICLES",
            "ERRORS",
            "NEXT CHECK",
            "INTERVAL",
            "WHY",
        )
        rows = [header] + [_feed_row(s) for s in states]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for r in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
        return EXIT_OK

    return await _with_store(config, work)


def _feed_json(s: FeedState) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "name": s.name,
        "url": s.url,
        "enabled": s.enabled and not s.disabled_reason,
        "in_config": s.in_config,
        "disabled_reason": s.disabled_reason,
        "last_fetch": when(s.last_fetch_at),
        "last_status": s.last_status,
        "last_error": s.last_error,
        "articles": s.article_count,
        "errors": s.error_count,
        "next_check": when(s.next_check_at),
        "interval": s.check_interval,
        "schedule_reason": s.schedule_reason,
    }


def _feed_row(s: FeedState) -> tuple[str, ...]:
    if s.disabled_reason or not s.enabled or not s.in_config:
        why = f"disabled ({s.disabled_reason or ('config' if s.in_config else 'not in config')})"
        next_check = "-"
    else:
        why = s.schedule_reason or "-"
        next_check = _when(s.next_check_at) if s.next_check_at else "now"
    return (
        s.name,
        s.url,
        _when(s.last_fetch_at) if s.last_fetch_at else "never",
        s.last_status or "-",
        str(s.article_count),
        str(s.error_count),
        next_check,
        _duration(s.check_interval) if s.check_interval else "-",
        why,
    )


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


# -- run / enable ------------------------------------------------------------------------


async def cmd_run(config: Config, args: argparse.Namespace) -> int:
    from .daemon import Daemon  # APScheduler and the health server load only for the daemon

    return await Daemon(config).run()


async def cmd_render(config: Config, args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        await store.sync_feeds(config.feeds)
        await store.mark_unrendered(None)
        changes = await publish(store, config.output)
        print(
            f"rendered: {len(changes.added)} posts re-created, {len(changes.updated)} rewritten"
            f"{', feeds changed' if changes.feeds_changed else ''}",
            file=sys.stderr,
        )
        await run_on_change(config.output, changes)
        return EXIT_OK

    return await _with_store(config, work)


async def cmd_check(config: Config, args: argparse.Namespace) -> int:
    print(f"{config.path}: ok ({len(config.feeds)} feeds)", file=sys.stderr)
    return EXIT_OK


async def cmd_enable(config: Config, args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        await store.sync_feeds(config.feeds)
        if not await store.set_disabled(args.name, None):
            raise ConfigError(str(config.path), f"no feed named {args.name!r}", key="feeds")
        print(f"enabled {args.name}", file=sys.stderr)
        return EXIT_OK

    return await _with_store(config, work)
