"""The class of documents the fast path reads: three formats, each a table of the elements
(under their parents) and attributes both parsers read alike, and the limits."""

from __future__ import annotations

from dataclasses import dataclass

_ATOM = "http://www.w3.org/2005/Atom"
_RSS1 = "http://purl.org/rss/1.0/"
# feedparser-rs knows extensions by these prefixes, feedparser by the namespaces.
PREFIXES = {
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
TEXTS = frozenset(
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
URL_ATTRIBUTES = ("href", "url")
RDF_ABOUT = "http://www.w3.org/1999/02/22-rdf-syntax-ns# about rdf"  # as expat names it

_Allowed = dict[tuple[str, str], frozenset[str]]  # (parent, element) -> its attributes


@dataclass(frozen=True, slots=True)
class Format:
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


def _format(version: str, namespace: str, entry: str, table: str, repeatable: str) -> Format:
    summary, content = _BODIES[version]
    repeats = frozenset(repeatable.split())
    return Format(version, namespace, entry, summary, content, _table(table), repeats)


_BODIES = {  # the elements feedparser reads an entry's summary and content from
    "rss20": ("description", "content:encoded"),
    "rss10": ("description", "content:encoded"),
    "atom10": ("summary", "content"),
}
FORMATS = {
    "rss": _format("rss20", "", "item", _RSS20, "item category atom:link atom10:link"),
    "rdf:RDF": _format("rss10", _RSS1, "item", _RSS10, "item rdf:li"),
    "feed": _format("atom10", _ATOM, "entry", _ATOM10, "entry category link"),
}
ATOM_TYPES = {"": "text/plain", "text": "text/plain", "html": "text/html"}  # feedparser's names
# Under feedparser-rs's own limits (64 KB attributes, 100 levels, 10,000 entries, 20-100 links
# or tags per entry), which it enforces by dropping what is beyond them.
MAX_BODY = 8 * 1024 * 1024  # under its 10 MB of text in one element
MAX_ATTRIBUTE = 8192
MAX_DEPTH = 32
MAX_REPEAT = 16
MAX_ENTRIES = 5000

# Two sources of one value: which wins (even when one is empty) is each parser's own rule.
ONE_OF = {"author": "dc:creator", "dc:creator": "author"}
ROOTS = {"rss": "rss", f"{PREFIXES['rdf']} RDF rdf": "rdf:RDF", f"{_ATOM} feed": "feed"}
