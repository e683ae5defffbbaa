"""I/O: add [[feeds]] tables to config.toml in place, keeping every comment and the layout.

The new tables are spliced into the file's text, after the last existing [[feeds]] table (or
at the end), rendered by tomlkit; nothing else in the file changes by a byte. tomlkit's own
``AoT.append`` is not used for that: it puts the new table after the comments that introduce
the next section and without a blank line (or glued to the last line when the file has no
final newline). Every edit is checked before it replaces the file: the new text must read as
the old document plus exactly the new feeds, and must pass the config loader; the file is
then replaced atomically (temp file in the same folder, fsync, rename).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import tomlkit
from tomlkit.items import Array

from ..config import Config, load_config, parse_config
from ..errors import ConfigError, UsageError
from ..steps.opml import unique_name
from .files import write_file

__all__ = [
    "STARTER_CONFIG",
    "Appended",
    "FeedEntry",
    "Skipped",
    "append_feed",
    "append_feeds",
    "check_new_feed",
    "config_or_starter",
    "insert_feeds",
]

# What `add` and `import-opml` write when there is no config file yet: a first import is how
# people move from another reader. The defaults are spelled out, so the file shows where to look.
STARTER_CONFIG = """\
# aggregator configuration, started by `aggregator add` or `import-opml`. Every key, with
# its default, is in docs/config.md; `aggregator check` validates this file. Relative paths
# resolve against this file's folder.

[storage]
database = "data/aggregator.sqlite3"      # SQLite file, or a postgresql:// URL
# keep_days = 0                           # delete articles older than this (0 = keep all)

[output]
posts_dir = "data/posts"                  # one .md post per article (Hexo: source/_posts)
atom_path = "data/atom.xml"               # the newest articles as one Atom document
# json_feed_path = "data/feed.json"       # the same as a JSON Feed
# atom_title = "aggregator"

# [fetch]
# timeout = "30s"                         # per request; see docs/config.md for retries
# concurrency = 32

# [schedule]
# interval = "30m"                        # how often `aggregator run` checks each feed

