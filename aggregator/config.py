"""Load and validate config.toml into frozen values, once.

Every error names the file, the key and what was expected. Relative paths resolve against the
config file's folder. Defaults live here, next to their keys (docs/config.md lists them).
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from . import __version__
from .errors import ConfigError

DEFAULT_CONFIG = "config.toml"
CONFIG_ENV = "AGGREGATOR_CONFIG"
DATABASE_ENV = "AGGREGATOR_DATABASE_URL"  # overrides [storage] database (keeps secrets out)
DEFAULT_USER_AGENT = f"aggregator/{__version__} (+https://github.com/aggregator-dev/aggregator)"
DEFAULT_PLACEHOLDER = "https://picsum.photos/400/300?random={n}"
FILTER_FIELDS = ("title", "content", "author", "link", "category")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)


@dataclass(frozen=True, slots=True)
class FilterRule:
    field: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class FeedConfig:
    name: str
    url: str
    categories: tuple[str, ...] = ()
    author: str | None = None
    interval: float | None = None
    adaptive: bool | None = None
    enabled: bool = True
    full_text: bool = False
    content_selector: str | None = None
    remove_selectors: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    user_agent: str | None = None
    timeout: float | None = None
    backlog: int | None = None
    include: tuple[FilterRule, ...] = ()
    exclude: tuple[FilterRule, ...] = ()

    @property
    def post_author(self) -> str:
        return self.author or self.name


@dataclass(frozen=True, slots=True)
class StorageConfig:
    database: str
    keep_days: int = 0


@dataclass(frozen=True, slots=True)
class OutputConfig:
    posts_dir: Path
    atom_path: Path
    atom_limit: int = 100
    atom_title: str = "aggregator"
    atom_id: str | None = None
    atom_url: str | None = None  # where the Atom document is served: its rel="self" link
    json_feed_path: Path | None = None
    json_feed_url: str | None = None  # where the JSON Feed is served: its feed_url
    placeholder_image: str = DEFAULT_PLACEHOLDER
    leading_blank_line: bool = True
    atom_every: float = 60.0
    on_change: tuple[str, ...] = ()
    on_change_cwd: Path | None = None
    on_change_timeout: float = 120.0
    allow_data_images: bool = False  # inline data:image/png|gif|jpeg|webp kept in content


@dataclass(frozen=True, slots=True)
class FetchConfig:
    concurrency: int = 32
    per_host: int = 4
    timeout: float = 30.0
    max_bytes: int = 16 * 1024 * 1024
    user_agent: str = DEFAULT_USER_AGENT
    max_redirects: int = 10
    max_retry_wait: float = 30.0
    retries: int = 2
    allow_private: bool = False
    proxy: str | None = None
    backlog: int = 0


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    interval: float = 1800.0
    min_interval: float = 300.0
    max_interval: float = 86400.0
    adaptive: bool = True
    max_failures: int = 10
    tick: float = 5.0
    lease: float = 300.0


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    grace: float = 20.0
    health: str | None = None


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

    def feed(self, name: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.name == name), None)


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


_DURATION_FORMS = 'seconds or a string like "90s", "15m", "2h", "1d"'


def parse_duration(value: object) -> float:
    """``30``, ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"`` -> seconds, zero or more. Raises
    ValueError completing "expected ...": the forms, or "of zero or more" for a negative."""
    seconds = _signed_duration(value)
    if seconds < 0:
        raise ValueError("a duration of zero or more")
    return seconds


def _signed_duration(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        sign = -1.0 if text.startswith("-") else 1.0
        if m := _DURATION.match(text.removeprefix("-")):
            return sign * float(m.group(1)) * _UNITS[m.group(2)]
    raise ValueError(f"a duration ({_DURATION_FORMS})")


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


T = TypeVar("T")

_Check = Callable[[object], T]


class _Reader:
    """Validates one parsed TOML document; every error names file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.resolve().parent

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(str(self.path), message, key=key)

    def table(self, raw: Mapping[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            raise self.error(key, "expected a table")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.error(
                f"{key}.{unknown[0]}",
                f"unknown key (expected one of: {', '.join(sorted(allowed))})",
            )
        return value

    def get(
        self, table: Mapping[str, Any], prefix: str, key: str, check: _Check[T], default: T
    ) -> T:
        return self._checked(table, prefix, key, check) if key in table else default

    def require(self, table: Mapping[str, Any], prefix: str, key: str, check: _Check[T]) -> T:
        if key not in table:
            raise self.error(f"{prefix}.{key}", "missing required key")
        return self._checked(table, prefix, key, check)

    def _checked(self, table: Mapping[str, Any], prefix: str, key: str, check: _Check[T]) -> T:
        try:
            return check(table[key])
        except (ValueError, TypeError) as e:
            raise self.error(f"{prefix}.{key}", f"expected {e}, got {table[key]!r}") from None

    def path_value(self, value: object) -> Path:
        text = _string(value)
        return Path(os.path.join(self.base, os.path.expanduser(text)))

    def database(self, value: object) -> str:
        text = _string(value)
        if "://" in text:
            return text
        return str(self.path_value(text))

    def feed_url(self, value: object) -> str:
        text = _string(value)
        scheme = urlsplit(text).scheme.lower()
        if scheme in ("http", "https"):
            return text
        if scheme == "file":
            return text
        if scheme and len(scheme) > 1:
            raise ValueError("an http(s) URL, a file: URL or a local path")
        return self.path_value(text).as_uri()

    def config(self, raw: dict[str, Any]) -> Config:
        top = {"storage", "output", "fetch", "schedule", "daemon", "feeds", "filters"}
        unknown = sorted(set(raw) - top)
        if unknown:
            raise self.error(unknown[0], f"unknown key (expected one of: {', '.join(sorted(top))})")
        filters = self.table(raw, "filters", {"include", "exclude"})
        fetch = self.fetch(self.table(raw, "fetch", _fields(FetchConfig)))
        return Config(
            path=self.path,
            storage=self.storage(self.table(raw, "storage", _fields(StorageConfig))),
            output=self.output(self.table(raw, "output", _fields(OutputConfig))),
            fetch=fetch,
            schedule=self.schedule(self.table(raw, "schedule", _fields(ScheduleConfig))),
            daemon=self.daemon(self.table(raw, "daemon", _fields(DaemonConfig))),
            feeds=self.feeds(raw.get("feeds", [])),
            include=self.get(filters, "filters", "include", _rules, ()),
            exclude=self.get(filters, "filters", "exclude", _rules, ()),
        )

    def storage(self, t: dict[str, Any]) -> StorageConfig:
        # The environment wins, so that a password need not sit in config.toml.
        from_env = os.environ.get(DATABASE_ENV)
        return StorageConfig(
            database=from_env
            or self.get(
                t,
                "storage",
                "database",
                self.database,
                str(self.path_value("data/aggregator.sqlite3")),
            ),
            keep_days=self.get(t, "storage", "keep_days", _non_negative_int, 0),
        )

    def output(self, t: dict[str, Any]) -> OutputConfig:
        g = partial(self.get, t, "output")
        json_path = g("json_feed_path", self.path_value, None)
        cwd = g("on_change_cwd", self.path_value, None)
        return OutputConfig(
            posts_dir=g("posts_dir", self.path_value, self.path_value("data/posts")),
            atom_path=g("atom_path", self.path_value, self.path_value("data/atom.xml")),
            atom_limit=g("atom_limit", _positive_int, 100),
            atom_title=g("atom_title", _string, "aggregator"),
            atom_id=g("atom_id", _string, None),
            atom_url=g("atom_url", _http_url, None),
            json_feed_path=json_path,
            json_feed_url=g("json_feed_url", _http_url, None),
            placeholder_image=g("placeholder_image", _string, DEFAULT_PLACEHOLDER),
            leading_blank_line=g("leading_blank_line", _bool, True),
            atom_every=g("atom_every", parse_duration, 60.0),
            on_change=g("on_change", _strings, ()),
            on_change_cwd=cwd,
            on_change_timeout=g("on_change_timeout", parse_duration, 120.0),
            allow_data_images=g("allow_data_images", _bool, False),
        )

    def fetch(self, t: dict[str, Any]) -> FetchConfig:
        g = partial(self.get, t, "fetch")
        d = FetchConfig()
        return FetchConfig(
            concurrency=g("concurrency", _positive_int, d.concurrency),
            per_host=g("per_host", _positive_int, d.per_host),
            timeout=g("timeout", _positive_duration, d.timeout),
            max_bytes=g("max_bytes", _positive_int, d.max_bytes),
            user_agent=g("user_agent", _one_line, d.user_agent),
            max_redirects=g("max_redirects", _non_negative_int, d.max_redirects),
            max_retry_wait=g("max_retry_wait", parse_duration, d.max_retry_wait),
            retries=g("retries", _non_negative_int, d.retries),
            allow_private=g("allow_private", _bool, d.allow_private),
            proxy=g("proxy", _string, None),
            backlog=g("backlog", _non_negative_int, 0),
        )

    def schedule(self, t: dict[str, Any]) -> ScheduleConfig:
        g = partial(self.get, t, "schedule")
        d = ScheduleConfig()
        s = ScheduleConfig(
            interval=g("interval", _positive_duration, d.interval),
            min_interval=g("min_interval", _positive_duration, d.min_interval),
            max_interval=g("max_interval", _positive_duration, d.max_interval),
            adaptive=g("adaptive", _bool, d.adaptive),
            max_failures=g("max_failures", _non_negative_int, d.max_failures),
            tick=g("tick", _positive_duration, d.tick),
            lease=g("lease", _positive_duration, d.lease),
        )
        if s.min_interval > s.max_interval:
            raise self.error("schedule.min_interval", "expected at most schedule.max_interval")
        return s

    def daemon(self, t: dict[str, Any]) -> DaemonConfig:
        return DaemonConfig(
            grace=self.get(t, "daemon", "grace", parse_duration, 20.0),
            health=self.get(t, "daemon", "health", _host_port, None),
        )

    def feeds(self, value: object) -> tuple[FeedConfig, ...]:
        if not isinstance(value, list):
            raise self.error("feeds", "expected an array of tables ([[feeds]])")
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
        allowed = _fields(FeedConfig)
        unknown = sorted(set(item) - allowed)
        if unknown:
            raise self.error(
                f"{prefix}.{unknown[0]}",
                f"unknown key (expected one of: {', '.join(sorted(allowed))})",
            )
        g = partial(self.get, item, prefix)
        name = self.require(item, prefix, "name", _name)
        return FeedConfig(
            name=name,
            url=self.require(item, prefix, "url", self.feed_url),
            categories=g("categories", _strings, ()),
            author=g("author", _one_line, None),
            interval=g("interval", _positive_duration, None),
            adaptive=g("adaptive", _bool, None),
            enabled=g("enabled", _bool, True),
            full_text=g("full_text", _bool, False),
            content_selector=g("content_selector", _selector, None),
            remove_selectors=g("remove_selectors", _selectors, ()),
            headers=g("headers", _headers, ()),
            user_agent=g("user_agent", _one_line, None),
            timeout=g("timeout", _positive_duration, None),
            backlog=g("backlog", _non_negative_int, None),
            include=g("include", _rules, ()),
            exclude=g("exclude", _rules, ()),
        )


def _feed_prefix(index: int, name: str) -> str:
    """``feeds[0] "Tech"``: where the feed is, and which one (JSON quoting, as TOML's)."""
    return f"feeds[{index}] {json.dumps(name, ensure_ascii=False)}"


def _fields(cls: type) -> set[str]:
    return set(cls.__dataclass_fields__) - {"path"}  # type: ignore[attr-defined]


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("a string")
    return value


def _name(value: object) -> str:
    text = _one_line(value)
    if not text.strip():
        raise ValueError("a non-empty name")
    return text


def _one_line(value: object) -> str:
    text = _string(value)
    if any(c in text for c in "\r\n\0"):
        raise ValueError("a single line of text")
    return text


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("a list of strings")
    return tuple(_one_line(v) for v in value)


def _selector(value: object) -> str:
    text = _one_line(value)
    try:
        LexborHTMLParser("").css(text)
    except SelectolaxError:
        raise ValueError(f"a valid CSS selector, not {text!r}") from None
    return text


def _selectors(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError("a list of CSS selectors")
    return tuple(_selector(v) for v in value)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def _positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("a positive integer")
    return value


def _non_negative_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("an integer >= 0")
    return value


def _positive_duration(value: object) -> float:
    if _signed_duration(value) <= 0:
        raise ValueError("a duration above zero")
    return parse_duration(value)


def _http_url(value: object) -> str:
    """An absolute http(s) URL, as a feed reader would follow it from the document."""
    text = _one_line(value)
    try:
        parts = urlsplit(text)
        absolute = (
            parts.scheme.lower() in ("http", "https")
            and bool(parts.hostname)
            and (parts.port is None or parts.port > 0)
        )
    except ValueError:  # a malformed port or IPv6 literal
        absolute = False
    if not absolute or any(c.isspace() for c in text):
        raise ValueError("an absolute http(s) URL")
    return text


def _host_port(value: object) -> str:
    text = _string(value)
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError('"HOST:PORT"')
    return text


def _headers(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError("a table of string values")
    for name in value:
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"HTTP header names (letters, digits, -), not {name!r}")
    return tuple((k, _one_line(v)) for k, v in value.items())


def _rules(value: object) -> tuple[FilterRule, ...]:
    rules = []
    for text in _strings(value):
        field_name, sep, pattern = text.partition(":")
        if not sep or field_name not in FILTER_FIELDS:
            raise ValueError(f'"field:regex" with field one of {", ".join(FILTER_FIELDS)}')
        try:
            rules.append(FilterRule(field_name, re.compile(pattern)))
        except re.error as e:
            raise ValueError(f"a valid regex ({e})") from None
    return tuple(rules)
