"""Pure text cleaning shared by normalize and render."""

from __future__ import annotations

import re
import unicodedata

_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\x1c-\x1e\x85\u2028\u2029]+")
_REMOVED_CATEGORIES = {"Cc", "Cf", "Cs"}


def clean_line(text: str) -> str:
    """One line of text: line breaks and tabs become a space; control and format characters
    (BOM, zero-width, bidi controls) and U+2028/2029 are removed; outer space stripped."""
    text = _LINE_BREAKS.sub(" ", text)
    if not text.isprintable():  # rare: only then look at each character
        text = "".join(c for c in text if _keep_char(c))
    return text.strip()


def clean_text(text: str) -> str:
    r"""Runs of white space as one space, none around: str.split's white space is exactly re's
    ``\s`` (every character str.isspace accepts), in a third of the time."""
    return " ".join(text.split())


def _keep_char(c: str) -> bool:
    if c in "\ufffe\uffff":
        return False
    return unicodedata.category(c) not in _REMOVED_CATEGORIES


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 feed``, ``2 feeds``: a count with its noun agreeing."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
