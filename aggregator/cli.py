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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config, FeedConfig, default_config_path, load_config
from .errors import AggregatorError, ConfigError, OutputError, StoreError
from .hooks import run_on_change
from .logs import redact_secrets_of, report, setup_logging
from .models import FeedState, Outcome, PassSummary
from .output import remove_post_files, write_file
from .pipeline import FeedOutcome, run_pass
from .publish import publish, publish_atom
from .render import render_atom
from .store import Store, display_database, open_store

EXIT_OK, EXIT_FEED_FAILED, EXIT_USAGE, EXIT_BUG, EXIT_REFUSED = 0, 1, 2, 3, 4

log = logging.getLogger("aggregator")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    log_level = getattr(args, "log_level", None)
    setup_logging(
        log_level or ("info" if args.command == "run" else "warning"),
        getattr(args, "log_format", "text"),
    )
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        config_path = getattr(args, "config", None)
        config = load_config(Path(config_path) if config_path else default_config_path())
        redact_secrets_of(config)
        return int(asyncio.run(args.handler(config, args)))
    except ConfigError as e:
        report(f"aggregator: config error: {e}")
        return EXIT_USAGE
    except (StoreError, OutputError) as e:
        report(f"aggregator: {e}")
        return EXIT_REFUSED
    except AggregatorError as e:
        report(f"aggregator: {e}")
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
    common.add_argument(
        "--log-format",
        default=argparse.SUPPRESS,
        choices=["text", "json"],
        help="log lines on stderr as text (default) or one JSON object each",
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
    fetch.add_argument(
        "--due", action="store_true", help="only feeds whose next check time has come (cron)"
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

    disable = commands.add_parser(
        "disable", parents=[common], help="stop fetching a feed, keeping its articles"
    )
    disable.add_argument("name", metavar="NAME")
    disable.set_defaults(handler=cmd_disable)

    prune = commands.add_parser(
        "prune",
        parents=[common],
        help="delete the articles and posts of a feed removed from the config",
    )
    prune.add_argument("name", metavar="NAME")
    prune.set_defaults(handler=cmd_prune)

    migrate = commands.add_parser(
        "migrate", parents=[common], help="create or upgrade the database schema"
    )
    migrate.set_defaults(handler=cmd_migrate)
    _add_feed_management_commands(commands, common)
    return parser


def _add_feed_management_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    add = commands.add_parser(
        "add",
        parents=[common],
        help="find the feed of a site or feed URL and append it to the config file",
    )
    add.add_argument("url", metavar="URL", help="a feed or a web page that links to one")
    add.add_argument("--name", metavar="NAME", help="the feed's name (default: its own title)")
    add.add_argument(
        "--category",
        action="append",
        default=[],
        metavar="C",
        help="a category, broadest first (repeatable)",
    )
    add.set_defaults(handler=cmd_add)

    import_opml = commands.add_parser(
        "import-opml",
        parents=[common],
        help="append the feeds of an OPML file to the config file (folders become categories)",
    )
    import_opml.add_argument("file", metavar="FILE", help="the OPML file ('-' for stdin)")
    import_opml.set_defaults(handler=cmd_import_opml)

    export_opml = commands.add_parser(
        "export-opml", parents=[common], help="write every configured feed as OPML 2.0"
    )
    export_opml.add_argument(
        "-o", "--output", metavar="PATH|-", help="where to write it (default: stdout)"
    )
    export_opml.set_defaults(handler=cmd_export_opml)


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
        nonlocal feeds
        states = await store.sync_feeds(config.feeds)
        if args.due:
            feeds = await _claim_due(config, store, feeds)
        else:
            feeds = _fetchable(feeds, states)
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
        "filtered": s.filtered,
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
        if not await store.lead_publisher():
            report("render: another worker holds the publisher lock; every post is queued for it")
            return EXIT_OK
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
    return await _set_disabled(config, args.name, None)


async def cmd_disable(config: Config, args: argparse.Namespace) -> int:
    return await _set_disabled(config, args.name, "user")


async def _set_disabled(config: Config, name: str, reason: str | None) -> int:
    async def work(store: Store) -> int:
        await store.sync_feeds(config.feeds)
        if not await store.set_disabled(name, reason):
            raise ConfigError(str(config.path), f"no feed named {name!r}", key="feeds")
        print(f"{'disabled' if reason else 'enabled'} {name}", file=sys.stderr)
        return EXIT_OK

    return await _with_store(config, work)


async def cmd_prune(config: Config, args: argparse.Namespace) -> int:
    """A feed removed from the config keeps its articles until this: then its posts go, its
    rows go, and the Atom document and JSON Feed are written without it."""
    name = args.name
    if config.feed(name) is not None:
        raise ConfigError(
            str(config.path), f"feed {name!r} is still configured: remove it first", key="feeds"
        )

    async def work(store: Store) -> int:
        await store.sync_feeds(config.feeds)
        articles = await store.feed_articles(name)
        if articles is None:
            raise ConfigError(str(config.path), f"no feed named {name!r} in the database")
        if not await store.lead_publisher():
            # The post files are where the publisher writes them, maybe on another machine.
            raise StoreError(
                display_database(config.storage.database),
                "another worker holds the publisher lock: run prune where posts are published",
            )
        # Files first: a crash in between leaves rows whose posts the next publish re-creates.
        remove_post_files(config.output.posts_dir, [path for _, path in articles])
        await store.delete_feed(name)
        changes = await publish(store, config.output)
        changes.removed += articles
        await run_on_change(config.output, changes)
        print(f"pruned {name}: {len(articles)} articles and their posts", file=sys.stderr)
        return EXIT_OK

    return await _with_store(config, work)


async def cmd_migrate(config: Config, args: argparse.Namespace) -> int:
    """Create or upgrade the schema explicitly. PostgreSQL needs it after an upgrade (workers
    refuse an older schema); SQLite upgrades itself on open, and this says so."""
    from .store import display_database, migrate_store

    found, now = await migrate_store(config.storage.database)
    if found == 0:
        what = f"created at schema {now}"
    elif found == now:
        what = f"schema {now}, up to date"
    else:
        what = f"schema {found} -> {now}"
    print(f"{display_database(config.storage.database)}: {what}")
    return EXIT_OK


# -- add / import-opml / export-opml -----------------------------------------------------


async def cmd_add(config: Config, args: argparse.Namespace) -> int:
    from .configedit import append_feed, check_new_feed  # tomlkit, httpx: only for this command
    from .discover import discover, suggested_name
    from .fetch import Fetcher
    from .opml import unique_name

    url = _url_argument(args.url)
    if url is None:
        print(f"aggregator: {args.url}: expected an http(s) URL or a local file", file=sys.stderr)
        return EXIT_USAGE
    check_new_feed(config, args.name, url)  # before any request
    async with Fetcher(config.fetch, trusted=[url]) as fetcher:  # the URL the user typed
        found = await discover(fetcher, url)
    name = args.name or unique_name(suggested_name(found), {f.name for f in config.feeds})
    entry = append_feed(config.path, name, found.url, args.category)
    print(f"added {json.dumps(entry.name, ensure_ascii=False)}: {entry.url}")
    return EXIT_OK


def _url_argument(text: str) -> str | None:
    """A URL as given, a local path as a file: URL, a bare host name as https://."""
    scheme = text.partition("://")[0].lower() if "://" in text else ""
    if scheme:
        return text if scheme in ("http", "https", "file") else None
    if text.startswith(("/", ".", "~")) or Path(text).exists():
        return Path(text).expanduser().resolve().as_uri()
    return f"https://{text}"


async def cmd_import_opml(config: Config, args: argparse.Namespace) -> int:
    from .configedit import append_feeds
    from .errors import OpmlError
    from .opml import MAX_OPML_BYTES, parse_opml

    source = "<stdin>" if args.file == "-" else args.file
    try:
        feeds = parse_opml(_read_opml(args.file, MAX_OPML_BYTES + 1), source)
    except OpmlError as e:
        print(f"aggregator: {e}", file=sys.stderr)
        return EXIT_USAGE
    result = append_feeds(config.path, feeds)
    for entry in result.added:
        print(f"added {json.dumps(entry.name, ensure_ascii=False)}: {entry.url}")
    for skipped in result.skipped:
        print(
            f"skipped {json.dumps(skipped.feed.name, ensure_ascii=False)}: {skipped.feed.url} "
            f"is already configured as {json.dumps(skipped.existing, ensure_ascii=False)}",
            file=sys.stderr,
        )
    print(
        f"{config.path}: {len(result.added)} feeds added, {len(result.skipped)} skipped "
        "(already configured)",
        file=sys.stderr,
    )
    return EXIT_OK


def _read_opml(file: str, limit: int) -> bytes:
    """At most ``limit`` bytes (parse_opml refuses what is larger)."""
    from .errors import OpmlError

    if file == "-":
        return sys.stdin.buffer.read(limit)
    try:
        with open(file, "rb") as f:
            return f.read(limit)
    except OSError as e:
        raise OpmlError(file, f"cannot read: {e.strerror}") from None


async def cmd_export_opml(config: Config, args: argparse.Namespace) -> int:
    from .opml import OpmlFeed, render_opml

    feeds = [OpmlFeed(f.name, f.url, f.categories) for f in config.feeds]
    data = render_opml(feeds, title=config.output.atom_title)
    if args.output in (None, "", "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_file(Path(args.output).resolve(), data.decode("utf-8"))
    print(f"exported {len(feeds)} feeds", file=sys.stderr)
    return EXIT_OK
