"""Markup too costly to parse, found in one linear pass, and its text without a parser.

The HTML5 tree builders we use (html5ever in nh3, lexbor in selectolax) spend time quadratic in
the number of open elements (block start tags scan the stack of open elements) and in the
number of attributes on one tag; lexbor also in the number of options of a select (each new
option re-runs the selection over all of them). One hostile megabyte of ``<div>`` kept a worker
busy for minutes. No article nests 512 elements deep, puts 512 attributes on one tag or offers
512 options, so such HTML is reduced to its text before any parser sees it.
"""

from __future__ import annotations

import functools
import html as html_lib
import re

MAX_DEPTH = 512  # open elements, counting every start tag not closed yet
MAX_ATTRIBUTES = 512  # on one tag
MAX_OPTIONS = 512  # option elements
_SMALL = 4096  # characters: below this no shape costs a parser more than a few milliseconds

# A start or end tag: name, then the attributes. A quote opens a value only right after '=' (as
# in a browser: a stray quote elsewhere is a character), and a quoted value may hold '>' or '<'.
# Possessive and with an optional '>': an unterminated tag is one match to the end, so the
# scan stays linear whatever the input.
_TAG = re.compile(
    r"""<(/?)([A-Za-z][^\t\n\f\r />]*)((?:[^>=]++|=\s*+"[^"]*+"|=\s*+'[^']*+'|=)*+)>?"""
)
_VALUE = re.compile(r"""\s*=\s*(?:"[^"]*+"|'[^']*+'|[^\s>]*+)""")
_ANY_TAG = re.compile(r"<[A-Za-z/!?][^<>]*+>?")
# Void elements, and those whose end tag may be left out: they do not pile up.
_VOID = ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param")
_OPTIONAL_END = ("p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "rb", "rt", "rp")
# Elements whose content is text up to their end tag: "<" in a script is not a tag. Not in
# SVG or MathML, where a <style> or <title> is an element like any other (its content markup).
_RAW_TEXT = ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes")
_RAW_TEXT_END = {name: re.compile(f"</{name}", re.IGNORECASE) for name in _RAW_TEXT}
_FOREIGN = ("svg", "math")
_NOT_NESTING = frozenset(
    (*_VOID, "source", "track", "wbr", *_OPTIONAL_END, "thead", "tbody", "tfoot", "colgroup")
)


@functools.lru_cache(maxsize=8)
def too_complex(html: str) -> bool:
    """More than MAX_DEPTH elements open at once, a tag with more than MAX_ATTRIBUTES, or
    more than MAX_OPTIONS options. Remembered for the last few texts: one entry's content is
    asked about by the sanitizer, the lazy-image pass and the image finder in turn (a string
    keeps its hash, and the same object is found by identity)."""
    if len(html) <= _SMALL:
        return False
    depth = options = 0
    position = 0
    foreign = dict.fromkeys(_FOREIGN, 0)  # open <svg> and <math> elements
    unterminated: set[str] = set()  # raw-text elements with no end tag after this point
    while match := _TAG.search(html, position):
        closing, name, attributes = match.groups()
        position = match.end()
        if len(attributes) > 2 * MAX_ATTRIBUTES and _attribute_count(attributes) > MAX_ATTRIBUTES:
            return True
        name = name.lower()
        if name in foreign and (closing or not attributes.endswith("/")):
            foreign[name] = max(0, foreign[name] + (-1 if closing else 1))
        elif (
            name in _RAW_TEXT_END
            and not closing
            and name not in unterminated
            and not any(foreign.values())
        ):
            end = _RAW_TEXT_END[name].search(html, position)
            if end is not None:
                position = end.end()  # past "</script": its ">" reads as text, which is harmless
                continue
            # Text to the end for a browser; but should this scan have misjudged where raw
            # text starts, a parser reads all of it as markup. Read on as markup (the safe
            # error), and never search again: each search would cost a pass.
            unterminated.add(name)
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
