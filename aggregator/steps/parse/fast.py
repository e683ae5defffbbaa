"""feedparser-rs for the documents it provably reads as feedparser does; None for the rest.

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

import codecs
import re
import xml.parsers.expat
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import feedparser_rs
from feedparser.datetimes import _parse_date
from feedparser.encodings import RE_XML_PI_ENCODING, parse_content_type
from feedparser.exceptions import CharacterEncodingOverride, NonXMLContentType
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin

from ...models import ParsedFeed
from .xmlfeed import _bozo_text, _entry, _hints, _text

__all__ = ["ENABLED", "Refusal", "parse_fast", "read_fast"]

ENABLED = True  # False: every document goes through feedparser, as before the fast path

_ATOM = "http://www.w3.org/2005/Atom"
_RSS1 = "http://purl.org/rss/1.0/"
# feedparser-rs knows extensions by these prefixes, feedparser by the namespaces.
_PREFIXES = {
    "atom": _ATOM,
    "atom10": _ATOM,
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "media": "http://search.yahoo.com/mrss/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "slash": "http://purl.org/rss/1.0/modules/slash/",
    "sy": "http://purl.org/rss/1.0/modules/syndication/",
    "wfw": "http://wellformedweb.org/CommentAPI/",
    "xml": "http://www.w3.org/XML/1998/namespace",
}

# parent, element, the attributes it may carry ("-": the root). Add a line only with documents
# that use it (../shared/fixtures/realfeeds, tests/fixtures, generated in tests/test_parse_fast.py)
# and bench/parsers.py showing them read the same.
_RSS20 = """
-                rss                 version
rss              channel
channel          title
channel          link
channel          description
channel          language
channel          copyright
channel          managingEditor
channel          webMaster
channel          pubDate
channel          lastBuildDate
channel          generator
channel          docs
channel          ttl
channel          category            domain
channel          cloud               domain port path registerProcedure protocol
channel          image
image            url
image            title
image            link
image            width
image            height
image            description
channel          atom:link           href rel type
channel          atom10:link         href rel type
channel          dc:creator
channel          dc:date
channel          dc:language
channel          dc:publisher
channel          dc:rights
channel          sy:updatePeriod
channel          sy:updateFrequency
channel          sy:updateBase
channel          itunes:author
channel          itunes:owner
itunes:owner     itunes:name
itunes:owner     itunes:email
channel          itunes:image        href
channel          itunes:category     text
channel          itunes:explicit
channel          itunes:summary
channel          itunes:subtitle
channel          itunes:type
channel          itunes:keywords
channel          item
item             title
item             link
item             description
item             pubDate
item             guid                isPermaLink
item             category            domain
item             comments
item             author
item             content:encoded
item             dc:creator
item             dc:date
item             wfw:commentRss
item             slash:comments
item             enclosure           url length type
item             media:thumbnail     url width height
item             media:content       url type medium width height fileSize duration
"""
_RSS10 = """
-                rdf:RDF
rdf:RDF          channel             rdf:about
channel          title
channel          link
channel          description
channel          items
items            rdf:Seq
rdf:Seq          rdf:li              rdf:resource
channel          dc:language
channel          dc:publisher
channel          dc:rights
channel          dc:date
channel          dc:creator
channel          sy:updatePeriod
channel          sy:updateFrequency
channel          sy:updateBase
rdf:RDF          item                rdf:about
item             title
item             link
item             description
item             dc:date
item             dc:creator
item             content:encoded
"""
_ATOM10 = """
-                feed                xml:base xml:lang
feed             title               type
feed             subtitle            type
feed             rights              type
feed             id
feed             updated
feed             author
feed             icon
feed             logo
feed             generator           uri version
feed             link                href rel type title hreflang length
feed             category            term scheme label
feed             entry
entry            id
entry            title               type
entry            updated
entry            published
entry            author
entry            summary             type
entry            content             type
entry            link                href rel type title hreflang length
entry            category            term scheme label
author           name
author           email
author           uri
"""
# Texts read from expat, (parent, element): dates and sy values, which feedparser-rs reads its
# own way (or not at all) and copies into one another; links and ids, to check its URLs by.
_TEXTS = frozenset(
    (
        ("item", "pubDate"),
        ("item", "dc:date"),
        ("entry", "published"),
        ("entry", "updated"),
        ("channel", "ttl"),
        ("channel", "sy:updatePeriod"),
        ("channel", "sy:updateFrequency"),
        ("item", "link"),
        ("item", "guid"),
        ("entry", "id"),
        ("channel", "link"),
        ("feed", "id"),
    )
)
_URL_ATTRIBUTES = ("href", "url")
_RDF_ABOUT = "http://www.w3.org/1999/02/22-rdf-syntax-ns# about rdf"  # as expat names it

_Allowed = dict[tuple[str, str], frozenset[str]]  # (parent, element) -> its attributes


@dataclass(frozen=True, slots=True)
class _Format:
    version: str  # as both parsers name it
    default_namespace: str  # of the unprefixed elements ("" for RSS 2.0)
    entry: str  # the element of an entry
    summary: str  # the element feedparser takes an entry's summary from
    content: str  # ... and its content
    allowed: _Allowed
    # What may repeat in one parent; anything else twice (two titles, two channels) would
    # leave the choice to each parser's own rule.
    repeatable: frozenset[str]


def _table(text: str) -> _Allowed:
    rows = (line.split() for line in text.strip().splitlines())
    return {(row[0], row[1]): frozenset(row[2:]) for row in rows}


def _format(version: str, namespace: str, entry: str, table: str, repeatable: str) -> _Format:
    summary, content = _BODIES[version]
    repeats = frozenset(repeatable.split())
    return _Format(version, namespace, entry, summary, content, _table(table), repeats)


_BODIES = {  # the elements feedparser reads an entry's summary and content from
    "rss20": ("description", "content:encoded"),
    "rss10": ("description", "content:encoded"),
    "atom10": ("summary", "content"),
}
_FORMATS = {
    "rss": _format("rss20", "", "item", _RSS20, "item category atom:link atom10:link"),
    "rdf:RDF": _format("rss10", _RSS1, "item", _RSS10, "item rdf:li"),
    "feed": _format("atom10", _ATOM, "entry", _ATOM10, "entry category link"),
}
_ATOM_TYPES = {"": "text/plain", "text": "text/plain", "html": "text/html"}  # feedparser's names
# Under feedparser-rs's own limits (64 KB attributes, 100 levels, 10,000 entries, 20-100 links
# or tags per entry), which it enforces by dropping what is beyond them.
_MAX_BODY = 8 * 1024 * 1024  # under its 10 MB of text in one element
_MAX_ATTRIBUTE = 8192
_MAX_DEPTH = 32
_MAX_REPEAT = 16
_MAX_ENTRIES = 5000
_LIMITS = feedparser_rs.ParserLimits(max_entries=_MAX_ENTRIES + 1)


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


class _Outside(Exception):
    """The document is outside the class: the message says where."""


@dataclass(slots=True)
class _EntryShape:
    """What the scan saw of one entry."""

    names: dict[str, int] = field(default_factory=dict)  # element -> times in the entry
    types: dict[str, str] = field(default_factory=dict)  # Atom text constructs' types
    guid_is_link: bool = True  # feedparser resolves a guid unless isPermaLink says otherwise
    alternates: int = 0  # Atom links that are the entry's link
    alternate: str = ""  # that link's href
    urls: list[str] = field(default_factory=list)  # href and url attributes, as expat read them
    terms: list[tuple[str, str]] = field(default_factory=list)  # Atom categories' term, label
    about: str = ""  # an RDF item's rdf:about: feedparser's id
    texts: dict[str, str] = field(default_factory=dict)  # of the elements in _TEXTS


@dataclass(slots=True)
class _Shape:
    format: _Format | None = None
    base: str = ""  # the root's xml:base
    entries: list[_EntryShape] = field(default_factory=list)
    feed: _EntryShape = field(default_factory=_EntryShape)  # the feed's own elements


_Entry = tuple[dict[str, Any], _EntryShape]  # feedparser-shaped, and what the scan saw
_Adapted = tuple[dict[str, Any], list[dict[str, Any]], str | None]  # feed, entries, warning


def _adapted(body: bytes, url: str, content_type: str) -> _Adapted | Refusal:
    """feedparser-rs's reading as the dicts xmlfeed's conversion gets from feedparser."""
    if len(body) > _MAX_BODY:
        return Refusal("larger than feedparser-rs reads whole")
    encoding = _feedparser_reads_utf8(body, content_type)
    if encoding is None:
        return Refusal("encoding: feedparser would not read it as UTF-8")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return Refusal("DOCTYPE or entity declaration")
    if _has_c1(body):
        return Refusal("feedparser would rewrite C1 controls as cp1252's characters")
    try:
        shape = _scan(body)
    except _Outside as e:
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
    feed = _feed_dict(doc.feed, shape.feed)
    pairs = zip(doc.entries, shape.entries, strict=True)
    entries = [(_entry_dict(e, s, fmt, base), s) for e, s in pairs]
    apart = _read_apart(feed, entries, shape.feed, fmt)
    if apart:
        return Refusal(f"feedparser-rs read otherwise than expat: {apart}")
    rewritten = _rewritten(feed, entries, base, fmt)
    if rewritten:
        return Refusal(f"feedparser would rewrite {rewritten}")
    warning = _bozo_text({"bozo_exception": encoding[1]}) if encoding[1] else None
    return feed, [e for e, _ in entries], warning


# --- 1. encoding: feedparser.encodings.convert_to_utf8's decision, where it is UTF-8 --------

_APPLICATION_XML = (
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
)
_TEXT_XML = ("text/xml", "text/xml-external-parsed-entity")
_READS_ASCII_AS_UTF8 = frozenset(("utf-8", "ascii", "iso8859-1", "cp1252"))


def _feedparser_reads_utf8(body: bytes, content_type: str) -> tuple[str, Exception | None] | None:
    """(encoding, feedparser's bozo exception) when feedparser decodes ``body`` to the text
    UTF-8 gives; None otherwise (another encoding, a BOM, invalid UTF-8)."""
    if not body[:4].isascii() or b"\x00" in body[:4]:
        return None  # a BOM or UTF-16/32/EBCDIC '<?xm': feedparser transcodes
    declared = _declared_encoding(body)
    if declared is None:
        return None
    # expat and feedparser-rs decode by the declaration: another one reads the same for ASCII
    ascii_alike = body.isascii() and _codec(declared or "") in _READS_ASCII_AS_UTF8
    if declared and _codec(declared) != "utf-8" and not ascii_alike:
        return None
    mime, charset = parse_content_type(content_type)
    acceptable = True
    if mime in _APPLICATION_XML or (mime.startswith("application/") and mime.endswith("+xml")):
        rfc3023 = charset or declared or "utf-8"
    elif mime in _TEXT_XML or (mime.startswith("text/") and mime.endswith("+xml")):
        rfc3023 = charset or "us-ascii"
    elif mime.startswith("text/"):
        rfc3023, acceptable = charset or "us-ascii", False
    elif not content_type:
        rfc3023, acceptable = declared or "iso-8859-1", False
    else:
        rfc3023, acceptable = declared or "utf-8", False
    error: Exception | None = None
    if not acceptable:
        why = (
            f"{content_type} is not an XML media type"
            if content_type
            else "no Content-type specified"
        )
        error = NonXMLContentType(why)
    codec = _codec(rfc3023)
    if codec == "utf-8" and _is_utf8(body):
        return rfc3023, error
    if codec in _READS_ASCII_AS_UTF8 and body.isascii():
        return rfc3023, error
    if codec == "ascii" and _codec(declared) == "utf-8" and _is_utf8(body):
        # us-ascii fails; the declared UTF-8, tried next, is kept and flagged as an override
        why = f"document declared as {rfc3023}, but parsed as {declared}"
        return declared, CharacterEncodingOverride(why)
    return None


def _declared_encoding(body: bytes) -> str | None:
    """The encoding feedparser's RE_XML_PI_ENCODING finds: on the first line, the last
    ``encoding=``. None when the line has two: then it may not be the declaration's, which
    expat and feedparser-rs read. With one, the match ends at the next ``?>``: a one-line
    document is not scanned to its end."""
    end = body.find(b"\n")
    line = body if end < 0 else body[:end]
    at = line.find(b"encoding=")
    if at < 0 or not line.startswith(b"<?"):
        return ""
    if line.find(b"encoding=", at + 1) >= 0:
        return None
    close = line.find(b"?>", at)
    match = RE_XML_PI_ENCODING.match(line[: close + 2] if close >= 0 else b"")
    return match.group(1).decode("utf-8", "replace").lower() if match else ""


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name if name else ""
    except LookupError:
        return ""


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- 2. the scan: expat with namespaces, as feedparser's strict parser; the lists above -----


def _scan(body: bytes) -> _Shape:
    """Raises _Outside naming the first element, attribute or error outside the class."""
    shape = _Shape()
    stack: list[str] = []
    entry: list[_EntryShape] = []  # the open entry, if any
    text: list[str] = []  # of the open element of _TEXTS

    def start(expanded: str, attrs: dict[str, str]) -> None:
        if len(stack) >= _MAX_DEPTH:
            raise _Outside("nested too deep")
        fmt = shape.format
        if fmt is None:
            fmt = shape.format = _root(expanded, attrs)
            shape.base = _root_base(attrs)
        elif expanded in _ROOTS:
            raise _Outside(f"a second root element {expanded}")
        name = _qualified(expanded, fmt)
        parent = stack[-1] if stack else "-"
        allowed = fmt.allowed.get((parent, name))
        if allowed is None:
            raise _Outside(f"element {name} in {parent}")
        for key, value in attrs.items():
            attr = _qualified(key, fmt, attribute=True)
            # feedparser keeps an attribute's surrounding spaces (feedparser-rs may not) and
            # resolves an empty href to the base (feedparser-rs leaves it empty)
            if (
                attr not in allowed
                or not 0 < len(value) <= _MAX_ATTRIBUTE
                or value != value.strip()
            ):
                raise _Outside(f"attribute {name}@{attr}")
        if entry:
            _note(entry[0], name, attrs, fmt)
            entry[0].urls += [attrs[key] for key in _URL_ATTRIBUTES if key in attrs]
            if "term" in attrs:
                entry[0].terms.append((attrs["term"], attrs.get("label", "")))
        else:
            _note(shape.feed, f"{parent}/{name}", attrs, fmt, _MAX_ENTRIES)
            if name == fmt.entry:
                entry.append(_EntryShape(about=attrs.get(_RDF_ABOUT, "")))
                shape.entries.append(entry[0])
                if len(shape.entries) > _MAX_ENTRIES:
                    raise _Outside("too many entries")
        if (parent, name) in _TEXTS:
            text.clear()
            parser.CharacterDataHandler = text.append
        stack.append(name)

    def end(_: str) -> None:
        name = stack.pop()
        if stack and (stack[-1], name) in _TEXTS:
            (entry[0] if entry else shape.feed).texts[name] = "".join(text)
            parser.CharacterDataHandler = None
        if entry and shape.format and name == shape.format.entry:
            entry.clear()

    def refuse(*_: object) -> None:
        raise _Outside("DOCTYPE or entity declaration")

    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.namespace_prefixes = True
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(body, True)
    except (xml.parsers.expat.ExpatError, ValueError, LookupError) as e:
        # ValueError, LookupError: an encoding expat cannot read (the encoding check lets
        # none through; this keeps the promise to refuse, never raise)
        raise _Outside(f"not well-formed: {e}") from None
    return shape


# Two sources of one value: which wins (even when one is empty) is each parser's own rule.
_ONE_OF = {"author": "dc:creator", "dc:creator": "author"}
_ROOTS = {"rss": "rss", f"{_PREFIXES['rdf']} RDF rdf": "rdf:RDF", f"{_ATOM} feed": "feed"}


def _root(expanded: str, attrs: dict[str, str]) -> _Format:
    if expanded not in _ROOTS or (expanded == "rss" and attrs.get("version") != "2.0"):
        raise _Outside(f"root {expanded} {attrs.get('version', '')}".rstrip())
    return _FORMATS[_ROOTS[expanded]]


def _qualified(expanded: str, fmt: _Format, attribute: bool = False) -> str:
    """expat's "namespace local prefix" as "prefix:local", when the prefix is the usual one
    for the namespace (feedparser-rs goes by prefix); unprefixed names in the format's default
    namespace (attributes in none) as "local"."""
    parts = expanded.split(" ")
    if len(parts) > 3:
        raise _Outside(f"element {expanded} (a namespace with a space)")
    if len(parts) == 1:
        if fmt.default_namespace and not attribute:
            raise _Outside(f"element {expanded} outside the {fmt.version} namespace")
        return expanded
    if len(parts) == 2:
        if parts[0] != fmt.default_namespace or attribute:
            raise _Outside(f"element {expanded} (its namespace as the default)")
        return parts[1]
    namespace, local, prefix = parts
    if _PREFIXES.get(prefix) != namespace:
        known = namespace in _PREFIXES.values()
        raise _Outside(f"namespace {namespace} as {prefix}:" if known else f"element {expanded}")
    return f"{prefix}:{local}"


def _root_base(attrs: dict[str, str]) -> str:
    """An absolute root xml:base feedparser keeps as it is; any other: feedparser."""
    base = attrs.get(f"{_PREFIXES['xml']} base xml")
    if base is None:
        return ""
    if not base.startswith(("http://", "https://")) or _urljoin("", base) != base:
        raise _Outside("xml:base")
    return base


def _note(
    shape: _EntryShape, name: str, attrs: dict[str, str], fmt: _Format, most: int = _MAX_REPEAT
) -> None:
    """Count an entry's element (the feed's: "parent/name", with room for its entries) and keep
    what undoing the known differences needs."""
    count = shape.names.get(name, 0) + 1
    local = name.rpartition("/")[2]
    if count > (most if local in fmt.repeatable else 1):
        raise _Outside(f"repeated element: {local} {count} times in one place")
    shape.names[name] = count
    if local in _ONE_OF and _ONE_OF[local] in shape.names:
        raise _Outside(f"repeated element: {local} and {_ONE_OF[local]} in one entry")
    if fmt.version == "atom10" and local in ("title", "summary", "content"):
        kind = _ATOM_TYPES.get(attrs.get("type", ""))
        if kind is None:
            raise _Outside(f"attribute {local}@type={attrs.get('type')}")
        shape.types[local] = kind
    if local == "guid":
        shape.guid_is_link = attrs.get("isPermaLink", "true") == "true"
    if local in ("link", "atom:link", "atom10:link") and "href" in attrs:
        _note_link(shape, attrs, fmt)


def _note_link(shape: _EntryShape, attrs: dict[str, str], fmt: _Format) -> None:
    """feedparser's link is the one alternate HTML link (its last, feedparser-rs's first),
    rel and type lowercased; in RSS an atom:link alternate would replace the channel's."""
    rel = attrs.get("rel", "alternate")
    if rel != rel.lower() or attrs.get("type", "").lower() != attrs.get("type", ""):
        raise _Outside("link: rel or type in capitals")
    if rel != "alternate":
        return
    shape.alternates += 1
    shape.alternate = attrs["href"]
    if (
        fmt.version != "atom10"
        or shape.alternates > 1
        or attrs.get("type", "text/html") != "text/html"
    ):
        raise _Outside("link: an alternate link the two may choose differently")


