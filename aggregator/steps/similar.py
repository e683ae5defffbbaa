"""Pure: near-duplicate texts. MinHash signatures with LSH band keys, and the verification that
decides whether two texts are one story (wire copy, edited copy, teaser) or look-alikes.

Shingles. Latin-script text (any text with more words than CJK characters): casefolded words,
punctuation dropped, 4 at a time. Chinese and Japanese (no spaces): 4-grams of characters over
the text with its spaces and Latin words removed (digits included, so that a number that
differs changes the grams around it), and the Latin words it holds as 4-word shingles of
their own (``SIGNATURE_VERSION`` 2; in 1 each word was a unit among the characters, which
cost a regular-expression split). Each shingle is one 64-bit integer: four 16-bit word
codes (CRC-32 of the word, low half), or the four UTF-16 code units themselves; the array
module reads them at four offsets from one buffer, so no Python object is made per shingle.
The first ``MAX_CHARS`` characters of a text are used: a story is known by its beginning.
(Integers are read in the machine's byte order: stored keys assume little-endian machines.)

A text of fewer than ``min_tokens`` tokens (words, plus one per CJK character) gets no
signature: similarity alone never merges a very short text.

A signature's band keys are signed 64-bit integers, so a store keeps them as rows
``(key, article_id)`` and finds candidates with an indexed ``WHERE key IN (...)``. LSH only
proposes candidates; ``copy_kind`` on the actual texts decides. Bands x rows, and the chance
that a pair of Jaccard similarity s shares at least one band, 1 - (1 - s^r)^b:

- whole text, 16 x 4 (64 MinHash values): s = 0.5: 0.64, 0.6: 0.89, 0.7: 0.988, 0.8: 0.9998;
  s = 0.3: 0.12, s = 0.1 (unrelated texts of one source): 0.0016. 16 x 5 missed edited copies
  of short texts (Jaccard 0.5-0.7, recall 92.9 % against 95.8 %).
- lead (the first ``LEAD_SHINGLES`` shingles, ``LEAD_CJK`` grams), 8 x 4: a teaser (the first
  paragraphs) and its full story share a lead though their whole texts differ.
  s = 0.6: 0.67, 0.7: 0.89, 0.8: 0.985, 0.9: 0.9998.

24 keys per text. The figures behind the choices: docs/benchmarks.md, "Near-duplicates".
"""

from __future__ import annotations

import difflib
import enum
import re
import string
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from rensa import RMinHash

# Stored keys depend on everything here (tokens, shingles, rensa's hashing, bands): bump this
# when any of it changes, and rebuild the stored keys (old ones would no longer meet new ones).
SIGNATURE_VERSION = 2

SHINGLE = 4  # words, or CJK characters, per shingle: four 16-bit units make one 64-bit int
LEAD_SHINGLES = 32  # about the first 35 words
LEAD_CJK = 64  # about the first 67 characters
MAX_CHARS = 10_000
WHOLE_BANDS, WHOLE_ROWS = 16, 4
LEAD_BANDS, LEAD_ROWS = 8, 4
_SEED = 0x5EED
_LEAD_SEED = 0x1EAD

