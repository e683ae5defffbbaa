"""Pure reads of HTML with selectolax (lexbor): visible text, absolute URLs; and a fix for
what HTML5 serializers write."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from .shape import text_of, too_complex


def visible_text(html: str, separator: str = " ", tree: LexborHTMLParser | None = None) -> str:
    """The text a reader sees, tags removed and entities decoded. ``separator`` goes between
    text nodes: a space keeps block texts apart; "" keeps inline markup inside words whole.
    ``tree``: ``html`` already parsed (parsed()), read here last: its scripts are removed."""
    if "<" not in html and "&" not in html:
        return html
    if too_complex(html):
        return text_of(html, separator)
    tree = tree or LexborHTMLParser(html)
    for node in tree.css("script, style, template"):
        node.decompose()
    root = tree.body or tree.root
    return root.text(separator=separator) if root is not None else ""


def parsed(html: str) -> LexborHTMLParser | None:
    """``html`` parsed once for the readers that take a tree (visible_text, first_image);
    None when they would not parse it (no markup, or too complex)."""
    if "<" not in html or too_complex(html):
        return None
    return LexborHTMLParser(html)


def absolute_url(url: str, base_url: str) -> str | None:
    """An absolute http(s) URL, or None for anything else (javascript:, data:, junk)."""
    url = url.strip()
    if not url:
        return None
    try:
        joined = urljoin(base_url, url)
        parts = urlsplit(joined)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return joined


def document_base(tree: LexborHTMLParser, url: str) -> str:
    """The base for a page's relative URLs: its <base href> when that is a usable http(s)
    URL, else the page's own URL."""
    node = tree.css_first("base[href]")
    href = node.attributes.get("href") if node is not None else None
    return (absolute_url(href, url) if href else None) or url


# A tag as nh3 writes it (values double-quoted with '"' escaped; no comments, no raw text;
# "<" in text escaped), and a <pre> start tag followed by a newline.
_TAG_OR_PRE_NEWLINE = re.compile(
    r'(<pre(?=[\s/>])(?:[^>"]++|"[^"]*+")*+>)(?=\n)|<(?:[^>"]++|"[^"]*+")*+>'
)


def keep_pre_newline(serialized: str) -> str:
    """nh3's output with each <pre> keeping a newline that opens its text. A parser drops the
    first newline after <pre>, and html5ever no longer writes the extra one that protects it:
    without this, each pass through the sanitizer would eat one."""
    if "<pre" not in serialized:
        return serialized
    return _TAG_OR_PRE_NEWLINE.sub(
        lambda m: m.group(1) + "\n" if m.group(1) else m.group(), serialized
    )