# Feeds: one [[feeds]] table each (name, url, categories). `aggregator add URL` and
# `aggregator import-opml FILE` append them below.
"""

# A table header line: [table], [[array]], with an optional comment after it.
_HEADER = re.compile(r"""[ \t]*\[\[?[ \t]*[A-Za-z0-9_."' -]+?[ \t]*\]\]?[ \t]*(?:#.*)?\r?\n?""")
_FEEDS_HEADER = re.compile(r"""[ \t]*\[\[[ \t]*("?)feeds\1[ \t]*\]\]""")
_FEEDS_SUBTABLE = re.compile(r"""[ \t]*\[[ \t]*("?)feeds\1[ \t]*\.""")  # [feeds.headers]
_TRIVIA = re.compile(r"[ \t]*(?:#.*)?\r?\n?")  # a blank or comment-only line
_BLANK = re.compile(r"[ \t]*\r?\n?")


class FeedLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def categories(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One [[feeds]] table as written: name, url and (when any) categories."""

    name: str
    url: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Skipped:
    feed: FeedEntry
    existing: str  # the configured feed that already has this URL


@dataclass(frozen=True, slots=True)
class Appended:
    added: tuple[FeedEntry, ...]  # under their final, unique names
    skipped: tuple[Skipped, ...]


# -- the edits -----------------------------------------------------------------------------


def check_new_feed(config: Config, name: str | None, url: str, given: str | None = None) -> None:
    """Raise UsageError, naming the config file it looked in, when ``name`` or ``url`` is
    already configured. ``given``: the URL the user typed, when ``url`` is the feed it led to."""
    if name is not None and config.feed(name) is not None:
        raise UsageError(f"a feed named {name!r} is already in {config.path}")
    existing = _configured_urls(config).get(_url_key(url))
    if existing is None:
        return
    configured = config.feed(existing)
    written = f" (as {configured.url})" if configured and configured.url != url else ""
    found = f"{given} leads to the feed {url}, which" if given and given != url else url
    raise UsageError(
        f"{found} is already configured as feed {existing!r}{written} in {config.path}"
    )


def config_or_starter(path: Path) -> Config:
    """The config at ``path``; when there is no file yet, the starter config that ``add`` and
    ``import-opml`` write there with the first feeds (and not before: a command that fails
    creates nothing)."""
    if path.exists() or path.is_symlink():
        return load_config(path)
    return parse_config(path, STARTER_CONFIG)


def append_feed(
    path: Path, name: str, url: str, categories: Sequence[str] = (), given: str | None = None
) -> FeedEntry:
    """Add one feed; a name or URL that is already configured is a UsageError. ``given``: the
    URL the user typed, when ``url`` is the feed discovered from it."""
    config = config_or_starter(path)
    check_new_feed(config, name, url, given)
    entry = FeedEntry(name, url, tuple(categories))
    _rewrite(path, [entry])
    return entry


def append_feeds(path: Path, feeds: Iterable[FeedLike]) -> Appended:
    """Add many feeds (an OPML import): a URL already configured (or repeated) is skipped and
    reported; a name already taken gets a suffix, "Name (2)"."""
    plan = _plan(config_or_starter(path), feeds)
    if plan.added:
        _rewrite(path, plan.added)
    return plan


def _plan(config: Config, feeds: Iterable[FeedLike]) -> Appended:
    names = {f.name for f in config.feeds}
    urls = _configured_urls(config)
    added: list[FeedEntry] = []
    skipped: list[Skipped] = []
    for feed in feeds:
        key = _url_key(feed.url)
        if key in urls:
            skipped.append(Skipped(FeedEntry(feed.name, feed.url, feed.categories), urls[key]))
            continue
        entry = FeedEntry(unique_name(feed.name, names), feed.url, tuple(feed.categories))
        names.add(entry.name)
        urls[key] = entry.name
        added.append(entry)
    return Appended(tuple(added), tuple(skipped))


def _configured_urls(config: Config) -> dict[str, str]:
    return {_url_key(f.url): f.name for f in config.feeds}


def _url_key(url: str) -> str:
    """Two spellings of one feed URL (case, default port, http/https, www., a fragment) are
    one feed."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    if parts.scheme.lower() not in ("http", "https"):
        return url.strip()
    host = (parts.hostname or "").removeprefix("www.")
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    return urlunsplit(("https", netloc, parts.path or "/", parts.query, ""))


# -- the text ------------------------------------------------------------------------------


def insert_feeds(text: str, feeds: Sequence[FeedEntry]) -> str:
    """Pure: ``text`` with ``feeds`` added as [[feeds]] tables (or to an inline ``feeds = [...]``
    array), every other byte unchanged."""
    doc = tomlkit.parse(text)
    existing = doc.get("feeds")
    if isinstance(existing, Array):
        for feed in feeds:
            existing.append(_inline_table(feed))
        return tomlkit.dumps(doc)
    newline = "\r\n" if "\r\n" in text else "\n"
    block = _tables_text(feeds).replace("\n", newline)
    lines = text.splitlines(keepends=True)
    # A header-like line may sit inside a multi-line string: the first splice that reads back
    # as intended wins; the end of the file always works (TOML allows [[feeds]] anywhere).
    for header in _headers_after_feeds(lines):
        spliced = _splice_above(lines, header, block, newline)
        if _adds_exactly(text, spliced, feeds):
            return spliced
    return _append_at_end(text, block, newline)


def _tables_text(feeds: Sequence[FeedEntry]) -> str:
    doc = tomlkit.document()
    tables = tomlkit.aot()
    for feed in feeds:
        tables.append(_table_value(feed))
    doc.append("feeds", tables)
    return tomlkit.dumps(doc)


def _table_value(feed: FeedEntry) -> dict[str, Any]:
    value: dict[str, Any] = {"name": feed.name, "url": feed.url}
    if feed.categories:
        value["categories"] = list(feed.categories)
    return value


def _inline_table(feed: FeedEntry) -> Any:
    table = tomlkit.inline_table()
    table.update(_table_value(feed))
    return table


def _headers_after_feeds(lines: list[str]) -> list[int]:
    """Table headers after the last [[feeds]] (whose [feeds.x] subtables are its own)."""
    last = max((i for i, line in enumerate(lines) if _FEEDS_HEADER.match(line)), default=None)
    if last is None:
        return []
    return [
        i
        for i in range(last + 1, len(lines))
        if _HEADER.fullmatch(lines[i]) and not _FEEDS_SUBTABLE.match(lines[i])
    ]


def _splice_above(lines: list[str], header: int, block: str, newline: str) -> str:
    """The block above the table at ``header``, below whatever precedes the comments that
    introduce that table."""
    at, blank_follows = _gap_above(lines, header)
    before, after = "".join(lines[:at]), "".join(lines[at:])
    return before + newline + block + ("" if blank_follows else newline) + after


def _gap_above(lines: list[str], header: int) -> tuple[int, bool]:
    """Where to insert above ``header``, and whether a blank line follows there: at the last
    blank lines before it, so the comments right above the header stay with it."""
    start = header
    while start > 0 and _TRIVIA.fullmatch(lines[start - 1]):
        start -= 1
    blanks = [i for i in range(start, header) if _BLANK.fullmatch(lines[i])]
    if not blanks:
        return start, False
    at = blanks[-1]
    while at > start and _BLANK.fullmatch(lines[at - 1]):
        at -= 1
    return at, True


def _append_at_end(text: str, block: str, newline: str) -> str:
    if not text.strip():
        return text + block
    if not text.endswith(("\n", "\r")):
        text += newline
    if not text.endswith(newline * 2):
        text += newline
    return text + block


def _adds_exactly(old: str, new: str, feeds: Sequence[FeedEntry]) -> bool:
    """``new`` reads as ``old`` plus these feeds at the end of the array, nothing else."""
    try:
        before, after = tomllib.loads(old), tomllib.loads(new)
    except tomllib.TOMLDecodeError:
        return False
    before["feeds"] = [*before.get("feeds", []), *(_table_value(f) for f in feeds)]
    return before == after


# -- the file ------------------------------------------------------------------------------


def _rewrite(path: Path, feeds: Sequence[FeedEntry]) -> None:
    create = not (path.exists() or path.is_symlink())
    old = STARTER_CONFIG if create else _read(path)
    new = insert_feeds(old, feeds)
    if not _adds_exactly(old, new, feeds):  # a bug, but never one that reaches the file
        raise ConfigError(str(path), "could not add the feeds without changing anything else")
    # Checked by the loader before it takes the old file's place (or is created).
    write_file(path, new, check=lambda temp: _validate(temp, path), create=create)


def _read(path: Path) -> str:
    try:
        # Bytes, then decode: text mode would turn \r\n into \n and rewrite every line.
        return path.read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError(str(path), f"cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "not UTF-8 text") from None


def _validate(temp: Path, path: Path) -> None:
    try:
        load_config(temp)
    except ConfigError as e:
        raise ConfigError(
            str(path), f"the edit would make it invalid: {e.message}", e.key
        ) from None
