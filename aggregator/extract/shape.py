"""Markup too costly to parse, found in one linear pass, and its text without a parser.

The HTML5 tree builders we use (html5ever in nh3, lexbor in selectolax) spend time quadratic in
the number of open elements (block start tags scan the stack of open elements) and in the
number of attributes on one tag; lexbor also in the number of options of a select (each new
option re-runs the selection over all of them). One hostile megabyte of ``<div>`` kept a worker
busy for minutes. No article nests 512 elements deep, puts 512 attributes on one tag or offers
512 options, so such HTML is reduced to its text before any parser sees it.
"""

from __future__ import annotations

import html as html_lib
import re

MAX_DEPTH = 512  # open elements, counting every start tag not closed yet
MAX_ATTRIBUTES = 512  # on one tag
MAX_OPTIONS = 512  # option elements
_SMALL = 4096  # characters: below this no shape costs a parser more than a few milliseconds

# A start or end tag: name, then the attributes (a quoted value may hold '>' or '<').
# Possessive and with an optional '>': an unterminated tag is one match to the end, so the
# scan stays linear whatever the input.
_TAG = re.compile(r"""<(/?)([A-Za-z][^\t\n\f\r />]*)((?:[^>"']++|"[^"]*+"|'[^']*+')*+)>?""")
_VALUE = re.compile(r"""\s*=\s*(?:"[^"]*+"|'[^']*+'|[^\s>]*+)""")
_ANY_TAG = re.compile(r"<[A-Za-z/!?][^<>]*+>?")
# Void elements, and those whose end tag may be left out: they do not pile up.
_VOID = ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param")
_OPTIONAL_END = ("p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "rb", "rt", "rp")
_NOT_NESTING = frozenset(
    (*_VOID, "source", "track", "wbr", *_OPTIONAL_END, "thead", "tbody", "tfoot", "colgroup")
)


def too_complex(html: str) -> bool:
    """More than MAX_DEPTH elements open at once, a tag with more than MAX_ATTRIBUTES, or
    more than MAX_OPTIONS options."""
    if len(html) <= _SMALL:
        return False
    depth = options = 0
    for closing, name, attributes in _TAG.findall(html):
        if len(attributes) > 2 * MAX_ATTRIBUTES and _attribute_count(attributes) > MAX_ATTRIBUTES:
            return True
        name = name.lower()
        if name == "option" and not closing:
            options += 1
            if options > MAX_OPTIONS:
                return True
        if name in _NOT_NESTING:
            continue
        if closing:
            depth = depth - 1 if depth else 0
        elif not attributes.endswith("/"):
            depth += 1
            if depth > MAX_DEPTH:
                return True
    return False


def text_of(html: str, separator: str = " ") -> str:
    """The text of markup, tags dropped and entities decoded, without building a tree."""
    return html_lib.unescape(_ANY_TAG.sub(separator, html))


def _attribute_count(attributes: str) -> int:
    return len(_VALUE.sub("", attributes).split())