# --- feedparser-rs's records as feedparser's dicts, the differences by design undone --------


def _feed_dict(feed: Any, shape: _EntryShape) -> dict[str, Any]:
    """The feed's title and link; its hints as feedparser keeps them (stripped text)."""
    out = {"title": feed.title, "link": feed.link}
    keys = {
        "ttl": "ttl",
        "sy:updatePeriod": "sy_updateperiod",
        "sy:updateFrequency": "sy_updatefrequency",
    }
    out |= {key: shape.texts[name].strip() for name, key in keys.items() if name in shape.texts}
    return out


# The element feedparser takes an entry's published and updated dates from (feedparser-rs
# copies one into the other and reads dc:date as both).
_DATES = {
    "rss20": ("pubDate", "dc:date"),
    "rss10": ("", "dc:date"),
    "atom10": ("published", "updated"),
}


def _entry_dict(e: Any, shape: _EntryShape, fmt: _Format, base: str) -> dict[str, Any]:
    """The keys xmlfeed reads, as feedparser would give them. Only what the entry has is
    asked for: feedparser-rs fills a missing summary from the content, and a missing author
    from the feed's."""
    names = shape.names
    has = {k: k in names for k in (fmt.summary, fmt.content, "media:thumbnail", "media:content")}
    summary = e.summary_detail if has[fmt.summary] else None
    published, updated = _DATES[fmt.version]
    own_author = any(name in names for name in _AUTHORS)
    return {
        "id": e.id,
        "link": e.link,
        "links": e.links,
        "title": e.title,
        "title_detail": _title_detail(e.title_detail, shape, fmt, base),
        "author": e.author if own_author else None,
        "summary": e.summary if summary is not None else None,
        "summary_detail": None if summary is None else _body(summary, shape, fmt.summary, base),
        "content": [_body(c, shape, fmt.content, base) for c in e.content]
        if has[fmt.content]
        else [],
        "published_parsed": _date(shape.texts.get(published)),
        "updated_parsed": _date(shape.texts.get(updated)),
        "media_thumbnail": e.media_thumbnail if has["media:thumbnail"] else [],
        "media_content": e.media_content if has["media:content"] else [],
        "tags": e.tags if "category" in names else [],
    }


