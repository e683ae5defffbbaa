"""One allowlist sanitizer (nh3, the ammonia crate), configured once.

Removes scripts, styles, frames, forms, event handlers and javascript:/vbscript:/data: URLs;
keeps harmless structure (div ids and classes, headings, lists, tables, figures, images).
Relative URLs become absolute against the entry's base.
"""

from __future__ import annotations

import html as html_lib
from copy import deepcopy
from typing import Literal
from urllib.parse import urljoin, urlsplit

import nh3

from .shape import text_of, too_complex

_TAGS = set(nh3.ALLOWED_TAGS) | {"figure", "figcaption", "picture", "source", "video", "audio"}
_TAGS -= {"map", "area"}

_ATTRIBUTES: dict[str, set[str]] = deepcopy(nh3.ALLOWED_ATTRIBUTES)
for _tag in _TAGS:
    _ATTRIBUTES.setdefault(_tag, set()).update({"id", "class", "title", "lang", "dir"})
# No srcset: nh3 neither checks its schemes nor makes its URLs absolute (src is the fallback).
_ATTRIBUTES["img"].update({"src", "alt", "width", "height", "loading"})
_ATTRIBUTES["a"].update({"href", "title"})
_ATTRIBUTES["source"] = {"src", "type", "media"}
_ATTRIBUTES["video"] = {"src", "poster", "controls", "width", "height"}
_ATTRIBUTES["audio"] = {"src", "controls"}
# No cite (blockquote, q, del, ins): nh3 checks no scheme there either ("javascript:" stays),
# and browsers never show it.
for _attributes in _ATTRIBUTES.values():
    _attributes.discard("cite")

_URL_SCHEMES = {"http", "https", "mailto", "ftp", "tel"}


def sanitize_html(html: str, base_url: str) -> str:
    """Untrusted HTML -> safe HTML with absolute URLs. Pure; idempotent, except for
    mis-nested markup ("<a><table><a>"), whose tree serializes into HTML that parses into
    another (still safe) tree."""
    if not html:
        return ""
    if too_complex(html):
        html = html_lib.escape(text_of(html), quote=False)  # its text, which parses in linear time
    try:
        return _clean(html, _absolute_against(base_url))
    except ValueError:
        # A base that Python or nh3 (the Rust url crate) cannot parse, e.g. a port out of
        # range: relative URLs are dropped, as for a base that is not http(s).
        return _clean(html, "deny")


_Relative = Literal["deny"] | tuple[Literal["rewrite_with_base"], str]


def _clean(html: str, relative: _Relative) -> str:
    # html5ever drops a byte-order mark at the start of its input: none may start the output,
    # or sanitizing it again would change it.
    return str(
        nh3.clean(
            html,
            tags=_TAGS,
            attributes=_ATTRIBUTES,
            url_schemes=_URL_SCHEMES,
            link_rel=None,
            strip_comments=True,
            url_relative=relative,
        )
    ).lstrip("\ufeff")


def _absolute_against(base_url: str) -> _Relative:
    scheme = urlsplit(base_url).scheme.lower()
    if scheme not in ("http", "https"):
        return "deny"  # a local file's path must never leak into published HTML
    return ("rewrite_with_base", base_url)


def absolute_url(url: str, base_url: str) -> str | None:
    """An absolute http(s) URL, or None for anything else (javascript:, data:, junk)."""
    url = url.strip()
    if not url:
        return None
    try:
        joined = urljoin(base_url, url)
        parts = urlsplit(joined)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return joined
