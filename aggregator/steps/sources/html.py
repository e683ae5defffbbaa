"""Pure: a fetched list page + its `[feeds.select]` -> SourcePage.

The items are the elements `items` selects (selectolax, lexbor), or with `script` the entries
of data embedded in the page; without a select table autodetect.py looks for them. Relative
URLs resolve against the page and its <base href>; anything but http(s) (javascript:, data:)
is dropped. Summaries are inner HTML, sanitized later like feed content.
"""

from __future__ import annotations

from datetime import datetime

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ...config.select import SourceSelect, split_selector
from ...errors import ParseError
from ..extract.html import document_base
from ..extract.page import decode_html
from ..extract.shape import too_complex
from ..text import clean_text
from .autodetect import detect_items
from .embedded import embedded_data
from .items import (
    MAX_ITEMS,
    ItemValues,
    SourcePage,
    build_page,
    data_page,
    escape_text,
    next_url,
    page_title,
)

# When a selector names an element without @attribute, these attributes come before its text.
_LINK_ATTRIBUTES = ("href",)
_IMAGE_ATTRIBUTES = ("data-src", "data-original", "data-lazy-src", "src")  # lazy loading first
_DATE_ATTRIBUTES = ("datetime",)


def read_html_source(
    body: bytes, url: str, content_type: str, select: SourceSelect | None, now: datetime
) -> SourcePage:
    """The entries of one fetched page (``url`` is the address that answered). ``select`` None
    means autodetect. Raises ParseError when the selectors find no item with a title or link."""
    html = decode_html(body, content_type)
    tree = None if too_complex(html) else LexborHTMLParser(html)
    if select is None:
        return detect_items(html, tree, url, now)
    if select.script is not None:
        return _from_script(html, tree, url, select, now)
    if tree is None:
        raise ParseError(url, "the page nests too deeply to be parsed")
    return _from_css(tree, url, select, now)


def _from_script(
    html: str, tree: LexborHTMLParser | None, url: str, select: SourceSelect, now: datetime
) -> SourcePage:
    assert select.script is not None
    base = document_base(tree, url) if tree is not None else url
    data = embedded_data(html, select.script, url, tree)
    return data_page(data, select, base, now, url=url, title=page_title(tree))


def _from_css(tree: LexborHTMLParser, url: str, select: SourceSelect, now: datetime) -> SourcePage:
    nodes = tree.css(select.items)
    if not nodes:
        raise ParseError(url, f"0 items for `items` ({select.items})")
    base = document_base(tree, url)
    raw_next = _read(tree.root, select.next_page, _LINK_ATTRIBUTES) if select.next_page else None
    return build_page(
        (_css_values(node, select) for node in nodes[:MAX_ITEMS]),
        select,
        base,
        now,
        url=url,
        title=page_title(tree),
        next_page=next_url(raw_next, base, url),
        total=len(nodes),
    )


def _css_values(node: LexborNode, select: SourceSelect) -> ItemValues:
    # Without `link` the item's first link; without `title` the text of the link's element.
    link = select.link or "a[href]@href"
    title = select.title or split_selector(link)[0] or "a[href]"
    return ItemValues(
        title=escape_text(_read(node, title)),
        link=_read(node, link, _LINK_ATTRIBUTES),
        date=_read(node, select.date, _DATE_ATTRIBUTES),
        summary=_inner_html(node, select.summary),
        image=_read(node, select.image, _IMAGE_ATTRIBUTES),
        author=_read(node, select.author),
        id=_read(node, select.id),
        tags=_read_all(node, select.tags),
    )


def _read(
    node: LexborNode | None, selector: str | None, attributes: tuple[str, ...] = ()
) -> str | None:
    """The value ``selector`` names inside ``node`` (the node itself for `@attr`): the
    attribute, else the first of ``attributes`` it has, else its text."""
    if node is None or selector is None:
        return None
    css, attribute = split_selector(selector)
    target = node if css is None else node.css_first(css)
    if target is None:
        return None
    return _value(target, attribute, attributes)


def _value(target: LexborNode, attribute: str | None, attributes: tuple[str, ...]) -> str | None:
    if attribute is not None:
        return (target.attributes.get(attribute) or "").strip() or None
    for name in attributes:
        if value := (target.attributes.get(name) or "").strip():
            return value
    return clean_text(target.text(deep=True, separator="")) or None


def _read_all(node: LexborNode, selector: str | None) -> tuple[str, ...]:
    if selector is None:
        return ()
    css, attribute = split_selector(selector)
    targets = [node] if css is None else node.css(css)
    values = (_value(target, attribute, ()) for target in targets)
    return tuple(dict.fromkeys(v for v in values if v))


def _inner_html(node: LexborNode, selector: str | None) -> str | None:
    if selector is None:
        return None
    css, attribute = split_selector(selector)
    if attribute is not None:
        return escape_text(_read(node, selector))
    target = node if css is None else node.css_first(css)
    return (target.inner_html or "").strip() or None if target is not None else None