# The common non-ASCII punctuation of Latin-script text (quotes, dashes, ellipsis, spaces).
_UNICODE_PUNCT = "’‘“”—–…«»„‚‹›·•¡¿\u00a0\u2009\u202f"
_ASCII_PUNCT = bytes.maketrans(string.punctuation.encode(), b" " * len(string.punctuation))
# UTF-8 lead bytes of U+3000-U+9FFF (CJK punctuation, kana, ideographs): one per character.
_NOT_CJK_LEAD = bytes(b for b in range(256) if not 0xE3 <= b <= 0xE9)
_NOT_ASCII = bytes(range(0x80, 0x100))
_LATIN_LETTERS = string.ascii_lowercase.encode()
_LETTERS_ONLY = bytes(b if b in _LATIN_LETTERS else 0x20 for b in range(256))
# Look-alikes from one template (weather, market close, podcast notes, briefings) can reach
# the jaccard threshold; what tells them from a copy is that words in the same places differ.
# Distinct stories: aligned on their words, a number replaced by another (a date, a score, a
# temperature) amid shared text, or at least MAX_SUBSTITUTED of the shorter text replaced in
# two places or more. Copies delete and add (datelines, a dropped paragraph, a footer), they
# rarely replace: on the corpus, edited copies replace at most 2.2 %, look-alikes 6 % and more.
MAX_SUBSTITUTED = 0.04
_SLOT = 3  # a number replaced within this many words, amid as many shared ones, is a fact
_EDGE = 0.1  # ... unless it is in the text's first or last tenth (datelines, copyright lines)
# A shorter text contained in a longer one: an abridged copy when it covers ABRIDGED of the
# longer one (then judged like a copy), else a teaser, which must be the longer one's lead.
ABRIDGED = 0.5
# An equivalent copy this much longer than the stored text, holding most of it, is the fuller
# text: the stored one was an edited copy (a paragraph dropped), and the article takes the
# story's whole text, which its teasers are then found in. A wire copy's dateline and footer
# (2-9 % on the fixtures) do not make it fuller.
FULLER_BY = 1.15
_LEAD_SLACK = 10  # words a teaser's story may have before the teaser's first (a dateline)
# Words (CJK characters) aligned at most: difflib takes ~270 ms on two 10,000-character
# Chinese texts, which the store's transaction would wait for; a story shows at its start.
_ALIGN_MAX = 3000
_CJK_CHAR = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
_ALIGNED = re.compile(f"[{_CJK_CHAR}]|[^\\W_{_CJK_CHAR}]+")
_Opcode = tuple[str, int, int, int, int]  # difflib's: what, a[i1:i2], b[j1:j2]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When two texts are one story. ``jaccard``: shingle-set similarity of a copy (wire copy,
    edited copy); ``containment``: share of the shorter text's shingles found in the longer
    one (a teaser); ``min_tokens``: shorter texts are never merged by similarity."""

    jaccard: float = 0.6
    containment: float = 0.8
    min_tokens: int = 40


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class Signature:
    """LSH band keys of one text: ``keys`` for the whole text, ``lead_keys`` for its lead.
    Signed 64-bit integers, distinct per band (a lead key never meets a whole-text one)."""

    keys: tuple[int, ...]
    lead_keys: tuple[int, ...]
    tokens: int

    @property
    def all_keys(self) -> tuple[int, ...]:
        return self.keys + self.lead_keys


@dataclass(frozen=True, slots=True)
class Shingles:
    """A text's shingle set and token count: what ``compare`` works on. Make it once with
    ``shingles(text)`` to compare one text with several."""

    set: frozenset[int]
    tokens: int
    text: str  # what was shingled: the substitution check aligns it


@dataclass(frozen=True, slots=True)
class Similarity:
    """Exact figures for two texts a and b, from their shingle sets."""

    jaccard: float
    a_in_b: float  # share of a's shingles that b has
    b_in_a: float
    a_tokens: int
    b_tokens: int


class Copy(enum.Enum):
    """How an incoming text is the same story as a stored one."""

    EQUIVALENT = "equivalent"  # a wire or edited copy: the stored text stays
    TEASER = "teaser"  # the incoming text is mostly contained in the (longer) stored one
    FULLER = "fuller"  # the (shorter) stored text is mostly contained in the incoming one,
    # a teaser, or an edited copy the incoming one is FULLER_BY longer than


@dataclass(frozen=True, slots=True)
class _Shingled:
    whole: array[int]  # 64-bit shingles, unordered
    lead: array[int]
    tokens: int


def signature(text: str, min_tokens: int = DEFAULT_THRESHOLDS.min_tokens) -> Signature | None:
    """The band keys of a text, or None when it has fewer than ``min_tokens`` tokens."""
    shingled = _shingle(text)
    if shingled.tokens < min_tokens or not shingled.whole:
        return None
    return Signature(
        keys=_band_keys(_digest(shingled.whole, WHOLE_BANDS * WHOLE_ROWS, _SEED), WHOLE_ROWS, 0),
        lead_keys=_band_keys(
            _digest(shingled.lead, LEAD_BANDS * LEAD_ROWS, _LEAD_SEED), LEAD_ROWS, WHOLE_BANDS
        ),
        tokens=shingled.tokens,
    )


def shingles(text: str) -> Shingles:
    shingled = _shingle(text)
    return Shingles(frozenset(shingled.whole), shingled.tokens, text[:MAX_CHARS])


def compare(a: str | Shingles, b: str | Shingles) -> Similarity:
    """Jaccard and containment of two texts' shingle sets."""
    sa = shingles(a) if isinstance(a, str) else a
    sb = shingles(b) if isinstance(b, str) else b
    common = len(sa.set & sb.set)
    union = len(sa.set) + len(sb.set) - common
    return Similarity(
        jaccard=common / union if union else 0.0,
        a_in_b=common / len(sa.set) if sa.set else 0.0,
        b_in_a=common / len(sb.set) if sb.set else 0.0,
        a_tokens=sa.tokens,
        b_tokens=sb.tokens,
    )


