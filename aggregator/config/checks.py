"""Pure: how a config key is declared (``key()``, ``Key``), and the checks of its values.

A check takes a value as TOML gave it and returns it typed, or raises ValueError / TypeError
whose text completes "expected ..." (the reader adds the key and the value it got). A resolver
places a checked value in the config file's folder. The keys themselves: keys.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, dataclass_transform
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, SelectolaxError

FILTER_FIELDS = ("title", "content", "author", "link", "category")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_DURATION_FORMS = 'seconds or a string like "90s", "15m", "2h", "1d"'
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)


@dataclass(frozen=True, slots=True)
class FilterRule:
    field: str
    pattern: re.Pattern[str]


_KEY = "aggregator.key"  # the metadata entry of a declared field
REQUIRED: Any = object()  # a key config.toml must give
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Key:
    """One key's declaration."""

    check: Callable[[object], Any]  # the TOML value -> the typed value (the checks below)
    doc: str  # its line in docs/config.md
    default: object = REQUIRED  # as config.toml would write it; None: not set
    shown: str | None = None  # the default as the docs show it, when it is computed
    secret: bool = False  # masked in every log line (logs.py)
    resolve: Callable[[Any, Path], Any] | None = None  # places the value in the config folder
    env: str | None = None  # an environment variable that, set, takes the key's place

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def shown_default(self) -> str:
        """The default, as docs/config.md writes it."""
        if self.shown is not None:
            return self.shown
        if self.required:
            return "required"
        if self.default is None:
            return "none"
        return f"`{_toml(self.default)}`"


def key(
    check: Callable[[object], Any],
    doc: str,
    *,
    default: object = REQUIRED,
    in_folder: str | None = None,
    shown: str | None = None,
    secret: bool = False,
    resolve: Callable[[Any, Path], Any] | None = None,
    env: str | None = None,
) -> Any:
    """Declare a record field as a config key. ``default`` is written as config.toml would
    write it (``"30m"``, ``[]``) and checked into the record's default. ``in_folder`` is a
    default path within the config file's folder: the record has no default then, the reader
    resolves it (and type checkers see a required field, as they see ``default`` here as the
    field's default: ``key`` is a field specifier)."""
    if in_folder is not None:
        if resolve is None:
            raise TypeError("a default in_folder needs a resolve that places it there")
        default = in_folder
    declared = Key(check, doc, default, shown, secret, resolve, env)
    metadata = {_KEY: declared}
    if declared.required or in_folder is not None:
        return field(metadata=metadata)
    value = None if default is None else check(default)
    return field(default=value, metadata=metadata)


@dataclass_transform(frozen_default=True, field_specifiers=(key, field))
def config_record(cls: type[R]) -> type[R]:
    """A frozen dataclass whose fields are config keys."""
    return dataclass(frozen=True, slots=True)(cls)


def declared(record: type) -> dict[str, Key]:
    """The record's keys, in declaration order."""
    return {f.name: f.metadata[_KEY] for f in dataclasses.fields(record) if _KEY in f.metadata}


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict) and not value:
        return "{}"
    return json.dumps(value)  # numbers, []


# The checks: a TOML value -> the typed value, or ValueError / TypeError completing "expected".


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


def positive_duration(value: object) -> float:
    if _signed_duration(value) <= 0:
        raise ValueError("a duration above zero")
    return parse_duration(value)


def string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("a string")
    return value


def one_line(value: object) -> str:
    text = string(value)
    if any(c in text for c in "\r\n\0"):
        raise ValueError("a single line of text")
    return text


def name(value: object) -> str:
    text = one_line(value)
    if not text.strip():
        raise ValueError("a non-empty name")
    return text


def strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("a list of strings")
    return tuple(one_line(v) for v in value)


def one_of(*choices: str) -> Callable[[object], str]:
    """A check that takes one of ``choices``."""
    quoted = [f'"{c}"' for c in choices]
    expected = f"{', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1 else quoted[0]

    def check(value: object) -> str:
        if string(value) not in choices:
            raise ValueError(expected)
        return str(value)

    return check


def boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("a positive integer")
    return value


def non_negative_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("an integer >= 0")
    return value


def fraction(value: object) -> float:
    """A share or a similarity: above 0, at most 1."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= 1  # NaN fails this too
    ):
        raise ValueError("a number above 0 and at most 1")
    return float(value)


def table(value: object) -> dict[str, Any]:
    """A TOML table, kept raw for a reader that knows its keys."""
    if not isinstance(value, dict):
        raise TypeError("a table")
    return value


def selector(value: object) -> str:
    text = one_line(value)
    try:
        LexborHTMLParser("").css(text)
    except SelectolaxError:
        raise ValueError(f"a valid CSS selector, not {text!r}") from None
    return text


def selectors(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError("a list of CSS selectors")
    return tuple(selector(v) for v in value)


def http_url(value: object) -> str:
    """An absolute http(s) URL, as a feed reader would follow it from the document."""
    text = one_line(value)
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


def feed_url(value: object) -> str:
    """An http(s) URL, a file: URL, or a local path (feed_url_in resolves it)."""
    text = string(value)
    scheme = urlsplit(text).scheme.lower()
    # A one-letter scheme is a Windows drive letter: a path.
    if scheme and scheme not in ("http", "https", "file") and len(scheme) > 1:
        raise ValueError("an http(s) URL, a file: URL or a local path")
    return text


def host_port(value: object) -> str:
    text = string(value)
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError('"HOST:PORT"')
    return text


def headers(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError("a table of string values")
    for header in value:
        if not _TOKEN.fullmatch(header):
            raise ValueError(f"HTTP header names (letters, digits, -), not {header!r}")
    return tuple((k, one_line(v)) for k, v in value.items())


def rules(value: object) -> tuple[FilterRule, ...]:
    found = []
    for text in strings(value):
        field_name, sep, pattern = text.partition(":")
        if not sep or field_name not in FILTER_FIELDS:
            raise ValueError(f'"field:regex" with field one of {", ".join(FILTER_FIELDS)}')
        try:
            found.append(FilterRule(field_name, re.compile(pattern)))
        except re.error as e:
            raise ValueError(f"a valid regex ({e})") from None
    return tuple(found)


# Resolvers: (checked value, the config file's folder) -> the value the records keep.


def path_in(text: str, folder: Path) -> Path:
    return Path(os.path.join(folder, os.path.expanduser(text)))


def database_in(text: str, folder: Path) -> str:
    """A database URL as written; a SQLite file path in the config's folder."""
    return text if "://" in text else str(path_in(text, folder))


def feed_url_in(text: str, folder: Path) -> str:
    if urlsplit(text).scheme.lower() in ("http", "https", "file"):
        return text
    return path_in(text, folder).as_uri()
