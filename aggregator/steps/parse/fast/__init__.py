"""feedparser-rs for the documents it provably reads as feedparser does; None for the rest.

encoding.py, formats.py and scan.py decide whether a document is in the class; records.py turns
feedparser-rs's reading into what xmlfeed.py reads from feedparser and checks it.

feedparser is half of a worker's CPU per entry (issue 20). feedparser-rs (Rust, feedparser's
API) parses the bench corpus 60x faster but not the same way: it decodes by the declaration,
not the charset; leaves entities and raw white space in Atom attributes; blanks links to
private addresses; does not read CR LF as LF; matches elements by prefix, not namespace; parses
dates its own way and copies ``published`` into a missing ``updated``; gives entries their
feed's author; resolves nothing against the document's URL. bench/parsers.py compares both,
through xmlfeed's conversion, on ../shared/fixtures/realfeeds and the bench corpus. A document
is read here only when cheap checks put it in the class where they agree:

1. feedparser itself would decode it as UTF-8 (or it is ASCII), and its declaration says so;
2. one pass of expat, the parser of feedparser's strict mode: well-formed, no DOCTYPE, an
   RSS 2.0, RSS 1.0 (RDF) or Atom 1.0 root, and every element and attribute in the lists below
   under its parent, each namespace under its usual prefix, most values once per entry;
3. feedparser-rs's links, ids and Atom categories are the ones expat read, and no value is one
   feedparser would rewrite: C1 controls, a URL it resolves, Latin-1 text that is UTF-8,
   surrounding spaces.

What differs by design is taken from the scan instead: dates (feedparser's own parser on the
text expat saw), sy and ttl hints, text types, and which elements an entry has (feedparser-rs
fills a missing summary, author or date from elsewhere). Anything outside: None, and feedparser
reads the document as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import feedparser_rs

from ....models import ParsedFeed
from ..xmlfeed import _bozo_text, _entry, _hints, _text
from .encoding import feedparser_reads_utf8
from .formats import MAX_BODY, MAX_ENTRIES
from .records import entry_dict, feed_dict, has_c1, read_apart, rewritten
from .scan import Outside, shape_of

__all__ = ["ENABLED", "Refusal", "parse_fast", "read_fast"]

ENABLED = True  # False: every document goes through feedparser, as before the fast path

_LIMITS = feedparser_rs.ParserLimits(max_entries=MAX_ENTRIES + 1)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a document stays with feedparser (bench/parsers.py tabulates these)."""

    reason: str


def parse_fast(body: bytes, url: str, content_type: str = "") -> ParsedFeed | None:
    """What xmlfeed.parse_xml_feed returns for the document, read by feedparser-rs; None when
    the document is outside the class where the two agree (feedparser reads it then)."""
    if not ENABLED:
        return None
    read = read_fast(body, url, content_type)
    return read if isinstance(read, ParsedFeed) else None


def read_fast(body: bytes, url: str, content_type: str = "") -> ParsedFeed | Refusal:
    """parse_fast, naming the reason of a refusal."""
    read = _adapted(body, url, content_type)
    if isinstance(read, Refusal):
        return read
    feed, entries, warning = read
    return ParsedFeed(
        title=_text(feed.get("title")),
        link=_text(feed.get("link")) or None,
        entries=tuple(_entry(e, url) for e in entries),
        hints=_hints(feed),
        warning=warning,
    )


_Adapted = tuple[dict[str, Any], list[dict[str, Any]], str | None]  # feed, entries, warning


def _adapted(body: bytes, url: str, content_type: str) -> _Adapted | Refusal:
    """feedparser-rs's reading as the dicts xmlfeed's conversion gets from feedparser."""
    if len(body) > MAX_BODY:
        return Refusal("larger than feedparser-rs reads whole")
    encoding = feedparser_reads_utf8(body, content_type)
    if encoding is None:
        return Refusal("encoding: feedparser would not read it as UTF-8")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return Refusal("DOCTYPE or entity declaration")
    if has_c1(body):
        return Refusal("feedparser would rewrite C1 controls as cp1252's characters")
    try:
        shape = shape_of(body)
    except Outside as e:
        return Refusal(str(e))
    fmt = shape.format
    if fmt is None:
        return Refusal("no root element")
    # XML reads CR LF and a lone CR as LF before anything else; feedparser-rs does not
    lf = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in body else body
    try:  # bytes, never str: feedparser_rs fetches a str that starts with http(s)://
        doc = feedparser_rs.parse_with_limits(
            lf, limits=_LIMITS, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as e:  # a library's failure on a document feedparser may still read
        return Refusal(f"feedparser-rs failed: {type(e).__name__}: {e}")
    if doc.bozo or doc.version != fmt.version or len(doc.entries) != len(shape.entries):
        return Refusal(f"feedparser-rs: bozo {doc.bozo}, {doc.version}, {len(doc.entries)} entries")
    base = shape.base or url
    feed = feed_dict(doc.feed, shape.feed)
    pairs = zip(doc.entries, shape.entries, strict=True)
    entries = [(entry_dict(e, s, fmt, base), s) for e, s in pairs]
    apart = read_apart(feed, entries, shape.feed, fmt)
    if apart:
        return Refusal(f"feedparser-rs read otherwise than expat: {apart}")
    changed = rewritten(feed, entries, base, fmt)
    if changed:
        return Refusal(f"feedparser would rewrite {changed}")
    warning = _bozo_text({"bozo_exception": encoding[1]}) if encoding[1] else None
    return feed, [e for e, _ in entries], warning
