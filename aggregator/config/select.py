"""`[feeds.select]`: which parts of a list page or a JSON document make the entries.

For ``source = "html"`` a key is a CSS selector inside each item: ``"h2 a"`` (the text of the
first match), ``"h2 a@href"`` (an attribute of it), ``"@data-id"`` (an attribute of the item
itself). With ``script`` (the items come from JSON embedded in the page) and for
``source = "json"``, every key is a dotted path (paths.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from .paths import parse_path

SOURCE_KINDS = ("html", "json")
MAX_PAGES = 10  # pages read per pass when following `next_page`
_FIELD_KEYS = ("title", "link", "date", "summary", "image", "author", "id", "tags", "next_page")
_OPTION_KEYS = ("date_format", "timezone", "script")
KEYS = ("items", *_FIELD_KEYS, *_OPTION_KEYS, "pages")
_ATTRIBUTE = re.compile(r"@([A-Za-z_:][-\w:.]*)\Z")
# A JavaScript name (window.X, __INITIAL_STATE__); a first name `script` reads as CSS instead.
_JS_TARGET = re.compile(r"(?!script\b)[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\Z")


class SelectError(ValueError):
    """A `[feeds.select]` value that cannot be used: ``key`` and what was expected."""

    def __init__(self, key: str, expected: str) -> None:
        super().__init__(f"{key}: {expected}")
        self.key = key
        self.expected = expected


@dataclass(frozen=True, slots=True)
class SourceSelect:
    """A feed's ``source`` kind and its `[feeds.select]` table, validated."""

    kind: str  # "html" or "json"
    items: str
    title: str | None = None
    link: str | None = None
    date: str | None = None
    summary: str | None = None
    image: str | None = None
    author: str | None = None
    id: str | None = None  # the entry key; default: the link
    tags: str | None = None  # the item's categories (an extension of issue 19's keys)
    date_format: str | None = None
    timezone: str | None = None  # IANA name; dates without an offset are read in it (else UTC)
    script: str | None = None  # html only: a JS assignment target or a <script> CSS selector
    next_page: str | None = None
    pages: int = 1

    @property
    def uses_paths(self) -> bool:
        """Keys are dotted paths (JSON API, or data embedded in the page), not CSS."""
        return self.kind == "json" or self.script is not None

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone) if self.timezone else UTC


def parse_select(kind: str, table: dict[str, Any]) -> SourceSelect:
    """Validate a raw `[feeds.select]` table for ``source = kind``. Raises SelectError (a
    ValueError) naming the key and what was expected."""
    if kind not in SOURCE_KINDS:
        raise SelectError("source", f'"html" or "json" for a [feeds.select] table, not {kind!r}')
    for key in table:
        if key not in KEYS:
            raise SelectError(key, f"an unknown key; known: {', '.join(KEYS)}")
    if "items" not in table:
        raise SelectError("items", "required: a CSS selector or dotted path of the items")
    values = {key: _one_line(key, table.get(key)) for key in (*_FIELD_KEYS, *_OPTION_KEYS, "items")}
    if values["script"] is not None:
        if kind != "html":
            raise SelectError(
                "script", 'no `script`: it is only for source = "html" (JSON is data already)'
            )
        _check_script(values["script"])
    select = SourceSelect(kind=kind, pages=_pages(table.get("pages", 1)), **_present(values))
    _check_fields(select)
    if select.date_format is not None:
        _check_date_format(select.date_format)
    if select.timezone is not None:
        _check_timezone(select.timezone)
    return select


def split_selector(text: str) -> tuple[str | None, str | None]:
    """``"h2 a@href"`` -> ("h2 a", "href"); ``"@data-id"`` -> (None, "data-id"); ``"p"`` ->
    ("p", None)."""
    match = _ATTRIBUTE.search(text)
    if match is None:
        return text.strip(), None
    return text[: match.start()].strip() or None, match.group(1)


def is_js_target(script: str) -> bool:
    """`script` names a JavaScript assignment (window.X), not a <script> CSS selector."""
    return _JS_TARGET.match(script.strip()) is not None


def _present(values: dict[str, str | None]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value is not None}


def _one_line(key: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SelectError(key, f"a string, not {type(value).__name__}")
    text = value.strip()
    if not text or "\n" in text or "\r" in text:
        raise SelectError(key, f"a non-empty single line, not {value!r}")
    return text


def _pages(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_PAGES:
        raise SelectError("pages", f"a whole number from 1 to {MAX_PAGES}, not {value!r}")
    return value


def _check_fields(select: SourceSelect) -> None:
    for key in ("items", *_FIELD_KEYS):
        text = getattr(select, key)
        if text is None:
            continue
        if select.uses_paths:
            try:
                parse_path(text)
            except ValueError as e:
                raise SelectError(key, str(e)) from None
        else:
            _check_css_field(key, text)
    if select.uses_paths and select.title is None and select.link is None:
        raise SelectError("title", "a path for `title` or `link` (or both): items need one")


def _check_css_field(key: str, text: str) -> None:
    css, attribute = split_selector(text)
    if key == "items" and attribute is not None:
        raise SelectError(key, f"a CSS selector of the item elements, without @attribute: {text!r}")
    if css is not None and not valid_css(css):
        raise SelectError(key, f"a valid CSS selector, not {css!r}")


def valid_css(css: str) -> bool:
    try:
        LexborHTMLParser("").css(css)
    except SelectolaxError:
        return False
    return True


def _check_script(script: str) -> None:
    if not is_js_target(script) and not valid_css(script):
        raise SelectError(
            "script",
            "a JavaScript name assigned in the page (window.__INITIAL_STATE__) or a CSS "
            f"selector of a <script> element (script#__NEXT_DATA__), not {script!r}",
        )


def _check_date_format(text: str) -> None:
    sample = datetime(2000, 12, 31, 23, 59, 58, tzinfo=UTC)
    try:
        datetime.strptime(sample.strftime(text), text)
    except ValueError as e:
        raise SelectError("date_format", f"a strptime format such as '%m月%d日' ({e})") from None
    if "%" not in text:
        raise SelectError("date_format", f"a strptime format with % directives, not {text!r}")


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise SelectError(
            "timezone", f"an IANA time zone name such as 'Asia/Shanghai', not {name!r}"
        ) from None
