"""steps/parse/fast/: feedparser-rs reads a document only where it reads it as feedparser does.

Every document the fast path takes must give the very ParsedFeed feedparser gives (and the same
title types); every other one must be refused and read by feedparser as before. Checked on the
real-world feeds in ../shared, the committed fixtures, bench-like documents, and small documents
for each difference the fast path undoes or refuses.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import feedparser
import pytest
from conftest import FIXTURES, SHARED, shared_or_skip
from feedparser.encodings import convert_to_utf8
from feedparser.urls import _urljoin
from hypothesis import given
from hypothesis import strategies as st

from aggregator.errors import ParseError
from aggregator.models import ParsedFeed
from aggregator.steps.parse import fast, parse_document
from aggregator.steps.parse.xmlfeed import _PARSE_OPTIONS, _bozo_text, parse_xml_feed
from bench.corpus import generate

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

URL = "https://feeds.example/feed.xml"
# None (a file), registered types, nginx's default for .xml (feedparser: us-ascii), a charset,
# a wrong type, and a charset the body may not be in.
CONTENT_TYPES = (
    "",
    "application/rss+xml",
    "application/atom+xml",
    "text/xml",
    "text/xml; charset=utf-8",
    "text/html; charset=UTF-8",
    "application/octet-stream",
    "text/xml; charset=iso-8859-1",
    "application/xml; charset=utf-8",
)
_realfeeds = SHARED / "fixtures" / "realfeeds"
REALFEEDS = (
    sorted(p.name for p in _realfeeds.iterdir() if p.name not in ("README.md", "SOURCES.tsv"))
    if _realfeeds.is_dir()
    else ["absent"]
)


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # feedparser's deprecation notes
        yield


def by_feedparser(body: bytes, content_type: str = "application/xml") -> ParsedFeed | str:
    try:
        return parse_xml_feed(body, URL, content_type)
    except ParseError as e:
        return str(e)


def title_types(body: bytes, content_type: str) -> tuple[list[Any], list[Any]]:
    """The fast path's title types and feedparser's (title_detail.type)."""
    adapted = fast._adapted(body, URL, content_type)
    assert not isinstance(adapted, fast.Refusal)
    headers = {"content-location": URL} | ({"content-type": content_type} if content_type else {})
    theirs = feedparser.parse(body, response_headers=headers, **_PARSE_OPTIONS)
    ours = [(e.get("title_detail") or {}).get("type") for e in adapted[1]]
    return ours, [(e.get("title_detail") or {}).get("type") for e in theirs.entries]


def assert_taken_and_same(body: bytes, content_type: str = "application/xml") -> ParsedFeed:
    read = fast.read_fast(body, URL, content_type)
    assert isinstance(read, ParsedFeed), read
    assert read == by_feedparser(body, content_type)
    ours, theirs = title_types(body, content_type)
    assert ours == theirs
    return read


def assert_refused(body: bytes, content_type: str = "application/xml") -> str:
    read = fast.read_fast(body, URL, content_type)
    assert isinstance(read, fast.Refusal), "the fast path took a document outside its class"
    assert fast.parse_fast(body, URL, content_type) is None
    try:
        assert parse_document(body, URL, content_type) == parse_xml_feed(body, URL, content_type)
    except ParseError:
        with pytest.raises(ParseError):
            parse_xml_feed(body, URL, content_type)
    return read.reason


# --- the real-world feeds: whatever the fast path takes, it reads as feedparser does ------


@pytest.mark.parametrize("name", REALFEEDS)
def test_a_real_feed_reads_the_same_or_is_left_to_feedparser(name: str) -> None:
    body = (shared_or_skip("fixtures/realfeeds") / name).read_bytes()
    for content_type in CONTENT_TYPES:
        read = fast.read_fast(body, URL, content_type)
        if isinstance(read, fast.Refusal):
            assert read.reason
            continue
        assert read == by_feedparser(body, content_type), content_type
        ours, theirs = title_types(body, content_type)
        assert ours == theirs, content_type


def test_the_class_holds_real_feeds_of_each_format() -> None:
    """Not a class of nothing: plain RSS 2.0, RSS 1.0 and Atom 1.0 feeds are in it."""
    folder = shared_or_skip("fixtures/realfeeds")
    taken = [
        name
        for name in REALFEEDS
        if fast.parse_fast((folder / name).read_bytes(), URL, "application/xml") is not None
    ]
    assert len(taken) >= 15, taken
    for name in ("nodefp__rss2sample-xml.xml", "feedrs__atom_spec_1-xml.xml"):
        assert name in taken
    assert any("rss_1_0" in name for name in taken)


# --- the encoding decision is feedparser's own --------------------------------------------


def encoding_cases() -> Iterator[tuple[bytes, str]]:
    bodies = [p.read_bytes() for p in sorted((FIXTURES / "feeds").glob("*.xml"))]
    if _realfeeds.is_dir():
        bodies += [(_realfeeds / name).read_bytes() for name in REALFEEDS]
    bodies += [DOC_LATIN1, DOC_UTF8_UNDECLARED, DOC_UTF8_BOM]
    more = (
        "application/xml; charset=windows-1252",
        "text/plain",
        "application/rss+xml; charset=UTF-8",
    )
    for body in bodies:
        for content_type in (*CONTENT_TYPES, *more):
            yield body, content_type


def test_the_encoding_check_agrees_with_feedparser_on_every_document() -> None:
    """Where the fast path says feedparser reads UTF-8, feedparser's convert_to_utf8 gives the
    same text and the same bozo exception; the cases it refuses include mojibake."""
    declaration = re.compile(rb"^<\?xml[^>]*?>\n?")
    agreed = 0
    for body, content_type in encoding_cases():
        ours = fast.encoding.feedparser_reads_utf8(body, content_type)
        if ours is None:
            continue
        headers = {"content-location": URL} | (
            {"content-type": content_type} if content_type else {}
        )
        result: dict[str, Any] = {}
        data = convert_to_utf8(headers, body, result)
        assert declaration.sub(b"", data) == declaration.sub(b"", body), content_type
        exception = result.get("bozo_exception")
        expected = _bozo_text({"bozo_exception": exception}) if exception else None
        assert (_bozo_text({"bozo_exception": ours[1]}) if ours[1] else None) == expected
        agreed += 1
    assert agreed >= 40  # the committed fixtures alone give 50


# --- committed fixtures and bench-like documents ------------------------------------------


@pytest.mark.parametrize("name", ["feeds/rss2.xml", "feeds/rdf.xml", "parse/rss10.rdf"])
def test_committed_fixtures_in_the_class_read_the_same(name: str) -> None:
    body = (FIXTURES / name).read_bytes()
    for content_type in CONTENT_TYPES:
        if fast.encoding.feedparser_reads_utf8(body, content_type) is not None:
            assert_taken_and_same(body, content_type)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("feeds/atom.xml", "attribute content@type=xhtml"),
        ("feeds/malformed.xml", "DOCTYPE or entity declaration"),
        ("parse/rss091.xml", "DOCTYPE or entity declaration"),
        ("parse/truncated.xml", "not well-formed"),
        ("parse/garbage.bin", "encoding"),
        ("parse/page.html", "DOCTYPE or entity declaration"),
    ],
)
def test_committed_fixtures_outside_the_class_are_refused(name: str, why: str) -> None:
    assert assert_refused((FIXTURES / name).read_bytes()).startswith(why)


def test_bench_documents_read_the_same(tmp_path: Path) -> None:
    """The bench corpus's three formats (RSS 2.0, Atom with a root xml:base, RDF), Chinese and
    English HTML bodies, under the Content-Types servers send."""
    generate(tmp_path, 6)
    for path in sorted((tmp_path / "gen1").iterdir()):
        body = path.read_bytes()
        for content_type in ("application/xml", "text/xml", "", "text/html; charset=utf-8"):
            feed = assert_taken_and_same(body, content_type)
            assert len(feed.entries) == 20
        assert_refused(body, "text/xml; charset=iso-8859-1")  # feedparser: mojibake


# --- each difference the fast path undoes --------------------------------------------------

NS = (
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:atom="http://www.w3.org/2005/Atom"'
)


def rss(items: str, channel: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" {NS}><channel>'
        f"<title>T</title><link>https://site.example/</link>{channel}{items}</channel></rss>"
    ).encode()


def atom(entries: str, feed: str = "", root: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"{root}>'
        f"<title>T</title><id>urn:feed</id><updated>2024-01-02T00:00:00Z</updated>{feed}{entries}"
        "</feed>"
    ).encode()


def rdf(items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel rdf:about="https://site.example/">'
        f"<title>T</title><link>https://site.example/</link></channel>{items}</rdf:RDF>"
    ).encode()


PUB = "<pubDate>Tue, 02 Jan 2024 10:00:00 GMT</pubDate>"
TAKEN = {
    # feedparser-rs copies pubDate into updated; feedparser does not
    "rss pubDate": rss(f"<item><title>a</title><link>https://site.example/a</link>{PUB}</item>"),
    "rss pubDate and dc:date": rss(
        f"<item><title>a</title>{PUB}<dc:date>2024-01-03T00:00:00Z</dc:date></item>"
    ),
    "rss dc:date only": rss("<item><title>a</title><dc:date>2024-01-03T00:00:00Z</dc:date></item>"),
    # a date feedparser-rs cannot parse: feedparser's parser reads its text
    "rss odd date": rss(
        "<item><title>a</title><pubDate>Sat, Dec 16 2023 02:02:33 PM</pubDate></item>"
    ),
    "rss guid as link": rss("<item><title>a</title><guid>https://site.example/g</guid></item>"),
    "rss guid not a link": rss(
        '<item><title>a</title><guid isPermaLink="false">id-1</guid><link>https://s.example/a</link></item>'
    ),
    "rss author": rss("<item><title>a</title><author>jo@site.example (Jo)</author></item>"),
    "rss creator": rss("<item><title>a</title><dc:creator>Jo Smith</dc:creator></item>"),
    "rss categories": rss(
        '<item><title>a</title><category domain="d">c &amp; d</category>'
        "<category>e</category></item>"
    ),
    # feedparser-rs fills a missing summary from content:encoded, feedparser does not
    "rss content only": rss(
        "<item><title>a</title><content:encoded><![CDATA[<p>x</p>]]></content:encoded></item>"
    ),
    "rss description and content": rss(
        "<item><title>a</title><description>short</description>"
        "<content:encoded><![CDATA[<p>long</p>]]></content:encoded></item>"
    ),
    # feedparser calls an RSS title HTML only when it looks like HTML; feedparser-rs always
    "rss title like html": rss("<item><title>a &lt;b&gt;bold&lt;/b&gt;</title></item>"),
    "rss title with <": rss("<item><title>a &lt; b</title></item>"),
    "rss channel self link": rss(
        "<item><title>a</title></item>",
        '<atom:link href="https://site.example/feed" rel="self" type="application/rss+xml"/>',
    ),
    "rss chinese": rss(
        "<item><title>贵州 大数据</title><description>&lt;p&gt;中文&lt;/p&gt;</description></item>"
    ),
    # feedparser-rs drops an sy:updatePeriod it does not know; feedparser keeps the text
    "rss hints": rss(
        "<item><title>a</title></item>",
        "<ttl> 30 </ttl><sy:updatePeriod>Fortnightly</sy:updatePeriod>"
        "<sy:updateFrequency>2</sy:updateFrequency>",
    ).replace(b"<rss ", b'<rss xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" '),
    # feedparser-rs gives an item the channel's authors; feedparser does not
    "rss channel authors": rss(
        "<item><title>a</title></item>",
        "<managingEditor>ed@site.example (Ed)</managingEditor><dc:creator>Chan</dc:creator>",
    ),
    # feedparser-rs copies published into updated and gives entries the feed's author
    "atom published only": atom(
        "<entry><id>urn:1</id><title>a</title><published>2024-01-01T00:00:00Z</published></entry>"
    ),
    "atom feed author": atom(
        "<entry><id>urn:1</id><title>a</title><updated>2024-01-01T00:00:00Z</updated></entry>",
        "<author><name>Feed Author</name></author>",
    ),
    "atom entry author": atom(
        "<entry><id>urn:1</id><title>a</title><author><name>Jo</name><email>jo@x.example</email>"
        "</author><updated>2024-01-01T00:00:00Z</updated></entry>"
    ),
    "atom root xml:base": atom(
        '<entry><id>urn:1</id><title type="html">a &lt;i&gt;b&lt;/i&gt;</title>'
        '<link href="https://site.example/1"/>'
        '<content type="html">&lt;img src="/i.png"&gt;</content>'
        "<updated>2024-01-01T00:00:00Z</updated></entry>",
        root=' xml:base="https://site.example/"',
    ),
    "atom text content": atom(
        "<entry><id>urn:1</id><title>a</title><content>a &lt; b</content></entry>"
    ),
    "rdf dc:date": rdf(
        '<item rdf:about="https://site.example/1"><title>a</title>'
        "<link>https://site.example/1</link><dc:date>2024-01-01T00:00:00Z</dc:date></item>"
    ),
}


@pytest.mark.parametrize("name", TAKEN)
def test_a_known_difference_is_undone(name: str) -> None:
    for content_type in ("application/xml", "", "text/xml"):
        assert_taken_and_same(TAKEN[name], content_type)


# --- documents outside the class ------------------------------------------------------------

CAFE = (
    '<rss version="2.0"><channel><title>Café</title><item><title>é</title></item></channel></rss>'
)
DOC_LATIN1 = ('<?xml version="1.0" encoding="iso-8859-1"?>' + CAFE).encode("iso-8859-1")
DOC_UTF8_UNDECLARED = CAFE.encode()
DOC_UTF8_BOM = b"\xef\xbb\xbf" + rss("<item><title>a</title></item>")
REFUSED = {
    "a non-UTF-8 feed": (DOC_LATIN1, "application/xml", "encoding"),
    "UTF-8 read as Latin-1 (no declaration, no type)": (DOC_UTF8_UNDECLARED, "", "encoding"),
    "UTF-8 under a Latin-1 charset": (
        rss("<item><title>é</title></item>"),
        "text/xml; charset=iso-8859-1",
        "encoding",
    ),
    "a byte order mark": (DOC_UTF8_BOM, "application/xml", "encoding"),
    # feedparser takes the charset, expat and feedparser-rs the declaration
    "UTF-8 declared Latin-1": (
        ('<?xml version="1.0" encoding="iso-8859-1"?>' + CAFE).encode(),
        "application/xml; charset=utf-8",
        "encoding",
    ),
    "ASCII declared in an encoding expat cannot read": (
        b'<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>a</title></item></channel></rss>",
        "text/html",
        "encoding",
    ),
    "two encoding= on the first line": (
        b'<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>T</title>'
        b'<item><title>encoding="utf-8" ?&gt;</title></item></channel></rss>',
        "application/xml",
        "encoding",
    ),
    "a DOCTYPE with entities": (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "x">]><rss version="2.0"><channel>'
        b"<title>&e;</title><item><title>a</title></item></channel></rss>",
        "application/xml",
        "DOCTYPE",
    ),
    "an HTML entity": (
        rss("<item><title>a&nbsp;b</title></item>"),
        "application/xml",
        "not well-formed",
    ),
    "malformed": (rss("<item><title>a</item>"), "application/xml", "not well-formed"),
    "RSS 0.91": (
        b'<rss version="0.91"><channel><title>T</title><item><title>a</title></item>'
        b"</channel></rss>",
        "application/xml",
        "root",
    ),
    "Atom 0.3": (
        b'<feed xmlns="http://purl.org/atom/ns#"><title>T</title></feed>',
        "application/xml",
        "root",
    ),
    "an unlisted element": (
        rss(
            "<item><title>a</title><itunes:duration xmlns:itunes='http://www.itunes.com/dtds/podcast-1.0.dtd'>1</itunes:duration></item>"
        ),
        "application/xml",
        "element",
    ),
    "a namespace under another prefix": (
        rss(
            '<item><title>a</title><c:encoded xmlns:c="http://purl.org/rss/1.0/modules/content/">x</c:encoded></item>'
        ),
        "application/xml",
        "namespace",
    ),
    "a relative link": (
        rss("<item><title>a</title><link>/a</link></item>"),
        "application/xml",
        "feedparser would rewrite",
    ),
    "an entity in an Atom href": (
        atom(
            '<entry><id>urn:1</id><title>a</title><link href="https://s.example/?a=1&amp;b=2"/></entry>'
        ),
        "application/xml",
        "feedparser-rs read otherwise",
    ),
    # feedparser-rs blanks links to private addresses (as the loopback tests use)
    "a link to 127.0.0.1": (
        rss("<item><title>a</title><link>http://127.0.0.1:8080/a.html</link></item>"),
        "application/xml",
        "feedparser-rs read otherwise",
    ),
    "an Atom link to 10.0.0.1": (
        atom("<entry><id>urn:1</id><title>a</title></entry>", '<link href="http://10.0.0.1/"/>'),
        "application/xml",
        "feedparser-rs read otherwise",
    ),
    "an enclosure on localhost": (
        rss(
            '<item><title>a</title><enclosure url="http://localhost/i.png" type="image/png"/>'
            "</item>"
        ),
        "application/xml",
        "feedparser-rs read otherwise",
    ),
    "two alternate links": (
        atom(
            '<entry><id>urn:1</id><title>a</title><link href="https://s.example/1"/>'
            '<link rel="alternate" href="https://s.example/2"/></entry>'
        ),
        "application/xml",
        "link",
    ),
    "author and dc:creator": (
        rss("<item><title>a</title><dc:creator>Jo</dc:creator><author></author></item>"),
        "application/xml",
        "repeated",
    ),
    "an element out of its place": (
        rss(
            "<item><title>a</title></item>",
            "<image><url>https://s.example/i.png</url><ttl>5</ttl></image>",
        ),
        "application/xml",
        "element ttl in image",
    ),
    "two titles": (
        rss("<item><title>a</title><title>b</title></item>"),
        "application/xml",
        "repeated",
    ),
    "xml:base inside": (
        atom('<entry xml:base="https://other.example/"><id>urn:1</id><title>a</title></entry>'),
        "application/xml",
        "attribute",
    ),
    "a C1 control": (
        rss("<item><title>don&#146;t</title></item>"),
        "application/xml",
        "feedparser would rewrite",
    ),
    "Latin-1 that is UTF-8": (
        rss("<item><title>&#226;&#128;&#166;</title></item>"),
        "application/xml",
        "feedparser would rewrite",
    ),
    "xhtml content": (
        atom(
            '<entry><id>urn:1</id><title>a</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></content></entry>'
        ),
        "application/xml",
        "attribute",
    ),
}


@pytest.mark.parametrize("name", REFUSED)
def test_a_document_outside_the_class_is_left_to_feedparser(name: str) -> None:
    body, content_type, why = REFUSED[name]
    assert assert_refused(body, content_type).startswith(why)


# --- the switch and the wiring ----------------------------------------------------------------


def test_the_switch_turns_the_fast_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    body = TAKEN["rss pubDate"]
    assert fast.parse_fast(body, URL) is not None
    monkeypatch.setattr(fast, "ENABLED", False)
    assert fast.parse_fast(body, URL) is None


def test_parse_document_reads_the_class_without_feedparser(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("feedparser was called")

    monkeypatch.setattr(feedparser, "parse", broken)
    feed = parse_document(TAKEN["rss pubDate"], URL, "application/xml")
    assert [e.title for e in feed.entries] == ["a"]
    with pytest.raises(ParseError):  # outside the class: feedparser, which now fails
        parse_document(REFUSED["a relative link"][0], URL, "application/xml")


# --- generated documents: whatever the fast path takes reads as feedparser reads it ---------

# Values both parsers read alike (no "&": feedparser-rs leaves it encoded in Atom attributes)...
CLEAN = ["a", "Café", "贵州 大数据", "<b>b</b>", "1 < 2", "don’t", "😀", "<p>中文</p>"]
CLEAN_LINKS = ["https://s.example/a", "https://s.example/c?q=1", "urn:x:1", "https://s.example/中"]
DATES = [
    "Tue, 02 Jan 2024 10:00:00 GMT",
    "2024-01-02T10:00:00+08:00",
    "2024-01-02",
    "yesterday",
    "Sat, Dec 16 2023 02:02:33 PM",
    "",
    "Tue, 2 Jan 24 10:00:00 EST",
]
TERMS = ["news", "科技", "Café", "a b"]  # Atom attributes: escaped markup would stay escaped
# ... and values feedparser rewrites or the two read differently: refused, or read the same
DIRTY = [" pad ", "\u3000全角", "Ã©", "tab\there", "x & y", "&#146;", "&amp;amp;", "&copy;"]
DIRTY_LINKS = [
    "/relative",
    "rel",
    "",
    "https://S.example/Up",
    "https://s.example/a#",
    "  https://s.example/sp",
    "https://s.example/?a=1&b=2",
    "http://127.0.0.1:8080/p",
    "http://localhost/p",
    "javascript:x()",
]


# XML as written: character references, CDATA, comments, CR LF (XML reads it as LF)
RAW = [
    "&#20013;",
    "&#x1F600;",
    "&lt;b&gt;",
    "<![CDATA[<b>x</b> & y]]>",
    "<!-- c -->",
    "\r\n",
    "&#13;",
    "&#xA0;",
    "\t",
]


def element(name: str, value: str, attrs: str = "") -> str:
    return f"<{name}{attrs}>{value}</{name}>"


@st.composite
def documents(draw: st.DrawFn, dirty: bool) -> bytes:
    words = st.sampled_from(CLEAN + DIRTY if dirty else CLEAN)
    terms = st.sampled_from(TERMS + DIRTY if dirty else TERMS)
    texts = st.lists(st.one_of(words.map(escape), st.sampled_from(RAW)), max_size=5).map(" ".join)
    links = st.sampled_from(CLEAN_LINKS + DIRTY_LINKS if dirty else CLEAN_LINKS)
    dates = st.sampled_from(DATES)
    if draw(st.booleans()):  # RSS 2.0
        parts = [
            element("title", draw(texts)),
            element("link", escape(draw(links))),
            element("description", draw(texts)),
            element(
                "guid", escape(draw(links)), draw(st.sampled_from(["", ' isPermaLink="false"']))
            ),
            element("pubDate", escape(draw(dates))),
            element("dc:date", escape(draw(dates))),
            element(draw(st.sampled_from(["author", "dc:creator"])), draw(texts)),
            element("category", draw(texts)),
            f'<enclosure url={quoteattr(draw(links))} type="image/png" length="1"/>',
        ]
        item = st.lists(st.sampled_from(parts), unique=True).map(
            lambda p: f"<item>{''.join(p)}</item>"
        )
        return rss("".join(draw(st.lists(item, min_size=1, max_size=3))))
    parts = [
        element("title", draw(texts), draw(st.sampled_from(["", ' type="html"']))),
        f"<link href={quoteattr(draw(links))}/>",
        f'<link rel="enclosure" type="image/png" href={quoteattr(draw(links))}/>',
        element("updated", escape(draw(dates))),
        element("published", escape(draw(dates))),
        element("summary", draw(texts)),
        element("content", draw(texts), draw(st.sampled_from(["", ' type="html"']))),
        f"<author>{element('name', draw(texts))}</author>",
        f"<category term={quoteattr(draw(terms))}/>",
    ]
    entry = st.lists(st.sampled_from(parts), unique=True).map(
        lambda p: f"<entry>{element('id', 'urn:e')}{''.join(p)}</entry>"
    )
    root = draw(st.sampled_from(["", ' xml:base="https://base.example/dir/"']))
    author = draw(st.sampled_from(["", "<author><name>Feed</name></author>"]))
    return atom("".join(draw(st.lists(entry, min_size=1, max_size=3))), author, root)


CONTENT_TYPES_SERVED = st.sampled_from(["application/xml", "", "text/xml"])


@given(documents(dirty=False), CONTENT_TYPES_SERVED)
def test_a_generated_clean_document_is_taken_and_read_the_same(body: bytes, ct: str) -> None:
    assert_taken_and_same(body, ct)


@given(documents(dirty=True), CONTENT_TYPES_SERVED)
def test_a_generated_document_is_read_the_same_or_refused(body: bytes, ct: str) -> None:
    read = fast.read_fast(body, URL, ct)
    if isinstance(read, fast.Refusal):
        return
    assert read == by_feedparser(body, ct)
    ours, theirs = title_types(body, ct)
    assert ours == theirs


@given(
    st.from_regex(fast.records._PLAIN_URL, fullmatch=True),
    st.sampled_from(
        ["https://feeds.example/f.xml", "http://a.example/", "https://base.example/dir/"]
    ),
)
def test_a_plain_url_is_one_feedparser_keeps_as_it_is(url: str, base: str) -> None:
    """The shortcut of the URL check: what it passes, feedparser's own join leaves alone."""
    assert _urljoin(base, url) == url


@given(st.one_of(st.binary(max_size=300), documents(dirty=True).map(lambda b: b[: len(b) // 2])))
def test_any_bytes_are_read_or_refused_never_raised(body: bytes) -> None:
    for content_type in ("", "text/xml"):
        read = fast.read_fast(body, URL, content_type)
        assert isinstance(read, ParsedFeed | fast.Refusal)


def test_undeclared_utf8_is_taken_only_where_feedparser_reads_utf8() -> None:
    """No declaration: UTF-8 under an application/ type (feedparser's default there too),
    Latin-1 or us-ascii and a guess under none or text/ ones."""
    feed = assert_taken_and_same(DOC_UTF8_UNDECLARED, "application/rss+xml")
    assert [e.title for e in feed.entries] == ["é"]
    for content_type in ("", "text/xml"):
        assert assert_refused(DOC_UTF8_UNDECLARED, content_type).startswith("encoding")
