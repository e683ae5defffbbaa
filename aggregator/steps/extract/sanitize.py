"""One allowlist sanitizer (nh3, the ammonia crate), configured once.

Removes scripts, styles, frames, forms, event handlers and javascript:/vbscript:/data: URLs
(data:image/png|gif|jpeg|webp images may be allowed); keeps harmless structure (div ids and
classes, headings, lists, tables, figures, images). Lazy-loaded images get their real URL in
src first, and relative URLs become absolute against the entry's base.
"""

from __future__ import annotations

import html as html_lib
import re
from copy import deepcopy
from typing import Literal
from urllib.parse import urlsplit

import nh3

from .html import absolute_url, keep_pre_newline
from .images import promote_lazy_images
from .shape import text_of, too_complex

__all__ = ["absolute_url", "sanitize_html"]  # absolute_url: its old home, for importers

_TAGS = set(nh3.ALLOWED_TAGS) | {"figure", "figcaption", "picture", "source", "video", "audio"}
_TAGS |= {"section", "tfoot", "menu"}
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
# With data images allowed, nh3 lets every data: URL through to _only_data_images, which keeps
# raster images where an image goes. Never SVG: an SVG document can carry script.
_DATA_URL_SCHEMES = _URL_SCHEMES | {"data"}
_DATA_IMAGE = re.compile(r"data:image/(?:png|gif|jpeg|webp)[;,]")
_DATA_IMAGE_PLACES = {("img", "src"), ("video", "poster")}
_URL_ATTRIBUTES = {"href", "src", "poster"}  # the URL attributes _ATTRIBUTES allows
# What the URL parser drops before reading a scheme (WHATWG URL: C0 controls and space at the
# ends, tab and newline anywhere): "da\tta:" is "data:".
_IGNORED_IN_URL = re.compile(r"[\t\n\r]")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def sanitize_html(html: str, base_url: str, *, allow_data_images: bool = False) -> str:
    """Untrusted HTML -> safe HTML with absolute URLs. Pure; idempotent, except for
    mis-nested markup ("<a><table><a>"), whose tree serializes into HTML that parses into
    another (still safe) tree. ``allow_data_images`` keeps inline data:image/png, gif, jpeg
    and webp images (``[output] allow_data_images``)."""
    if not html:
        return ""
    if too_complex(html):
        html = html_lib.escape(text_of(html), quote=False)  # its text, which parses in linear time
    else:
        html = promote_lazy_images(html)
    try:
        return _clean(html, _absolute_against(base_url), allow_data_images)
    except ValueError:
        # A base that Python or nh3 (the Rust url crate) cannot parse, e.g. a port out of
        # range: relative URLs are dropped, as for a base that is not http(s).
        return _clean(html, "deny", allow_data_images)


_Relative = Literal["deny"] | tuple[Literal["rewrite_with_base"], str]


def _clean(html: str, relative: _Relative, allow_data_images: bool) -> str:
    # html5ever drops a byte-order mark at the start of its input: none may start the output,
    # or sanitizing it again would change it.
    cleaned = str(
        nh3.clean(
            html,
            tags=_TAGS,
            attributes=_ATTRIBUTES,
            url_schemes=_DATA_URL_SCHEMES if allow_data_images else _URL_SCHEMES,
            attribute_filter=_only_data_images if allow_data_images else None,
            link_rel=None,
            strip_comments=True,
            url_relative=relative,
        )
    )
    return keep_pre_newline(cleaned).lstrip("\ufeff")


def _only_data_images(tag: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: a data: URL stays only as a raster image where an image goes.
    nh3 calls it after its scheme check, with the value decoded, for every kept attribute."""
    if attribute not in _URL_ATTRIBUTES:
        return value
    url = _IGNORED_IN_URL.sub("", value).strip(_C0_AND_SPACE).lower()
    if not url.startswith("data:"):
        return value
    if (tag, attribute) in _DATA_IMAGE_PLACES and _DATA_IMAGE.match(url):
        return value
    return None


def _absolute_against(base_url: str) -> _Relative:
    scheme = urlsplit(base_url).scheme.lower()
    if scheme not in ("http", "https"):
        return "deny"  # a local file's path must never leak into published HTML
    return ("rewrite_with_base", base_url)
