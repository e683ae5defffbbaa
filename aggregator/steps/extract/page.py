"""Pure: an article page (bytes, as fetched) -> its body as sanitized HTML, and its image.

With the feed's ``content_selector`` the body is what the selector matches, read with
selectolax; without one, the generic extractor (extract/article.py) finds it. Either way the
feed's ``remove_selectors`` go first. Runs in a worker process: extraction is CPU-bound.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from ..text import clean_text
from .html import document_base, visible_text
from .images import page_image
from .sanitize import sanitize_html
from .shape import too_complex


@dataclass(frozen=True, slots=True)
class PageContent:
    content: str  # sanitized HTML with absolute URLs
    image: str | None  # the page's og:image / twitter:image, absolute


def extract_page(
    body: bytes,
    url: str,
    content_type: str,
    content_selector: str | None = None,
    remove_selectors: Sequence[str] = (),
    allow_data_images: bool = False,
) -> PageContent | None:
    """The article in a fetched page, or None when nothing with text was found (the caller
    keeps the feed's own content)."""
    html = decode_html(body, content_type)
    if too_complex(html):
        return None
    tree = LexborHTMLParser(html)
    base = document_base(tree, url)
    image = page_image(html, base)
    for selector in remove_selectors:
        for node in tree.css(selector):
            node.decompose()
    if content_selector:
        raw = "".join(node.html or "" for node in tree.css(content_selector))
    else:
        # Imported here: the generic extractor is heavy, and only full-text feeds need it.
        from .article import extract_article

        # The page as served unless something was removed: a re-serialized tree is slower
        # to read again and may quote malformed attributes differently.
        source = (tree.html or "") if remove_selectors else html
        raw = extract_article(source, base) or ""
    content = sanitize_html(raw, base, allow_data_images=allow_data_images)
    if not clean_text(visible_text(content)):
        return None
    return PageContent(content, image)


# -- character set -------------------------------------------------------------------------

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Labels browsers read as a superset (WHATWG Encoding): decoding as declared would garble text.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
}


def decode_html(body: bytes, content_type: str = "") -> str:
    """Bytes -> text as a browser would pick the encoding: BOM, then the Content-Type header,
    then a <meta> charset in the first 4 KiB, then UTF-8; bytes that do not decode are
    replaced rather than failing the page."""
    for bom, bom_encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(bom_encoding, "replace").lstrip("\ufeff")
    header = _HEADER_CHARSET.search(content_type)
    meta = _META_CHARSET.search(body[:4096])
    for label in (header.group(1) if header else None, meta.group(1).decode() if meta else None):
        if encoding := _known_encoding(label):
            try:
                return body.decode(encoding, "replace")
            except (LookupError, UnicodeError):
                continue  # idna, punycode, undefined: text codecs that fail whatever the bytes
    return body.decode("utf-8", "replace")


def _known_encoding(label: str | None) -> str | None:
    if not label:
        return None
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    if not info._is_text_encoding:  # rot13, base64, zlib...: bytes-to-bytes transforms
        return None
    name = info.name
    # A page that says UTF-16 in ASCII bytes is not UTF-16 (WHATWG: read it as UTF-8).
    if name.startswith("utf-16") or name.startswith("utf-32"):
        return "utf-8"
    return _SUPERSETS.get(name, name)
