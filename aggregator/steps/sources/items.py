"""Pure: the fields read from a source's items -> ParsedEntry records and one SourcePage.

Shared by the readers: html.py (CSS selectors, or data embedded in the page) and jsonapi.py
(dotted paths). The readers pick the values; this module turns them into entries, drops the
items that have neither title nor link, and says which configured key matched nothing.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from ...config.paths import evaluate, parse_path
from ...config.select import SourceSelect
from ...errors import ParseError
from ...models import ParsedEntry, ParsedFeed
from ..extract.html import absolute_url
from ..text import clean_line
from .dates import moves_with_now, parse_item_date

MAX_ITEMS = 1000  # items read from one page; the rest are left (and said so in the warning)
_FIELDS = ("title", "link", "date", "summary", "image", "author", "id", "tags")


@dataclass(frozen=True, slots=True)
class SourcePage:
    """One page (or API response) read as a feed."""

    feed: ParsedFeed
    skipped: int  # items with neither a title nor a link
    next_page: str | None  # the next page's absolute http(s) URL, when `next_page` found one
    detected: str | None = None  # without [feeds.select]: where autodetect found the items


@dataclass(frozen=True, slots=True)
class ItemValues:
    """One item's fields as found: text (``title`` as HTML-safe text) or None."""

    title: str | None = None
    link: str | None = None  # as written: resolved against the page later
    date: object = None  # text or an epoch number
    summary: str | None = None  # HTML
    image: str | None = None
    author: str | None = None
    id: str | None = None
    tags: tuple[str, ...] = field(default=())


def build_page(
    values: Iterable[ItemValues],
    select: SourceSelect,
    base: str,
    now: datetime,
    *,
    url: str,
    title: str,
    next_page: str | None,
    total: int,
) -> SourcePage:
    """Entries from the items' values, read from the page at ``url`` whose relative URLs
    resolve against ``base``. ``total`` is how many items the `items` key matched (more than
    were read when it passed MAX_ITEMS). Raises ParseError when no item has a
    title or a link: the page no longer fits the selectors."""
    entries: list[ParsedEntry] = []
    found: set[str] = set()
    read = skipped = undated = 0
    for item in values:
        read += 1
        found.update(name for name in _FIELDS if getattr(item, name))
        entry = _entry(item, select, base, now)
        if not entry.title and not entry.link:  # a javascript: link is no link
            skipped += 1
            continue
        undated += item.date not in (None, "") and (entry.published or entry.updated) is None
        entries.append(entry)
    if not entries:
        raise ParseError(
            url,
            f"{total} items for `items` ({select.items}) but none has a title or a link "
            f"(`title` {select.title or '-'}, `link` {select.link or '-'})",
        )
    warnings = _missing(select, found, read)
    if undated:
        warnings.append(
            f"`date` ({select.date}): {undated} of {len(entries)} dates not understood "
            "(date_format?)"
        )
    if total > MAX_ITEMS:
        warnings.append(f"{total} items: only the first {MAX_ITEMS} were read")
    feed = ParsedFeed(
        title=title, link=url, entries=tuple(entries), warning="; ".join(warnings) or None
    )
    return SourcePage(feed, skipped, next_page)


def _entry(item: ItemValues, select: SourceSelect, base: str, now: datetime) -> ParsedEntry:
    link = absolute_url(item.link, base) if item.link else None
    image = absolute_url(item.image, base) if item.image else None
    date = parse_item_date(item.date, now, select.tz, select.date_format)
    # An age (`5分钟前`) read on the next pass gives another instant: as `updated` it dates the
    # article without being part of its content hash, so re-reading the page changes nothing.
    estimate = date is not None and moves_with_now(item.date)
    return ParsedEntry(
        guid=item.id or None,
        link=link,
        title=item.title or "",
        author=item.author or None,
        content_html=item.summary or "",
        base_url=base,  # a list page's relative URLs are relative to the page, not the item
        published=None if estimate else date,
        updated=date if estimate else None,
        image_urls=(image,) if image else (),
        tags=item.tags,
    )


def _missing(select: SourceSelect, found: set[str], read: int) -> list[str]:
    """A configured key that matched in no item: the markup changed, or the selector is off."""
    return [
        f"`{name}` ({getattr(select, name)}) matched in none of {read} items"
        for name in _FIELDS
        if getattr(select, name) is not None and name not in found
    ]


def page_title(tree: LexborHTMLParser | None) -> str:
    node = tree.css_first("title") if tree is not None else None
    return clean_line(node.text()) if node is not None else ""


def data_page(
    data: Any, select: SourceSelect, base: str, now: datetime, *, url: str, title: str
) -> SourcePage:
    """The entries of JSON data (an API's document, or a page's embedded data) by the
    select's dotted paths; relative URLs resolve against ``base``."""
    items = data_items(data, select, url)
    return build_page(
        (data_values(item, select) for item in items[:MAX_ITEMS]),
        select,
        base,
        now,
        url=url,
        title=title,
        next_page=next_url(data_next_page(data, select), base, url),
        total=len(items),
    )


def next_url(raw: str | None, base: str, url: str) -> str | None:
    """The next page's absolute http(s) URL; None for the page itself (a loop) or junk."""
    found = absolute_url(raw, base) if raw else None
    return found if found and found != url else None


# -- values from data (JSON APIs, embedded page data) ---------------------------------------


def data_items(data: Any, select: SourceSelect, url: str) -> list[Any]:
    """The items `items` points at in ``data``; ParseError when there are none."""
    found = evaluate(parse_path(select.items), data)
    if isinstance(found, dict):
        raise ParseError(
            url,
            f"0 items for `items` ({select.items}): an object, not a list "
            f"(`{select.items}[*]` takes its values)",
        )
    items = found if isinstance(found, list) else []
    if not items:
        raise ParseError(url, f"0 items for `items` ({select.items})")
    return items


def data_values(item: Any, select: SourceSelect) -> ItemValues:
    """One data item's fields by the select's dotted paths (HTML in titles stays HTML: APIs
    such as WordPress send `title.rendered` with entities)."""

    def at(key: str) -> Any:
        path = getattr(select, key)
        return evaluate(parse_path(path), item) if path is not None else None

    return ItemValues(
        title=data_text(at("title")),
        link=data_text(at("link")),
        date=_first(at("date")),
        summary=data_text(at("summary"), " "),
        image=data_text(_first(at("image"))),
        author=data_text(at("author")),
        id=data_text(at("id")),
        tags=_tags(at("tags")),
    )


def data_next_page(data: Any, select: SourceSelect) -> str | None:
    """The URL `next_page` points at in ``data``: a string (a page number is no address)."""
    if select.next_page is None:
        return None
    found = evaluate(parse_path(select.next_page), data)
    return found.strip() or None if isinstance(found, str) else None


def data_text(value: Any, separator: str = ", ") -> str | None:
    """Text of a JSON value: strings stripped, numbers written out, lists joined."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        texts = [t for t in map(data_text, value) if t]
        return separator.join(texts) or None
    return None


def escape_text(text: str | None) -> str | None:
    """Plain text (from HTML nodes) made HTML-safe, so that normalize reads `a <b> c` as text."""
    return html.escape(text, quote=False) if text else None


def _first(value: Any) -> Any:
    return (value[0] if value else None) if isinstance(value, list) else value


def _tags(value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    return tuple(dict.fromkeys(t for t in map(data_text, values) if t))
