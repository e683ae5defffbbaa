"""Token-level precision, recall and F1 between extracted and expected text.

Tokens are words for Latin (and other space-separated) scripts and single characters for CJK
(Han, Hiragana, Katakana, Hangul), which put no spaces between words. They are compared as
multisets after casefolding; punctuation is not a token.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

_CJK = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # Han extension A
    "\u4e00-\u9fff"  # Han
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # Han compatibility
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # Han extensions B-H
)
# One CJK character, or a run of letters and digits that are not CJK ([^\W_] is \w minus "_").
_TOKEN = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")
_CJK_CHAR = re.compile(f"[{_CJK}]")


def tokens(text: str) -> list[str]:
    """Casefolded word tokens; each CJK character is a token of its own."""
    return _TOKEN.findall(text.casefold())


def is_cjk(text: str, share: float = 0.3) -> bool:
    """True when CJK characters make up at least ``share`` of the tokens."""
    found = tokens(text)
    return bool(found) and sum(1 for t in found if _CJK_CHAR.fullmatch(t)) >= share * len(found)


@dataclass(frozen=True, slots=True)
class Score:
    precision: float
    recall: float
    f1: float


def score(extracted: str, expected: str) -> Score:
    """Bag-of-tokens P/R/F1. Both empty is a perfect match; one side empty scores zero."""
    got, want = Counter(tokens(extracted)), Counter(tokens(expected))
    if not got and not want:
        return Score(1.0, 1.0, 1.0)
    common = sum((got & want).values())
    if not common:
        return Score(0.0, 0.0, 0.0)
    precision = common / sum(got.values())
    recall = common / sum(want.values())
    return Score(precision, recall, 2 * precision * recall / (precision + recall))


def image_keys(html: str) -> Counter[str]:
    """The images of some HTML by file name and query ("a/b/c.jpg?w=1" -> "c.jpg?w=1"): the
    same image whatever base its relative URL was resolved against."""
    keys: Counter[str] = Counter()
    for img in LexborHTMLParser(html).css("img"):
        src = (img.attributes.get("src") or "").strip()
        if not src or src.startswith("data:"):
            continue
        path, _, query = src.partition("#")[0].partition("?")
        if name := path.rstrip("/").rsplit("/", 1)[-1]:
            keys[f"{name}?{query}" if query else name] += 1
    return keys


def images_found(extracted_html: str, expected_html: str) -> tuple[int, int]:
    """(expected images present in the extraction, expected images)."""
    got, want = image_keys(extracted_html), image_keys(expected_html)
    return sum((got & want).values()), sum(want.values())