def copy_kind(
    incoming: str | Shingles, stored: str | Shingles, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> Copy | None:
    """How ``incoming`` is a copy of ``stored``, or None when they are distinct stories."""
    a = shingles(incoming) if isinstance(incoming, str) else incoming
    b = shingles(stored) if isinstance(stored, str) else stored
    similarity = compare(a, b)
    kind = judge(similarity, thresholds)
    if kind is None:
        return None
    if kind is Copy.EQUIVALENT:
        wa, wb = _words(a.text), _words(b.text)
        inner = _inner(wa, wb)  # aligned once: both checks read it
        if _replaces(inner, wa, wb):
            return None
        return Copy.FULLER if _fuller(similarity, thresholds, inner, len(wb)) else kind
    short, long, covered = (
        (a, b, similarity.b_in_a) if kind is Copy.TEASER else (b, a, similarity.a_in_b)
    )
    if covered >= ABRIDGED:  # most of the longer text: an abridged copy, judged as a copy
        return None if substituted(short.text, long.text) else kind
    return kind if leads(short.text, long.text, thresholds.containment) else None


def same_story(
    incoming: str | Shingles, stored: str | Shingles, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> bool:
    return copy_kind(incoming, stored, thresholds) is not None


def judge(s: Similarity, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Copy | None:
    """The decision on exact figures, ``s`` from ``compare(incoming, stored)``: nothing below
    ``min_tokens``; a copy at ``jaccard``; a teaser when the shorter text's shingles are, at
    ``containment``, in the longer one (boilerplate shared by look-alikes stays below it)."""
    if min(s.a_tokens, s.b_tokens) < thresholds.min_tokens:
        return None
    if s.jaccard >= thresholds.jaccard:
        return Copy.EQUIVALENT
    if s.a_tokens <= s.b_tokens and s.a_in_b >= thresholds.containment:
        return Copy.TEASER
    if s.b_tokens < s.a_tokens and s.b_in_a >= thresholds.containment:
        return Copy.FULLER
    return None


def substituted(a: str, b: str) -> bool:
    """Whether two texts of one template say different things (see MAX_SUBSTITUTED): aligned
    word by word (CJK character by character), a number is replaced by another in the body of
    the text, or replaced words make up MAX_SUBSTITUTED of the shorter text in two places or
    more. Only what lies between the first and the last words they share counts."""
    wa, wb = _words(a), _words(b)
    return _replaces(_inner(wa, wb), wa, wb)


def _replaces(inner: Sequence[_Opcode], wa: list[str], wb: list[str]) -> bool:
    """``substituted`` on the alignment ``_inner(wa, wb)``."""
    if not inner:
        return False
    replaced = [op for op in inner if op[0] == "replace"]
    if _number_replaced(inner, wa, wb):
        return True
    words = sum(min(i2 - i1, j2 - j1) for _, i1, i2, j1, j2 in replaced)
    return len(replaced) >= 2 and words >= MAX_SUBSTITUTED * min(len(wa), len(wb))


def leads(short: str, long: str, containment: float) -> bool:
    """Whether ``short`` is the beginning of ``long`` (a teaser of it): at least
    ``containment`` of its words, aligned, in the first words of ``long`` (as many as
    ``short`` has, plus a quarter and _LEAD_SLACK for a dateline or a skipped caption). A
    short story that a longer text quotes further down (a roundup, a newsletter) is not its
    teaser: merged, the story would have no post of its own."""
    ws, wl = _words(short), _words(long)
    window = wl[: len(ws) + len(ws) // 4 + _LEAD_SLACK]
    blocks = difflib.SequenceMatcher(None, ws, window, autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks) >= containment * len(ws)


def _fuller(
    s: Similarity, thresholds: Thresholds, inner: Sequence[_Opcode], stored_words: int
) -> bool:
    """Whether an equivalent incoming text a is the fuller one: FULLER_BY longer than the
    stored b, holding ``containment`` of it, and longer inside (``inner``, their alignment):
    the words b lacks lie between the words they share (a paragraph the stored copy
    dropped), not around them (a wire copy's dateline and footer)."""
    if s.a_tokens < FULLER_BY * s.b_tokens or s.b_in_a < thresholds.containment:
        return False
    added = sum(max(0, (i2 - i1) - (j2 - j1)) for _, i1, i2, j1, j2 in inner)
    return added >= (FULLER_BY - 1) * stored_words


def _inner(wa: list[str], wb: list[str]) -> Sequence[_Opcode]:
    """The alignment of two word lists from their first shared word to their last (what
    lies around them, datelines and footers, left out); empty when they share none."""
    ops: Sequence[_Opcode] = difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes()
    equal = [i for i, op in enumerate(ops) if op[0] == "equal"]
    return ops[equal[0] : equal[-1] + 1] if equal else []


def _words(text: str) -> list[str]:
    return _ALIGNED.findall(text[: _ALIGN_MAX * 8].casefold())[:_ALIGN_MAX]


def _number_replaced(ops: Sequence[_Opcode], wa: list[str], wb: list[str]) -> bool:
    """A number replaced by another in the body: amid shared runs, not in the first or last
    tenth of either text."""
    edge = _EDGE * min(len(wa), len(wb))
    for before, (op, i1, i2, j1, j2), after in zip(ops, ops[1:], ops[2:], strict=False):
        if op != "replace" or max(i2 - i1, j2 - j1) > _SLOT:
            continue
        in_body = min(i1, j1) >= edge and min(len(wa) - i2, len(wb) - j2) >= edge
        amid = _shared(before) and _shared(after)
        if in_body and amid and _number(wa[i1:i2]) and _number(wb[j1:j2]):
            return True
    return False


def _shared(op: _Opcode) -> bool:
    """An aligned run long enough that what it surrounds is a slot of the text, not of a
    dateline or a byline ("Xinhua, Beijing, 23 Sept" against "Xinhua, Shanghai, 24 Sept")."""
    return op[0] == "equal" and op[2] - op[1] >= _SLOT


def _number(words: list[str]) -> bool:
    return any(w.isdigit() for w in words)


def _digest(shingles: array[int], num_perm: int, seed: int) -> list[int]:
    offsets = array("Q", (0, len(shingles)))
    matrix = RMinHash.digest_matrix_from_flat_token_hashes(shingles, offsets, num_perm, seed)
    return list(matrix.to_rows()[0])


def _band_keys(digest: list[int], rows: int, first_band: int) -> tuple[int, ...]:
    """One signed 64-bit key per band: rensa's token hash of the band's number and values, all
    bands in one call (a blake2b per band would cost a third of the signature)."""
    raw = array("I", digest).tobytes()
    width = 4 * rows
    bands = [
        bytes((first_band + band,)) + raw[band * width : (band + 1) * width]
        for band in range(len(digest) // rows)
    ]
    unsigned = array("Q", RMinHash.hash_token_sets([bands])[0])
    return tuple(array("q", unsigned.tobytes()))


def _shingle(text: str) -> _Shingled:
    folded = text[:MAX_CHARS].casefold()
    if not folded.isascii():
        for c in _UNICODE_PUNCT:
            if c in folded:
                folded = folded.replace(c, " ")
    encoded = folded.encode("utf-8", "surrogatepass").translate(_ASCII_PUNCT)
    # Counted on bytes: a CJK character has one lead byte in E3-E9; a word of another script
    # counts by its ASCII letters and digits (enough to tell the two kinds of text apart).
    cjk = len(encoded.translate(None, _NOT_CJK_LEAD))
    if cjk:
        words = len(encoded.translate(None, _NOT_ASCII).split())
        if cjk >= words:
            units, codes = _cjk_units(encoded)
            lead = units[: 2 * (LEAD_CJK + SHINGLE - 1)]
            return _Shingled(_grams(units) + _grams(codes), _grams(lead), cjk + words)
    split = encoded.split()
    codes = _word_codes(split)
    return _Shingled(_grams(codes), _grams(codes[: 2 * (LEAD_SHINGLES + SHINGLE - 1)]), len(split))


def _cjk_units(encoded: bytes) -> tuple[bytes, bytes]:
    """A Chinese or Japanese text (UTF-8) as two runs of 16-bit units: its characters (UTF-16,
    spaces dropped, digits included: a number that differs changes the grams around it) with
    the Latin words taken out, and those words' codes in order. Letter grams would make
    unrelated texts that mix in English words look alike (Jaccard 0.25 from "data", "city"
    alone); words among the characters, a unit each, cost a regular-expression split (a
    third of signing the 2,000-feed bench's mixed texts); apart, two byte translations."""
    characters = _utf16(encoded.translate(None, _LATIN_LETTERS))
    words = encoded.translate(_LETTERS_ONLY).split()
    return characters, _word_codes(words)


def _utf16(utf8: bytes) -> bytes:
    return (
        b"".join(utf8.split()).decode("utf-8", "surrogatepass").encode("utf-16-le", "surrogatepass")
    )


def _word_codes(words: list[bytes]) -> bytes:
    """Each word as 16 bits (the low half of its CRC-32), little-endian, in text order."""
    crcs = array("I", map(zlib.crc32, words))
    return array("H", crcs.tobytes())[::2].tobytes()


def _grams(units: bytes) -> array[int]:
    """Every run of ``SHINGLE`` consecutive 16-bit units as one 64-bit integer (a text
    shorter than that: its units as one integer)."""
    count = len(units) // 2
    if count < SHINGLE:
        return array("Q", [int.from_bytes(units, "little")] if count else [])
    grams = array("Q")
    for offset in range(SHINGLE):
        n = (count - offset) // SHINGLE
        grams.frombytes(units[2 * offset : 2 * (offset + n * SHINGLE)])
    return grams
