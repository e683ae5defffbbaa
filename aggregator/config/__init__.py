"""Load and validate config.toml into frozen values, once; below every layer but models and
errors (steps take a FeedConfig), so it imports neither.

keys.py declares the records and every key once (default, check, secret, doc); checks.py
holds the value checks; select.py and paths.py the ``[feeds.select]`` language (CSS with
``@attribute``, dotted paths), parsed here and evaluated by steps/sources. One generic reader
walks those declarations for every section and every feed, then checks what involves several
keys. Every error names the file, the key and what was expected. Relative paths resolve against
the config file's folder.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .checks import FILTER_FIELDS, FilterRule, Key, declared, parse_duration
from .checks import name as _name
from .keys import (
    DATABASE_ENV,
    DEFAULT_PLACEHOLDER,
    DEFAULT_USER_AGENT,
    FEEDS,
    SECTIONS,
    SOURCE_KINDS,
    DaemonConfig,
    DedupeConfig,
    FeedConfig,
    FetchConfig,
    FiltersConfig,
    OutputConfig,
    ScheduleConfig,
    StorageConfig,
)

if TYPE_CHECKING:
    from .select import SourceSelect

__all__ = [
    "CONFIG_ENV",
    "DATABASE_ENV",
    "DEFAULT_CONFIG",
    "DEFAULT_PLACEHOLDER",
    "DEFAULT_USER_AGENT",
    "FILTER_FIELDS",
    "SOURCE_KINDS",
    "Config",
    "DaemonConfig",
    "DedupeConfig",
    "FeedConfig",
    "FetchConfig",
    "FilterRule",
    "FiltersConfig",
    "OutputConfig",
    "ScheduleConfig",
    "StorageConfig",
    "default_config_path",
    "load_config",
    "parse_config",
    "parse_duration",
    "secret_values",
]

DEFAULT_CONFIG = "config.toml"
CONFIG_ENV = "AGGREGATOR_CONFIG"


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    storage: StorageConfig
    output: OutputConfig
    fetch: FetchConfig = field(default_factory=FetchConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    feeds: tuple[FeedConfig, ...] = ()
    include: tuple[FilterRule, ...] = ()
    exclude: tuple[FilterRule, ...] = ()
    dedupe: DedupeConfig = field(default_factory=DedupeConfig)

    def feed(self, name: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.name == name), None)


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "no such config file") from None
    except OSError as e:
        raise ConfigError(str(path), f"cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "not UTF-8 text") from None
    return parse_config(path, text)


def parse_config(path: Path, text: str) -> Config:
    """The config in ``text``, as if read from ``path`` (relative paths resolve from there)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), f"invalid TOML: {e}") from None
    return _Reader(path).config(raw)


def secret_values(config: Config) -> Iterator[object]:
    """The values of every key declared secret, as the records keep them (a URL, header
    pairs): logs.py masks what they hold."""
    records = [getattr(config, section) for section in SECTIONS if section != "filters"]
    for record in (*records, *config.feeds):
        for name, key in declared(type(record)).items():
            value = getattr(record, name)
            if key.secret and value:
                yield value


_UNSET: Any = object()  # the record's own default applies


