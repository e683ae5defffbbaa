"""Pure reads of HTML with selectolax (lexbor): visible text and the first meaningful image."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from .sanitize import absolute_url
from .shape import text_of, too_complex

_TINY = 2  # px: tracking pixels and spacers


def visible_text(html: str, separator: str = " ") -> str:
    """The text a reader sees, tags removed and entities decoded. ``separator`` goes between
    text nodes: a space keeps block texts apart; "" keeps inline markup inside words whole."""
    if "<" not in html and "&" not in html:
        return html
    if too_complex(html):
        return text_of(html, separator)
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, template"):
        node.decompose()
    root = tree.body or tree.root
    return root.text(separator=separator) if root is not None else ""


def first_image(html: str, base_url: str) -> str | None:
    """The first <img> worth showing: absolute http(s), not a tracking pixel."""
    if "<img" not in html.lower() or too_complex(html):
        return None
    for img in LexborHTMLParser(html).css("img"):
        attrs = img.attributes
        if _is_tiny(attrs.get("width")) or _is_tiny(attrs.get("height")):
            continue
        for name in ("src", "data-src", "data-original", "data-lazy-src"):
            if (value := attrs.get(name)) and (url := absolute_url(value, base_url)):
                return url
    return None


def _is_tiny(value: str | None) -> bool:
    return value is not None and value.strip().isdigit() and int(value) < _TINY
