"""The config and the schema: ``check``, ``migrate``, ``add``, ``import-opml``, ``export-opml``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..config import Config
from ..edges.files import write_file
from ..edges.store import display_database
from ..errors import UsageError
from ..run.logs import report
from ..steps.text import counted
from .common import EXIT_OK


async def cmd_check(config: Config, args: argparse.Namespace) -> int:
    report(f"{config.path}: ok ({counted(len(config.feeds), 'feed')})")
    return EXIT_OK


async def cmd_migrate(config: Config, args: argparse.Namespace) -> int:
    """Create or upgrade the schema explicitly. PostgreSQL needs it after an upgrade (workers
    refuse an older schema); SQLite upgrades itself on open, and this says so."""
    from ..edges.store import migrate_store

    found, now = await migrate_store(config.storage.database)
    if found == 0:
        what = f"created at schema {now}"
    elif found == now:
        what = f"schema {now}, up to date"
    else:
        what = f"schema {found} -> {now}"
    print(f"{display_database(config.storage.database)}: {what}")
    return EXIT_OK


async def cmd_add(config: Config, args: argparse.Namespace) -> int:
    from ..edges.configedit import (  # tomlkit, httpx: only for this command
        append_feed,
        check_new_feed,
    )
    from ..edges.fetch import Fetcher
    from ..run.discover import discover, suggested_name
    from ..steps.opml import unique_name

    url = _url_argument(args.url)
    if url is None:
        raise UsageError(f"{args.url}: expected an http(s) URL or a local file")
    check_new_feed(config, args.name, url)  # before any request
    async with Fetcher(config.fetch, trusted=[url]) as fetcher:  # the URL the user typed
        found = await discover(fetcher, url)
    name = args.name or unique_name(suggested_name(found), {f.name for f in config.feeds})
    created = not config.path.exists()
    entry = append_feed(config.path, name, found.url, args.category, given=url)
    print(f"added {json.dumps(entry.name, ensure_ascii=False)}: {entry.url}")
    _say_if_created(config.path, created)
    return EXIT_OK


def _say_if_created(path: Path, created: bool) -> None:
    if created and path.exists():
        report(
            f"created {path}: a starter config (its [storage] and [output] say where the "
            "database, posts and Atom go; docs/config.md lists every key)"
        )


def _url_argument(text: str) -> str | None:
    """A URL as given, a local path as a file: URL, a bare host name as https://."""
    scheme = text.partition("://")[0].lower() if "://" in text else ""
    if scheme:
        return text if scheme in ("http", "https", "file") else None
    if text.startswith(("/", ".", "~")) or Path(text).exists():
        return Path(text).expanduser().resolve().as_uri()
    return f"https://{text}"


async def cmd_import_opml(config: Config, args: argparse.Namespace) -> int:
    from ..edges.configedit import append_feeds
    from ..steps.opml import MAX_OPML_BYTES, parse_opml

    source = "<stdin>" if args.file == "-" else args.file
    feeds = parse_opml(_read_opml(args.file, MAX_OPML_BYTES + 1), source)  # OpmlError: exit 2
    created = not config.path.exists()
    result = append_feeds(config.path, feeds)
    _say_if_created(config.path, created)
    for entry in result.added:
        print(f"added {json.dumps(entry.name, ensure_ascii=False)}: {entry.url}")
    for skipped in result.skipped:
        report(
            f"skipped {json.dumps(skipped.feed.name, ensure_ascii=False)}: {skipped.feed.url} "
            f"is already configured as {json.dumps(skipped.existing, ensure_ascii=False)}"
        )
    report(
        f"{config.path}: {counted(len(result.added), 'feed')} added, {len(result.skipped)} skipped "
        "(already configured)",
    )
    return EXIT_OK


def _read_opml(file: str, limit: int) -> bytes:
    """At most ``limit`` bytes (parse_opml refuses what is larger)."""
    from ..errors import OpmlError

    if file == "-":
        return sys.stdin.buffer.read(limit)
    try:
        with open(file, "rb") as f:
            return f.read(limit)
    except OSError as e:
        raise OpmlError(file, f"cannot read: {e.strerror}") from None


async def cmd_export_opml(config: Config, args: argparse.Namespace) -> int:
    from ..steps.opml import OpmlFeed, render_opml

    feeds = [OpmlFeed(f.name, f.url, f.categories) for f in config.feeds]
    data = render_opml(feeds, title=config.output.atom_title)
    if args.output in (None, "", "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_file(Path(args.output).resolve(), data.decode("utf-8"))
    report(f"exported {counted(len(feeds), 'feed')}")
    return EXIT_OK