_AUTHORS = ("author", "dc:creator")


def _body(detail: Any, shape: _EntryShape, name: str, base: str) -> dict[str, Any]:
    """feedparser's type (feedparser-rs calls an Atom summary without one HTML, not text) and
    base: the root's xml:base, else the document's URL."""
    kind = shape.types.get(name, "text/plain") if name in ("summary", "content") else "text/html"
    return {**dict(detail.items()), "type": kind, "base": base}


def _date(text: str | None) -> Any:
    return _parse_date(text.strip()) if text and text.strip() else None


_looks_like_html = _FeedParserMixin.looks_like_html


def _title_detail(
    detail: Any, shape: _EntryShape, fmt: _Format, base: str
) -> dict[str, Any] | None:
    """feedparser's type: Atom's attribute; elsewhere plain text unless it looks like HTML
    (feedparser-rs says HTML for every title)."""
    if detail is None:
        return None
    if fmt.version == "atom10":
        kind = shape.types.get("title", "text/plain")
    else:
        kind = "text/html" if _looks_like_html(_text(detail.value)) else "text/plain"
    return {**dict(detail.items()), "type": kind, "base": base}


# --- 3. values feedparser would rewrite --------------------------------------------------

_LINK_REWRITTEN = re.compile(r"&amp;|&[A-Za-z0-9_]+;|[\t\r\n]")
# U+0080-U+009F as UTF-8 or as a character reference (a CDATA section's would be refused too)
_C1 = re.compile(rb"\xc2[\x80-\x9f]|&#0*(?:12[89]|1[3-5][0-9]);|&#[xX]0*[89][0-9a-fA-F];")


