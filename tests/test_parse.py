"""parse_document: every feed format gives the same records; junk raises ParseError naming the
URL. Fixtures live in tests/fixtures/parse/."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.errors import ParseError
from aggregator.models import FeedHints, ParsedEntry, ParsedFeed
from aggregator.steps.parse import parse_document

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

URL = "https://feeds.example/feed"


def parse(fixtures: Path, name: str, content_type: str = "") -> ParsedFeed:
    return parse_document((fixtures / "parse" / name).read_bytes(), URL, content_type)


def utc(*args: int) -> datetime:
    return datetime(*args).replace(tzinfo=UTC)


def test_rss_091(fixtures: Path) -> None:
    feed = parse(fixtures, "rss091.xml")
    assert (feed.title, feed.link) == ("Old School", "http://old.example/")
    first, second = feed.entries
    assert first.guid is None
    assert first.link == "http://old.example/cafe.html"
    assert first.title == "Café opens"
    assert first.content_html == "The café <b>opens</b> today."
    assert first.base_url == "http://old.example/cafe.html"
    assert (first.published, first.author, first.image_urls) == (None, None, ())
    assert second.title == "Second"


def test_rss_092_inline() -> None:
    body = b"""<?xml version="1.0"?><rss version="0.92"><channel><title>T</title>
    <link>http://x.example/</link><description>d</description>
    <item><title>I</title><description>&lt;p&gt;body&lt;/p&gt;</description>
    <enclosure url="http://x.example/p.gif" length="1" type="image/gif"/></item>
    </channel></rss>"""
    [entry] = parse_document(body, URL).entries
    assert entry.title == "I"
    assert entry.content_html == "<p>body</p>"
    assert entry.image_urls == ("http://x.example/p.gif",)


def test_rss_20(fixtures: Path) -> None:
    feed = parse(fixtures, "rss20.xml")
    assert (feed.title, feed.link) == ("Example News", "https://news.example/")
    news, pod, enc = feed.entries
    assert news == ParsedEntry(
        guid="news-1",
        link="https://news.example/2021/first?utm_source=rss",
        title="First & foremost",
        title_html=False,  # an RSS title without markup: plain text
        author="Jane Doe",
        content_html=(
            '<p>Full <b>text</b> with <img src="/img/a.png"> and <a href="more.html">more</a>.</p>'
        ),
        base_url="https://news.example/2021/first?utm_source=rss",
        published=utc(2021, 5, 26, 1, 32, 46),
        updated=news.updated,
        image_urls=(
            "https://cdn.news.example/thumb1.jpg",
            "https://cdn.news.example/big1.jpg",
            "https://cdn.news.example/enc1.png",
        ),
    )
    assert pod.guid == "https://news.example/2021/pod#ep2"
    assert pod.published == utc(2021, 5, 25, 12)
    assert pod.author is not None and "Pod Host" in pod.author
    # audio media:content and audio enclosures are not images
    assert pod.image_urls == ("https://cdn.news.example/cover2.jpg",)
    assert enc.guid is None
    assert enc.image_urls == ("https://cdn.news.example/enc3.jpg",)


def test_dates_are_utc(fixtures: Path) -> None:
    for name in ("rss20.xml", "rss10.rdf", "atom10.xml", "jsonfeed11.json", "jsonfeed10.json"):
        for entry in parse(fixtures, name).entries:
            for value in (entry.published, entry.updated):
                assert value is None or value.utcoffset() == UTC.utcoffset(None), name


def test_rss_10_rdf(fixtures: Path) -> None:
    feed = parse(fixtures, "rss10.rdf")
    assert feed.title == "RDF Site"
    [entry] = feed.entries
    assert entry.guid == "http://rdf.example/one"
    assert entry.link == "http://rdf.example/one"
    assert entry.title == "RDF item one"
    assert entry.author == "Rita"
    assert entry.content_html == "<p>Item <em>one</em></p>"
    # dc:date: feedparser reports it as the updated date; either slot will do for normalize
    assert utc(2020, 2, 3, 9, 5, 6) in (entry.published, entry.updated)


def test_atom_10_with_xml_base(fixtures: Path) -> None:
    feed = parse(fixtures, "atom10.xml")
    assert (feed.title, feed.link) == ("Atom Blog", "https://atom.example/blog/")
    hello, plain = feed.entries
    assert hello.guid == "tag:atom.example,2022:hello"
    assert hello.link == "https://atom.example/blog/posts/hello.html"  # relative to xml:base
    assert hello.title == "Hello <em>world</em>"  # type="html": normalize strips the tags
    assert hello.author == "Ann Author"
    assert hello.published == utc(2022, 1, 1, 8)
    assert hello.updated == utc(2022, 1, 2, 3, 4, 5)
    assert 'href="page.html"' in hello.content_html  # content over summary
    assert "Summary only" not in hello.content_html
    assert hello.base_url == "https://static.atom.example/2022/"  # the content's own xml:base
    assert plain.content_html == "1 &lt; 2 &amp; 3 &gt; 2"  # type="text" becomes escaped text
    assert plain.published is None
    assert plain.updated == utc(2022, 1, 3)


def test_json_feed_11(fixtures: Path) -> None:
    feed = parse(fixtures, "jsonfeed11.json")
    assert (feed.title, feed.link) == ("JSON Blog", "https://json.example/")
    one, two, three = feed.entries  # the non-object item is skipped
    assert one == ParsedEntry(
        guid="https://json.example/1",
        link="https://json.example/posts/1",
        title="JSON one",
        author="Item Author",
        content_html='<p>Hello <img src="a.png"></p>',
        base_url="https://json.example/posts/1",
        published=utc(2021, 3, 4, 4, 6, 7),
        updated=utc(2021, 3, 5),
        image_urls=("https://json.example/img/one.jpg",),
    )
    assert two.guid == "2"
    assert two.author == "Feed Author"  # the feed's authors when the item has none
    assert two.content_html == "Line one<br>Line &lt;two&gt;"  # content_text escaped
    assert two.published == utc(2021, 3, 6)  # no zone: UTC
    assert two.image_urls == ("https://json.example/pic.png",)  # image attachments only
    assert three.link is None
    assert three.base_url == "https://json.example/"
    assert three.content_html == "only &lt;summary&gt;"
    assert three.published is None  # junk date


def test_json_feed_10_with_spec_bends(fixtures: Path) -> None:
    feed = parse(fixtures, "jsonfeed10.json")
    numeric, own = feed.entries
    assert numeric.guid == "12345"  # a number where a string belongs
    assert numeric.link == "https://elsewhere.example/story"  # external_url when no url
    assert numeric.author == "Solo Author"  # 1.0 `author` object
    assert numeric.image_urls == ("https://old-json.example/banner.jpg",)
    assert numeric.published == utc(2019, 7, 8, 9, 10, 11)
    assert own.guid == "2.5"
    assert own.author == "Guest"


@pytest.mark.parametrize(
    "content_type",
    ["application/feed+json", "application/json; charset=utf-8", "text/json", ""],
    ids=["feed+json", "json-charset", "text-json", "sniffed"],
)
def test_json_feed_detected_by_type_or_content(fixtures: Path, content_type: str) -> None:
    assert parse(fixtures, "jsonfeed11.json", content_type).title == "JSON Blog"


def test_json_feed_with_bom() -> None:
    body = b'\xef\xbb\xbf {"version": "https://jsonfeed.org/version/1.1", "items": []}'
    assert parse_document(body, URL).entries == ()


def test_bozo_feed_keeps_good_entries(fixtures: Path) -> None:
    feed = parse(fixtures, "truncated.xml")
    good = [e for e in feed.entries if e.title]
    assert [e.title for e in good] == ["Good one", "Good two"]
    assert [e.link for e in good] == ["https://cut.example/1", "https://cut.example/2"]
    assert feed.warning  # recoverable, but said


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", ""),
        (b"   \n\t ", ""),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", ""),
        (b"Just some text, not markup at all.", "text/plain"),
        (b"<html><head><title>x</title></head><body><p>hi</body></html>", "text/html"),
        (b"<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>", ""),
        (b'<?xml version="1.0"?><note><to>x</to></note>', "application/xml"),
        (b'{"title": "no version", "items": []}', ""),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', ""),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', ""),
        (b"[1, 2, 3]", "application/json"),
        (b'{"version": "\xff\xfe"}', "application/json"),
    ],
    ids=[
        "empty",
        "whitespace",
        "binary",
        "plain-text",
        "html",
        "html-sniffed",
        "other-xml",
        "json-no-version",
        "json-items-not-list",
        "json-truncated",
        "json-array",
        "json-not-utf8",
    ],
)
def test_not_a_feed_raises_parse_error_naming_the_url(body: bytes, content_type: str) -> None:
    url = "https://junk.example/path?q=1"
    with pytest.raises(ParseError) as info:
        parse_document(body, url, content_type)
    assert url in str(info.value)


@pytest.mark.parametrize("name", ["page.html", "garbage.bin"], ids=["html-page", "garbage"])
def test_fixture_junk_raises(fixtures: Path, name: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(fixtures, name)
    assert URL in str(info.value)


def test_rss_hints(fixtures: Path) -> None:
    assert parse(fixtures, "rss20.xml").hints == FeedHints(
        ttl_minutes=45, update_period="hourly", update_frequency=2
    )
    assert parse(fixtures, "rss10.rdf").hints == FeedHints(
        ttl_minutes=None, update_period="daily", update_frequency=4
    )
    assert parse(fixtures, "atom10.xml").hints == FeedHints()


@pytest.mark.parametrize(
    ("ttl", "expected"),
    [("60", 60), (" 15 ", 15), ("0", None), ("-5", None), ("soon", None), ("", None)],
    ids=["60", "spaces", "zero", "negative", "word", "empty"],
)
def test_ttl_values(ttl: str, expected: int | None) -> None:
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><ttl>{ttl}</ttl>'
        "<item><title>i</title></item></channel></rss>"
    ).encode()
    assert parse_document(body, URL).hints.ttl_minutes == expected


def test_empty_channel_is_a_feed_without_entries() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
    feed = parse_document(body, URL)
    assert (feed.title, feed.entries) == ("T", ())


@pytest.mark.parametrize(
    ("title", "html"),
    [
        ("<title>pipe|star&lt;angle&gt;</title>", False),
        ("<title>A &amp; B</title>", False),
        ("<title>a &lt;b&gt;bold&lt;/b&gt; c</title>", True),
        ("<title><![CDATA[x <em>y</em>]]></title>", True),
    ],
    ids=["angle-is-text", "entity-is-text", "escaped-markup", "cdata-markup"],
)
def test_rss_titles_say_whether_they_are_html(title: str, html: bool) -> None:
    """feedparser's title_detail.type: an RSS title without markup is plain text."""
    body = f'<rss version="2.0"><channel><item>{title}</item></channel></rss>'.encode()
    [entry] = parse_document(body, "https://example.com/feed").entries
    assert entry.title_html is html


@pytest.mark.parametrize(("kind", "html"), [("text", False), ("html", True), ("xhtml", True)])
def test_atom_titles_follow_their_type(kind: str, html: bool) -> None:
    title = "<div xmlns='http://www.w3.org/1999/xhtml'>T</div>" if kind == "xhtml" else "T"
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>e</id>'
        f'<title type="{kind}">{title}</title></entry></feed>'
    ).encode()
    [entry] = parse_document(body, "https://example.com/feed").entries
    assert entry.title_html is html


def test_the_main_process_never_loads_feedparser() -> None:
    """The CLI, the pipeline and the daemon name the parser for the workers; only parsing an
    XML document loads feedparser (14 MB resident), so the main process stays without it."""
    code = (
        "import sys, aggregator.cli, aggregator.run.passes, aggregator.run.daemon\n"
        "before = 'feedparser' in sys.modules\n"
        "from aggregator.steps.parse import parse_document\n"
        "parse_document(b'<rss version=\"2.0\"><channel><title>t</title></channel></rss>', 'u')\n"
        "print(before, 'feedparser' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]