class _Reader:
    """Validates one parsed TOML document; every error names file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder = path.resolve().parent

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(str(self.path), message, key=key)

    def config(self, raw: dict[str, Any]) -> Config:
        self.known(raw, "", {*SECTIONS, FEEDS})
        sections = {
            section: self.section(raw, section, record) for section, record in SECTIONS.items()
        }
        filters: FiltersConfig = sections.pop("filters")
        schedule: ScheduleConfig = sections["schedule"]
        if schedule.min_interval > schedule.max_interval:
            raise self.error("schedule.min_interval", "expected at most schedule.max_interval")
        return Config(
            path=self.path,
            **sections,
            feeds=self.feeds(raw.get(FEEDS, [])),
            include=filters.include,
            exclude=filters.exclude,
        )

    def section(self, raw: Mapping[str, Any], section: str, record: type) -> Any:
        table = raw.get(section, {})
        if not isinstance(table, dict):
            raise self.error(section, "expected a table")
        return record(**self.values(record, table, section))

    def known(self, table: Mapping[str, Any], prefix: str, allowed: set[str]) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            where = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
            expected = ", ".join(sorted(allowed))
            raise self.error(where, f"unknown key (expected one of: {expected})")

    def values(self, record: type, table: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        """The one generic reader: each declared key of ``record``, checked, from ``table``."""
        keys = declared(record)
        self.known(table, prefix, set(keys))
        values = {name: self.value(table, prefix, name, key) for name, key in keys.items()}
        return {name: value for name, value in values.items() if value is not _UNSET}

    def value(self, table: Mapping[str, Any], prefix: str, name: str, key: Key) -> Any:
        if key.env and (from_env := os.environ.get(key.env)):
            return from_env  # the environment wins, so that a password need not sit in the file
        if name in table:
            given = table[name]
        elif key.required:
            raise self.error(f"{prefix}.{name}", "missing required key")
        elif key.resolve is not None and key.default is not None:
            given = key.default  # a path in the config folder: the record cannot know it
        else:
            return _UNSET
        try:
            value = key.check(given)
        except (ValueError, TypeError) as e:
            raise self.error(f"{prefix}.{name}", f"expected {e}, got {given!r}") from None
        return value if key.resolve is None else key.resolve(value, self.folder)

    def feeds(self, value: object) -> tuple[FeedConfig, ...]:
        if not isinstance(value, list):
            raise self.error(FEEDS, "expected an array of tables ([[feeds]])")
        feeds = tuple(self.feed(i, item) for i, item in enumerate(value))
        seen_names: set[str] = set()
        seen_urls: set[str] = set()
        for i, f in enumerate(feeds):
            prefix = _feed_prefix(i, f.name)
            if f.name in seen_names:
                raise self.error(f"{prefix}.name", f"expected a unique name, {f.name!r} repeats")
            if f.url in seen_urls:
                raise self.error(f"{prefix}.url", f"expected a unique URL, {f.url!r} repeats")
            seen_names.add(f.name)
            seen_urls.add(f.url)
        return feeds

    def feed(self, index: int, item: object) -> FeedConfig:
        if not isinstance(item, dict):
            raise self.error(f"feeds[{index}]", "expected a table")
        # Errors name the feed as well as its place, once its name can be read.
        try:
            prefix = _feed_prefix(index, _name(item.get("name")))
        except (ValueError, TypeError):
            prefix = f"feeds[{index}]"
        values = self.values(FeedConfig, item, prefix)
        source = values.get("source", "feed")
        values["select"] = self.select(prefix, source, values.get("select"))
        return FeedConfig(**values)

    def select(self, prefix: str, source: str, table: dict[str, Any] | None) -> SourceSelect | None:
        """The feed's `[feeds.select]` table, validated for its ``source`` kind."""
        if table is None:
            if source == "json":
                raise self.error(
                    f"{prefix}.select",
                    'missing required table for source = "json" (dotted paths of the items '
                    "and their fields: see docs/sources.md)",
                )
            return None  # a feed; an html page finds its items itself
        if source == "feed":
            raise self.error(
                f"{prefix}.select",
                'unexpected for source = "feed": set source = "html" or "json", or remove it',
            )
        # Imported here: only a config with a select table needs the page readers loaded.
        from .select import KEYS, SelectError, parse_select

        where = f"{prefix}.select"
        self.known(table, where, set(KEYS))
        if "items" not in table:
            raise self.error(f"{where}.items", "missing required key")
        try:
            return parse_select(source, table)
        except SelectError as e:
            culprit = f"{prefix}.source" if e.key == "source" else f"{where}.{e.key}"
            raise self.error(culprit, f"expected {e.expected}") from None


def _feed_prefix(index: int, name: str) -> str:
    """``feeds[0] "Tech"``: where the feed is, and which one (JSON quoting, as TOML's)."""
    return f"feeds[{index}] {json.dumps(name, ensure_ascii=False)}"