def _has_c1(body: bytes) -> bool:
    """C1 controls, which feedparser maps to cp1252's characters."""
    return (b"\xc2" in body or b"&#" in body) and _C1.search(body) is not None


def _read_apart(feed: dict[str, Any], entries: list[_Entry], own: _EntryShape, fmt: _Format) -> str:
    """A link or category feedparser-rs read otherwise than expat, or "". It blanks links to
    private addresses (127.0.0.1, 10.0.0.0/8, localhost) in places, leaves entity references in
    Atom attributes as they are and does not normalize their white space."""
    if fmt.version == "atom10":  # the alternate link, else the id (feedparser's guidislink)
        expected = own.alternate or own.texts.get("id", "").strip()
    else:
        expected = own.texts.get("link", "").strip()
    if _text(feed.get("link")) != expected:
        return f"the feed's link {feed.get('link')!r}"
    for e, shape in entries:
        if _text(e["link"]) != _entry_link(shape, fmt):
            return f"an entry's link {e['link']!r}"
        if _text(e["id"]) != _entry_id(shape, fmt):
            return f"an entry's id {e['id']!r}"
        read = [_text(link.get("href")) for link in e["links"]]
        read += [_text(m.get("url")) for m in (*e["media_thumbnail"], *e["media_content"])]
        # attributes are normalized (white space to spaces, entities read): Atom categories
        terms = [(_text(t.get("term")), _text(t.get("label"))) for t in e["tags"]]
        if fmt.version == "atom10" and terms != shape.terms:
            return f"the categories {terms[:2]}"
        # each attribute's URL as often as the document has it; besides them feedparser-rs
        # lists the entry's link and a permalink guid, which only enclosures' rel would use
        guid = shape.texts.get("guid", "").strip()
        lost = Counter(shape.urls) - Counter(read)
        if lost or not set(read) - {""} <= {*shape.urls, _text(e["link"]), guid}:
            return f"{sorted(lost or set(read))[:2]}"
    return ""


