"""Command line: argument parsing, progress, summaries and exit codes. Calls the pipeline.

Exit codes: 0 fine; 1 some feed failed (all else stored); 2 usage or config error;
3 internal error (a bug, traceback logged); 4 the environment refused the work.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import default_config_path, load_config
from ..config.select import SOURCE_KINDS
from ..errors import (
    AggregatorError,
    ConfigError,
    OpmlError,
    OutputError,
    StoreError,
    UsageError,
)
from ..run.logs import redact_secrets_of, report, setup_logging
from .common import EXIT_BUG, EXIT_FEED_FAILED, EXIT_REFUSED, EXIT_TERMINATED, EXIT_USAGE, log
from .configure import cmd_add, cmd_check, cmd_export_opml, cmd_import_opml, cmd_migrate
from .feeds import cmd_disable, cmd_enable, cmd_feeds, cmd_prune
from .fetching import cmd_fetch, cmd_run
from .outputs import cmd_atom, cmd_render
from .preview import cmd_preview

__all__ = ["main"]


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
        config_file = Path(config_path) if config_path else default_config_path()
        # `add` and `import-opml` create the file; `preview URL` needs none.
        if getattr(args, "creates_config", False) or getattr(args, "config_optional", False):
            from ..edges.configedit import config_or_starter  # tomlkit: only for these commands

            config = config_or_starter(config_file)
        else:
            config = load_config(config_file)
        redact_secrets_of(config)
        work = args.handler(config, args)
        # The daemon handles its own signals (grace period, reload).
        return int(asyncio.run(work if args.command == "run" else _stopped_by_sigterm(work)))
    except _Terminated:
        report("aggregator: stopped by SIGTERM (what was stored is kept)")
        return EXIT_TERMINATED
    except ConfigError as e:
        report(f"aggregator: config error: {e}")
        return EXIT_USAGE
    except (UsageError, OpmlError) as e:
        report(f"aggregator: {e}")
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


class _Terminated(Exception):
    """SIGTERM ended a one-shot command."""


async def _stopped_by_sigterm(work: Coroutine[Any, Any, int]) -> int:
    """``work``, cancelled by SIGTERM: the pass stops, its parser workers are shut down and the
    database is closed on the way out (context managers), then exit 143. A second SIGTERM
    kills at once (the default action, restored)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        loop.remove_signal_handler(signal.SIGTERM)
        task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    except (ValueError, RuntimeError):  # not the main thread (main() called from a thread)
        return await work
    try:
        return await work
    except asyncio.CancelledError:
        if terminated:
            raise _Terminated from None
        raise
    finally:
        if not terminated:
            loop.remove_signal_handler(signal.SIGTERM)


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

    _add_preview_command(commands, common)

    migrate = commands.add_parser(
        "migrate", parents=[common], help="create or upgrade the database schema"
    )
    migrate.set_defaults(handler=cmd_migrate)
    _add_feed_management_commands(commands, common)
    return parser


def _add_preview_command(commands: Any, common: argparse.ArgumentParser) -> None:
    preview = commands.add_parser(
        "preview",
        parents=[common],
        help="print the entries a feed's config yields, storing nothing (for writing selectors)",
        description="Fetch a configured feed (NAME), or a page or API (URL), read it as the "
        "config (or the options) say, and print each entry: title, link, date, the first "
        "words of its text. Nothing is stored; no database is opened.",
    )
    preview.add_argument("target", metavar="NAME|URL", help="a configured feed, or a URL / file")
    preview.add_argument(
        "--source",
        choices=["feed", *SOURCE_KINDS],
        help='how to read it (a URL: default "html", whose items are found without --select)',
    )
    preview.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a [feeds.select] key, e.g. items='div.article-item' (repeatable; replaces the "
        "configured key)",
    )
    preview.add_argument(
        "--timezone", metavar="ZONE", help="for dates without an offset, e.g. Asia/Shanghai"
    )
    preview.add_argument("--json", action="store_true", help="a JSON object on stdout")
    preview.set_defaults(handler=cmd_preview, config_optional=True)


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
    add.set_defaults(handler=cmd_add, creates_config=True)

    import_opml = commands.add_parser(
        "import-opml",
        parents=[common],
        help="append the feeds of an OPML file to the config file (folders become categories)",
    )
    import_opml.add_argument("file", metavar="FILE", help="the OPML file ('-' for stdin)")
    import_opml.set_defaults(handler=cmd_import_opml, creates_config=True)

    export_opml = commands.add_parser(
        "export-opml", parents=[common], help="write every configured feed as OPML 2.0"
    )
    export_opml.add_argument(
        "-o", "--output", metavar="PATH|-", help="where to write it (default: stdout)"
    )
    export_opml.set_defaults(handler=cmd_export_opml)
