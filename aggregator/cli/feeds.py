"""Feeds in the database: ``feeds`` (listing), ``enable``, ``disable``, ``prune``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from ..config import Config
from ..edges.hooks import run_on_change
from ..edges.store import Store, database_missing, display_database
from ..errors import StoreError, UsageError
from ..models import FeedState
from ..run.logs import report
from ..run.publish import remove_articles
from ..steps.text import counted
from .common import EXIT_OK, with_store


async def cmd_feeds(config: Config, args: argparse.Namespace) -> int:
    if database_missing(config.storage.database):
        # A look creates nothing: the configured feeds, as never fetched.
        report(
            f"{display_database(config.storage.database)}: no database yet "
            "(`aggregator fetch` creates it); the configured feeds have never been fetched"
        )
        states = [
            FeedState(id=0, name=f.name, url=f.url, config_url=f.url, enabled=f.enabled)
            for f in config.feeds
        ]
        _show(sorted(states, key=lambda s: s.name), args.json)
        return EXIT_OK

    async def work(store: Store) -> int:
        await store.sync_feeds(config.feeds)
        _show(await store.feed_states(), args.json)
        return EXIT_OK

    return await with_store(config, work)


def _show(states: list[FeedState], as_json: bool) -> None:
    if as_json:
        json.dump([_feed_json(s) for s in states], sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    header = (
        "NAME",
        "URL",
        "LAST FETCH",
        "STATUS",
        "ARTICLES",
        "DUPLICATES",
        "ERRORS",
        "NEXT CHECK",
        "INTERVAL",
        "WHY",
    )
    print(_table([header] + [_feed_row(s) for s in states]), end="")


def _table(rows: list[tuple[str, ...]]) -> str:
    """Columns two spaces apart, aligned by display width: a CJK character takes two cells of
    a terminal, so counting characters shifted every column after a name like 中文新闻."""
    from rich.cells import cell_len

    widths = [max(cell_len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = (
        "  ".join(cell + " " * (w - cell_len(cell)) for cell, w in zip(r, widths, strict=True))
        for r in rows
    )
    return "".join(line.rstrip() + "\n" for line in lines)


def _feed_json(s: FeedState) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "name": s.name,
        "url": s.url,
        "config_url": s.config_url,
        "url_via": s.url_via,
        "enabled": s.enabled and not s.disabled_reason,
        "in_config": s.in_config,
        "disabled_reason": s.disabled_reason,
        "last_fetch": when(s.last_fetch_at),
        "last_status": s.last_status,
        "last_error": s.last_error,
        "articles": s.article_count,
        "duplicates": s.duplicates,
        "pages_waiting": s.pages_waiting,
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
        f"{s.url} (from the page {s.config_url})" if s.url_via == "page" else s.url,
        _when(s.last_fetch_at) if s.last_fetch_at else "never",
        s.last_status or "-",
        f"{s.article_count} ({s.pages_waiting} pages waiting)"
        if s.pages_waiting
        else str(s.article_count),
        str(s.duplicates),
        str(s.error_count),
        next_check,
        _duration(s.check_interval) if s.check_interval else "-",
        why,
    )


def _when(value: datetime) -> str:
    """Local time with its offset (``2026-12-02 09:15:00+08:00``): a bare time is read as
    local, and the store's times are UTC."""
    return value.astimezone().isoformat(sep=" ", timespec="seconds")


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


async def cmd_enable(config: Config, args: argparse.Namespace) -> int:
    return await _set_disabled(config, args.name, None)


async def cmd_disable(config: Config, args: argparse.Namespace) -> int:
    return await _set_disabled(config, args.name, "user")


async def _set_disabled(config: Config, name: str, reason: str | None) -> int:
    async def work(store: Store) -> int:
        await store.sync_feeds(config.feeds)
        if not await store.set_disabled(name, reason):
            raise UsageError(f"no feed named {name!r} in {config.path} or in the database")
        report(f"{'disabled' if reason else 'enabled'} {name}")
        return EXIT_OK

    return await with_store(config, work)


async def cmd_prune(config: Config, args: argparse.Namespace) -> int:
    """A feed removed from the config keeps its articles until this: then its posts go, its
    rows go, and the Atom document and JSON Feed are written without it."""
    name = args.name
    if config.feed(name) is not None:
        raise UsageError(f"feed {name!r} is still in {config.path}: remove it there first")

    async def work(store: Store) -> int:
        await store.sync_feeds(config.feeds)
        articles = await store.feed_articles(name)
        if articles is None:
            raise UsageError(
                f"no feed named {name!r} in the database "
                f"({display_database(config.storage.database)})"
            )
        if not await store.lead_publisher():
            # The post files are where the publisher writes them, maybe on another machine.
            raise StoreError(
                display_database(config.storage.database),
                "another worker holds the publisher lock: run prune where posts are published",
            )
        changes = await remove_articles(
            store, config.output, articles, lambda: store.delete_feed(name)
        )
        await run_on_change(config.output, changes)
        posts = "its post" if len(articles) == 1 else "their posts"
        report(f"pruned {name}: {counted(len(articles), 'article')} and {posts}")
        return EXIT_OK

    return await with_store(config, work)