def _entry_id(shape: _EntryShape, fmt: _Format) -> str:
    """feedparser's id of an entry: the guid, Atom's id, RDF's rdf:about."""
    if fmt.version == "rss10":
        return shape.about
    return shape.texts.get("guid" if fmt.version == "rss20" else "id", "").strip()


def _entry_link(shape: _EntryShape, fmt: _Format) -> str:
    """feedparser's link of an entry: its link (Atom: the alternate one), else a permalink
    guid (Atom: the id)."""
    texts = shape.texts
    if fmt.version == "atom10":
        return shape.alternate or texts.get("id", "").strip()
    if "link" in shape.names:
        return texts.get("link", "").strip()
    if fmt.version == "rss20" and shape.guid_is_link:
        return texts.get("guid", "").strip()
    return ""


def _rewritten(feed: dict[str, Any], entries: list[_Entry], base: str, fmt: _Format) -> str:
    """A value feedparser would rewrite, or "".

    feedparser strips text values, re-decodes Latin-1 text that is valid UTF-8, rewrites
    ``&amp;`` in links and resolves links (and guids that are permalinks) against the base.
    feedparser-rs leaves entity references in Atom attributes undecoded: there a ``&`` in a
    URL or a category may be raw."""
    urls = {_text(feed.get("link"))}
    words: list[str] = []  # categories: attributes in Atom
    texts = [_text(feed.get(k)) for k in ("title", "ttl", "sy_updateperiod", "sy_updatefrequency")]
    for e, shape in entries:
        urls.add(_text(e["link"]))
        if shape.guid_is_link:
            urls.add(_text(e["id"]))
        urls.update(_text(m.get("url")) for m in (*e["media_thumbnail"], *e["media_content"]))
        urls.update(_text(link.get("href")) for link in e["links"])
        words += [_text(t.get(k)) for t in e["tags"] for k in ("term", "label")]
        texts += [_text(e[k]) for k in ("id", "title", "author", "summary")]
        texts += [_text(c.get("value")) for c in e["content"]]
    urls.discard("")
    for url in urls:
        if _LINK_REWRITTEN.search(url) or not _kept_as_is(url, base):
            return f"the URL {url!r}"
    if fmt.version == "atom10" and any("&" in value for value in (*urls, *words)):
        return "an Atom attribute with &"
    for text in (*urls, *words, *texts):
        if text and not _text_kept(text):
            return f"the text {text[:40]!r}"
    return ""


# An absolute http(s) URL urllib splits and joins back unchanged: lowercase scheme, an ASCII
# host, a path from "/" without ";" (params), no empty "?" or "#", no spaces.
_PLAIN_URL = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[^\s?#;]*)?(?:\?[^\s#]+)?(?:#\S+)?"
)


def _kept_as_is(url: str, base: str) -> bool:
    """feedparser's _urljoin(base, url) == url, without urllib for the plain URLs."""
    return _PLAIN_URL.fullmatch(url) is not None or _urljoin(base, url) == url


def _text_kept(text: str) -> bool:
    if text != text.strip():
        return False
    if text.isascii():
        return True
    try:
        text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return True
    return False  # Latin-1 that is UTF-8: feedparser decodes it again
