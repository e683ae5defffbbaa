"""``aggregator preview NAME`` or ``aggregator preview URL --source html --select KEY=VALUE``:
the entries a config yields, printed, nothing stored. On a terminal with rich's colours,
plain text otherwise, JSON with ``--json``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from ..config import Config, FeedConfig
from ..config.select import KEYS, SelectError, SourceSelect, parse_select
from ..errors import FetchError, ParseError, UsageError
from ..run.logs import report
from ..run.preview import Preview, preview_feed
from ..steps.preview import PreviewItem
from ..steps.text import counted
from .common import EXIT_FEED_FAILED, EXIT_OK

# One printed line: (text, rich style) segments.
Line = list[tuple[str, str]]


async def cmd_preview(config: Config, args: argparse.Namespace) -> int:
    feed = preview_config(config, args.target, args.source, args.select, args.timezone)
    try:
        preview = await preview_feed(config, feed)
    except (FetchError, ParseError) as e:
        report(f"aggregator: preview {feed.name!r}: {e}")
        return EXIT_FEED_FAILED
    if args.json:
        json.dump(preview_json(preview), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    elif sys.stdout.isatty():
        from rich.console import Console
        from rich.text import Text

        console = Console(highlight=False)
        for line in preview_lines(preview):
            console.print(Text.assemble(*line))
    else:
        sys.stdout.write(
            "".join("".join(t for t, _ in line) + "\n" for line in preview_lines(preview))
        )
    return EXIT_OK


def preview_config(
    config: Config,
    target: str,
    source: str | None,
    select: list[str],
    timezone: str | None,
) -> FeedConfig:
    """The configured feed named ``target``, else a feed at the URL (or local file)
    ``target``; ``--source``, ``--select`` and ``--timezone`` change or add to its config.
    Raises UsageError naming the option."""
    feed = config.feed(target)
    if feed is None:
        url = _as_url(target)
        if url is None:
            raise UsageError(
                f"no feed named {target!r} in {config.path}, nor an http(s) URL or a file"
            )
        feed = FeedConfig(name=target, url=url, source="html")
    kind = source or feed.source
    table = _table(feed.select) if kind == feed.source else {}
    table |= dict(_key_value(option) for option in select)
    if timezone is not None:
        table["timezone"] = timezone
    return dataclasses.replace(feed, source=kind, select=_select(kind, table))


def _as_url(target: str) -> str | None:
    scheme = urlsplit(target).scheme.lower()
    if scheme in ("http", "https", "file"):
        return target
    path = Path(target)
    return path.resolve().as_uri() if path.is_file() else None


def _table(select: SourceSelect | None) -> dict[str, Any]:
    if select is None:
        return {}
    return {key: value for key in KEYS if (value := getattr(select, key)) is not None}


def _key_value(option: str) -> tuple[str, Any]:
    key, equals, value = option.partition("=")
    key = key.strip()
    if not equals or not key:
        raise UsageError(f"--select {option!r}: expected KEY=VALUE, e.g. items='div.article-item'")
    if key == "pages":
        if not value.strip().isdigit():
            raise UsageError(f"--select pages: a whole number from 1 to 10, not {value!r}")
        return key, int(value)
    return key, value


def _select(kind: str, table: dict[str, Any]) -> SourceSelect | None:
    if kind == "feed":
        if table:
            raise UsageError('--select and --timezone are for --source html or json, not "feed"')
        return None
    if not table and kind == "html":
        return None  # autodetect
    if not table:
        raise UsageError(
            "--source json needs --select: items=PATH and title=PATH or link=PATH "
            "(dotted paths, see docs/sources.md)"
        )
    try:
        return parse_select(kind, table)
    except SelectError as e:
        raise UsageError(f"--select {e.key}: {e.expected}") from None


# -- output -------------------------------------------------------------------------------


def preview_lines(preview: Preview) -> list[Line]:
    """The preview as lines of styled segments: a header, then one block per entry."""
    zone = _zone(preview.feed)
    lines = _header(preview)
    for number, item in enumerate(preview.items, 1):
        lines += [[], *_item(number, item, zone)]
    return lines


def _header(p: Preview) -> list[Line]:
    kept = sum(item.kept for item in p.items)
    away = len(p.items) - kept
    counts = counted(len(p.items), "entry", "entries")
    if away:
        counts += f", {away} turned away by the include / exclude rules"
    lines: list[Line] = [[(p.feed.name, "bold"), (f": {counts}", "")]]
    where = f"  from {p.url} ({p.feed.source}"
    if p.read is not None:
        where += f", {counted(len(p.read.pages), 'page')}"
    lines.append([(where + ")", "dim")])
    if p.title:
        lines.append([(f"  page title: {p.title}", "dim")])
    if p.read is None:
        return lines
    if p.read.detected:
        lines.append([(f"  found by autodetect in {p.read.detected}", "cyan")])
    for url in p.read.pages[1:]:
        lines.append([(f"  next page: {url}", "dim")])
    if p.read.skipped:
        skipped = counted(p.read.skipped, "item")
        lines.append([(f"  {skipped} without a title or a link skipped", "yellow")])
    lines += [[("  warning: ", "bold yellow"), (w, "yellow")] for w in p.read.warnings]
    return lines


def _item(number: int, item: PreviewItem, zone: ZoneInfo | None) -> list[Line]:
    mark = "" if item.kept else "  (turned away by the rules)"
    lines: list[Line] = [
        [(f"{number:>3}. ", "dim"), (item.title or "(no title)", "bold"), (mark, "red")]
    ]
    lines.append([("     ", ""), (item.link or "(no link)", "blue")])
    meta = [_date(item, zone), item.author or "", ", ".join(item.tags)]
    lines.append([("     " + " · ".join(m for m in meta if m), "green")])
    if item.summary:
        lines.append([("     " + item.summary, "")])
    return lines


def _zone(feed: FeedConfig) -> ZoneInfo | None:
    name = feed.select.timezone if feed.select is not None else None
    return ZoneInfo(name) if name else None


def _date(item: PreviewItem, zone: ZoneInfo | None) -> str:
    if item.date is None:
        return "no date (the first-seen time is used)"
    shown = item.date.astimezone(zone) if zone else item.date
    return shown.isoformat(" ", "minutes").replace("+00:00", " UTC")


def preview_json(p: Preview) -> dict[str, Any]:
    return {
        "name": p.feed.name,
        "url": p.url,
        "source": p.feed.source,
        "title": p.title,
        "pages": list(p.read.pages) if p.read else [p.url],
        "detected": p.read.detected if p.read else None,
        "skipped_items": p.read.skipped if p.read else 0,
        "warnings": list(p.read.warnings) if p.read else [],
        "entries": [
            {
                "title": item.title,
                "link": item.link,
                "date": item.date.isoformat() if item.date else None,
                "author": item.author,
                "image": item.image,
                "tags": list(item.tags),
                "summary": item.summary,
                "kept": item.kept,
            }
            for item in p.items
        ],
    }
