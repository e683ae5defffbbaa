"""normalize: canonical URLs, identity, dates, titles, sanitized content and the image."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from feeds import rss, rss_item
from hypothesis import given
from hypothesis import strategies as st

from aggregator.config import FeedConfig
from aggregator.models import Article, ParsedEntry, ParsedFeed
from aggregator.steps.normalize import (
    Normalized,
    article_id,
    canonical_url,
    clean_title,
    entry_key,
    normalize_document,
    normalize_entry,
    normalize_feed,
    sane_date,
    word_runs,
)
from aggregator.steps.parse import parse_document
from aggregator.steps.render.filename import post_name

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FEED = FeedConfig(name="Feed", url="https://feed.example/rss")
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
LINK = "https://news.example/2024/story.html"


def entry(**changes: object) -> ParsedEntry:
    base = ParsedEntry(
        guid="g-1",
        link=LINK,
        title="A story",
        author="Reporter",
        content_html="<p>Body text.</p>",
        base_url=LINK,
        published=datetime(2024, 5, 30, 8, tzinfo=UTC),
        updated=None,
    )
    return replace(base, **changes)


def norm(**changes: object) -> Article:
    return normalize_entry(entry(**changes), FEED, FEED.url, NOW)


# --- canonical_url ------------------------------------------------------------------------------

CANONICAL = "https://example.com/a/b?id=7"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a/b?id=7",
        "http://example.com/a/b?id=7",
        "HTTPS://EXAMPLE.COM/a/b?id=7",
        "https://www.example.com/a/b?id=7",
        "http://WWW.Example.Com:80/a/b?id=7",
        "https://example.com:443/a/b?id=7",
        "https://example.com/a/b?id=7#comments",
        "https://example.com/a/b?utm_source=rss&id=7&utm_medium=feed&UTM_Campaign=x",
        "https://example.com/a/b?fbclid=abc&id=7",
        "https://example.com/a/b?id=7&gclid=xyz",
        "https://example.com/a/b?mc_cid=1&mc_eid=2&id=7",
        "https://example.com/a/b?spm=a2c.1&id=7",
        "  https://example.com./a/b?id=7  ",
        "https://user:pw@example.com/a/b?id=7",
    ],
    ids=[
        "same",
        "http",
        "upper-scheme-host",
        "www",
        "www-port-80",
        "port-443",
        "fragment",
        "utm",
        "fbclid",
        "gclid",
        "mc",
        "spm",
        "spaces-trailing-dot",
        "userinfo",
    ],
)
def test_canonical_url_equivalents(url: str) -> None:
    assert canonical_url(url) == CANONICAL


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com", "https://example.com/"),
        ("https://example.com:8080/x", "https://example.com:8080/x"),
        ("https://example.com/X/Y", "https://example.com/X/Y"),  # paths are case-sensitive
        ("https://example.com/?b=2&a=1", "https://example.com/?b=2&a=1"),  # order kept
        ("https://example.com/?utm_source=x", "https://example.com/"),
        ("https://example.com/?q", "https://example.com/?q="),
        ("https://example.com/?spmx=1", "https://example.com/?spmx=1"),  # only `spm` itself
        ("http://[::1]:8080/x", "https://[::1]:8080/x"),
        ("https://www.www.example.com/", "https://example.com/"),
        ("https://example.com/a #frag", "https://example.com/a"),
    ],
    ids=[
        "root",
        "other-port",
        "path-case",
        "param-order",
        "only-tracking",
        "blank-param",
        "spm-prefix",
        "ipv6",
        "double-www",
        "space-before-fragment",
    ],
)
def test_canonical_url_table(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "/relative/path",
        "mailto:a@example.com",
        "ftp://example.com/x",
        "javascript:alert(1)",
        "https://",
        "http://example.com:99999/",
        "http://[::1/",
    ],
    ids=["empty", "relative", "mailto", "ftp", "javascript", "no-host", "bad-port", "bad-ipv6"],
)
def test_canonical_url_none_for_non_web_urls(url: str) -> None:
    assert canonical_url(url) is None


@given(
    st.one_of(
        st.text(alphabet=st.characters(max_codepoint=0x7F)),  # the byte translation
        st.text(alphabet="aZ09_ \t.,-ßKſİ\u00e9\u4e2d\u3002\u2019"),  # folds to ASCII, or not
        st.text(),
    )
)
def test_word_runs_are_the_regex_word_runs_on_any_text(text: str) -> None:
    """Fingerprints hash word_runs: the fast path for ASCII must give the same words."""
    assert word_runs(text) == " ".join(re.findall(r"\w+", text.casefold()))


@given(st.text())
def test_canonical_url_is_idempotent_on_any_text(text: str) -> None:
    for url in (text, "http://" + text, "https://www." + text):
        once = canonical_url(url)
        if once is not None:
            assert canonical_url(once) == once


_host_label = st.from_regex(r"[a-z0-9][a-z0-9-]{0,10}", fullmatch=True)
_segment = st.text(alphabet="abcXYZ019-._~%/", max_size=12)
_param = st.tuples(
    st.sampled_from(["id", "q", "page", "utm_source", "fbclid", "gclid", "mc_cid", "spm", "x"]),
    st.text(alphabet="abc123 %+&=", max_size=6),
)


@st.composite
def web_urls(draw: st.DrawFn) -> tuple[str, str]:
    """(a messy URL, the same URL written plainly): both must share one canonical form."""
    host = ".".join(draw(st.lists(_host_label, min_size=1, max_size=3))) + ".example"
    path = "/" + draw(_segment)
    params = draw(st.lists(_param, max_size=4))
    from urllib.parse import urlencode

    kept = [(k, v) for k, v in params if k in ("id", "q", "page", "x")]
    plain = f"https://{host}{path}" + (f"?{urlencode(kept)}" if kept else "")
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    www = draw(st.sampled_from(["", "www.", "WWW."]))
    port = draw(st.sampled_from(["", ":80", ":443"]))
    fragment = draw(st.sampled_from(["", "#top", "#"]))
    host_case = draw(st.sampled_from([str.lower, str.upper]))
    query = urlencode(params)
    messy = f"{scheme}://{www}{host_case(host)}{port}{path}" + (f"?{query}" if query else "")
    return messy + fragment, plain


@given(web_urls())
def test_canonical_url_equivalence_property(pair: tuple[str, str]) -> None:
    messy, plain = pair
    canonical = canonical_url(messy)
    assert canonical is not None
    assert canonical == canonical_url(plain)
    assert canonical_url(canonical) == canonical
    assert canonical.startswith("https://")
    assert "#" not in canonical
    assert not re.search(r"[?&](utm_|fbclid|gclid|mc_|spm=)", canonical)


# --- identity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("guid", "canonical", "prefix"),
    [
        ("abc", "https://x.example/", "guid:abc"),
        ("  abc  ", None, "guid:abc"),
        (None, "https://x.example/", "link:https://x.example/"),
        ("   ", "https://x.example/", "link:https://x.example/"),
        ("", None, "hash:"),
        (None, None, "hash:"),
    ],
    ids=["guid-wins", "guid-stripped", "link", "blank-guid", "empty-guid-no-link", "nothing"],
)
def test_entry_key_precedence(guid: str | None, canonical: str | None, prefix: str) -> None:
    key = entry_key(guid, canonical, "Title", "text")
    assert key.startswith(prefix)
    if prefix == "hash:":
        assert key == entry_key(None, None, "Title", "text")
        assert key != entry_key(None, None, "Title", "other text")
        assert key != entry_key(None, None, "Other", "text")


def test_entry_key_from_a_whole_entry() -> None:
    assert norm().entry_key == "guid:g-1"
    assert norm(guid=None, link=LINK + "?utm_source=x#c").entry_key == "link:" + str(
        canonical_url(LINK)
    )
    hashed = norm(guid=None, link=None)
    assert hashed.entry_key.startswith("hash:")
    assert hashed.entry_key == norm(guid=None, link=None, author="Someone else").entry_key


def test_same_entry_same_article_id() -> None:
    a, b = norm(), norm()
    assert a.id == b.id == article_id("Feed", "guid:g-1")
    assert a == b
    later = normalize_entry(entry(), FEED, FEED.url, NOW + timedelta(days=3))
    assert later.id == a.id
    assert later.content_hash == a.content_hash


def test_article_id_depends_on_feed_name_and_key() -> None:
    other_feed = normalize_entry(entry(), replace(FEED, name="Other"), FEED.url, NOW)
    assert other_feed.id != norm().id
    assert norm(guid="g-2").id != norm().id
    # a renamed url is not a new feed: the id does not depend on the feed URL
    moved = normalize_entry(entry(), replace(FEED, url="https://moved.example/"), "x", NOW)
    assert moved.id == norm().id


def test_content_hash_changes_with_content() -> None:
    assert norm().content_hash != norm(content_html="<p>Changed.</p>").content_hash
    assert norm().content_hash != norm(title="New title").content_hash


def test_normalize_feed_first_occurrence_wins() -> None:
    first = entry(title="First version")
    repeated = entry(title="Second version")
    other = entry(guid="g-2", title="Other")
    articles = normalize_feed(ParsedFeed("F", None, (first, repeated, other)), FEED, FEED.url, NOW)
    assert [a.title for a in articles] == ["First version", "Other"]


# --- entries read before -----------------------------------------------------------------------

EPISODES = tuple(
    entry(
        guid=f"g-{i}",
        link=f"{LINK}?n={i}",
        content_html=f"<p>Story {i}.</p>",
        published=datetime(2024, 5, 20 + i, tzinfo=UTC),
    )
    for i in range(3)
)


def read(
    entries: tuple[ParsedEntry, ...],
    known: dict[str, str] | None = None,
    *,
    feed: FeedConfig = FEED,
    now: datetime = NOW,
    sign: int = 0,
    allow_data_images: bool = False,
) -> Normalized:
    document = ParsedFeed("F", None, entries)
    return normalize_document(document, feed, feed.url, now, allow_data_images, sign, known or {})


def last_read(entries: tuple[ParsedEntry, ...]) -> dict[str, str]:
    """What the store keeps of a document read in full: entry digest -> entry key."""
    return {a.entry_digest: a.entry_key for a in read(entries).articles}


def test_entries_read_before_are_not_normalized_again() -> None:
    known = last_read(EPISODES)
    assert len(known) == 3 and sorted(known.values()) == ["guid:g-0", "guid:g-1", "guid:g-2"]
    again = read(EPISODES, known)
    assert again.articles == []
    assert dict(again.known) == known
    assert sorted(again.known_dates) == [e.published for e in EPISODES]


def test_only_what_changed_is_normalized_again() -> None:
    known = last_read(EPISODES)
    edited = replace(EPISODES[1], content_html="<p>Story 1, corrected.</p>")
    new = entry(guid="g-9", link=f"{LINK}?n=9", content_html="<p>Story 9.</p>")
    again = read((new, EPISODES[0], edited, EPISODES[2]), known)
    assert [a.entry_key for a in again.articles] == ["guid:g-9", "guid:g-1"]
    assert [key for _, key in again.known] == ["guid:g-0", "guid:g-2"]
    # The next read knows the edited entry as it is now.
    assert again.articles[1].entry_digest not in known


def test_a_known_entry_after_another_with_its_key_is_dropped_as_before() -> None:
    """Within a document the first occurrence wins, read before or not."""
    known = last_read(EPISODES)
    earlier = replace(EPISODES[0], title="Same guid, another version", link=f"{LINK}?v=2")
    again = read((earlier, *EPISODES), known)
    assert [a.title for a in again.articles] == ["Same guid, another version"]
    assert [key for _, key in again.known] == ["guid:g-1", "guid:g-2"]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"feed": FeedConfig(name="Renamed", url=FEED.url)}, id="feed name"),
        pytest.param({"sign": 5}, id="near-duplicate signing"),
        pytest.param({"allow_data_images": True}, id="data images"),
    ],
)
def test_entries_read_with_other_settings_are_normalized_again(change: dict[str, Any]) -> None:
    known = last_read(EPISODES)
    assert len(read(EPISODES, known, **change).articles) == 3


def test_an_entry_is_read_again_when_another_comes_to_share_its_link() -> None:
    """A link that a new entry shares identifies neither: the known one's key changes."""
    lone = entry(guid=None, link=LINK, title="Episode 1", content_html="<p>One.</p>")
    known = last_read((lone,))
    assert list(known.values()) == [f"link:{canonical_url(LINK)}"]
    second = replace(lone, title="Episode 2", content_html="<p>Two.</p>")
    again = read((lone, second), known)
    assert again.known == ()
    assert all(a.entry_key.startswith("hash:") for a in again.articles)


def test_a_future_date_that_came_due_is_read_again() -> None:
    ahead = (entry(published=NOW + timedelta(days=3)),)
    known = last_read(ahead)
    assert read(ahead, known).known != ()  # the same moment: the same reading
    later = read(ahead, known, now=NOW + timedelta(days=3))
    assert [a.published for a in later.articles] == [NOW + timedelta(days=3)]


def test_normalize_feed_drops_items_with_nothing_to_show() -> None:
    empty = entry(guid=None, link=None, title="", content_html="", author=None)
    emptied = entry(guid=None, link=None, title="", content_html="<script>x()</script>")
    kept = entry(guid=None, link=None, title="", content_html="<p>words</p>")
    articles = normalize_feed(ParsedFeed("F", None, (empty, emptied, kept)), FEED, FEED.url, NOW)
    assert [a.content for a in articles] == ["<p>words</p>"]


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (datetime(2024, 5, 30, tzinfo=UTC), True),
        (datetime(1990, 1, 1, tzinfo=UTC), True),
        (datetime(1989, 12, 31, 23, 59, tzinfo=UTC), False),
        (datetime(1970, 1, 1, tzinfo=UTC), False),
        (NOW + timedelta(hours=12), True),  # clock skew is tolerated
        (NOW + timedelta(days=2), False),
        (datetime(2999, 1, 1, tzinfo=UTC), False),
        (None, False),
    ],
    ids=["recent", "1990", "1989", "epoch", "skew", "future", "far-future", "none"],
)
def test_sane_date(value: datetime | None, kept: bool) -> None:
    assert sane_date(value, NOW) == (value if kept else None)


def test_absurd_published_falls_back() -> None:
    old = datetime(1970, 1, 1, tzinfo=UTC)
    future = NOW + timedelta(days=365)
    assert norm(published=old).published is None
    assert norm(published=future, updated=None).published is None
    updated = datetime(2024, 5, 31, tzinfo=UTC)
    assert norm(published=old, updated=updated).published == updated  # the sane one instead
    article = norm(published=None, updated=None)
    assert article.published is None
    assert post_name(article, NOW).startswith("2024-06-01-")  # named by first seen: now


# --- titles and text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("<b>Bold</b> &amp; co", "Bold & co"),
        ("A &lt;tag&gt; title", "A <tag> title"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("AT&T rocks", "AT&T rocks"),
        ("1 < 2", "1 < 2"),
        ("Hello <em>world</em> again", "Hello world again"),
        ("line\nbreak\ttab\r\nend", "line break tab end"),
        ("a\u2028b\u2029c", "a b c"),
        ("\ufeffBOM\u200bzero\u200dwidth", "BOMzerowidth"),
        ("bidi\u202eoverride\u202c\u2066iso\u2069", "bidioverrideiso"),
        ("nul\x00bell\x07del\x7f", "nulbelldel"),
        ("  spaced out  ", "spaced out"),
        ("&#x1F600; smile", "😀 smile"),
        ("<script>alert(1)</script>Safe", "Safe"),
        ("\u201ccurly\u201d 'straight' \"double\"", "\u201ccurly\u201d 'straight' \"double\""),
        ("مرحبا بالعالم", "مرحبا بالعالم"),
    ],
    ids=[
        "tags-and-entity",
        "escaped-tags",
        "entity",
        "bare-ampersand",
        "bare-less-than",
        "inline-tags",
        "newlines-tabs",
        "line-para-separators",
        "bom-zero-width",
        "bidi-controls",
        "control-chars",
        "outer-space",
        "numeric-entity",
        "script",
        "quotes-kept-until-render",
        "rtl-text",
    ],
)
def test_clean_title(raw: str, title: str) -> None:
    assert clean_title(raw) == title
    assert norm(title=raw).title == title


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("pipe|star<angle>", "pipe|star<angle>"),
        ("5 < 6 and 7 > 3", "5 < 6 and 7 > 3"),
        ("R&amp;D stays as written", "R&amp;D stays as written"),
        ("Why <b> is not bold", "Why <b> is not bold"),
        ("line\nbreak", "line break"),
        ("<script>alert(1)</script>Safe", "Safe"),
        ('<img src=x onerror="alert(1)">Still safe', "Still safe"),
        ("<script>x()</script> AT&amp;T", "AT&T"),
    ],
    ids=[
        "angle",
        "comparison",
        "entity-text",
        "bare-tag",
        "newline",
        "script",
        "attributes",
        "script-read-as-html",
    ],
)
def test_a_plain_text_title_keeps_its_characters(raw: str, title: str) -> None:
    """feedparser says text/plain: what looks like markup or an entity is the title's text;
    a title holding what a page would run (feedparser calls a script plain text) is read as
    HTML, so that nothing of it is left."""
    assert clean_title(raw, html_title=False) == title
    assert norm(title=raw, title_html=False).title == title


def test_an_html_title_still_has_its_tags_stripped() -> None:
    assert clean_title("pipe|star<angle>") == "pipe|star"
    assert norm(title="a <b>bold</b> c", title_html=True).title == "a bold c"


@given(st.text(max_size=300))
def test_clean_title_is_one_clean_line(raw: str) -> None:
    title = clean_title(raw)
    assert title == title.strip()
    assert not re.search("[\x00-\x1f\x7f\u2028\u2029\u200b\ufeff\u202e]", title)


def test_author_cleaned() -> None:
    assert norm(author=" Jane\nDoe\u200b ").author == "Jane Doe"
    assert norm(author="\u200b").author is None


# --- content ------------------------------------------------------------------------------------

DANGEROUS = [
    '<script>alert("x")</script>',
    "<style>body{display:none}</style>",
    '<iframe src="https://evil.example/"></iframe>',
    '<img src="x.png" onerror="alert(1)">',
    '<a href="javascript:alert(1)">js</a>',
    '<a href="  JaVaScRiPt:alert(1)">js2</a>',
    '<a href="java&#x09;script:alert(1)">js3</a>',
    '<svg><a xlink:href="javascript:alert(1)">svg</a></svg>',
    '<math><mrow xlink:href="javascript:alert(1)">m</mrow></math>',
    '<table background="javascript:alert(1)"><tr><td>t</td></tr></table>',
    '<img src="a.png" srcset="javascript:alert(1) 1x">',
    '<div onclick="steal()" onmouseover="x()">d</div>',
    '<form action="https://evil.example/"><input name="p"></form>',
    '<object data="x.swf"></object><embed src="y.swf">',
    '<a href="vbscript:msgbox(1)">vb</a><a href="data:text/html,hi">data</a>',
    '<body onload="x()"><p>body</p></body>',
    "<!-- <script>alert(1)</script> -->",
]


@pytest.mark.parametrize("html", DANGEROUS, ids=lambda h: re.sub(r"\W+", "-", h[:24]))
def test_sanitized_content_is_harmless(html: str) -> None:
    content = norm(content_html=f"<p>before</p>{html}<p>after</p>").content
    lowered = content.lower()
    assert "<script" not in lowered
    assert "<style" not in lowered
    assert "<iframe" not in lowered
    assert "javascript:" not in lowered
    assert "vbscript:" not in lowered
    assert "data:" not in lowered
    assert not re.search(r"\son\w+\s*=", lowered)
    assert "<p>before</p>" in content and "<p>after</p>" in content


def test_harmless_structure_is_kept() -> None:
    html = (
        '<div id="x" class="wide"><h2>H</h2><ul><li>one</li></ul>'
        '<figure><img src="https://i.example/p.jpg" alt="p"><figcaption>c</figcaption></figure>'
        "<table><tbody><tr><td>t</td></tr></tbody></table><blockquote>q</blockquote></div>"
    )
    assert norm(content_html=html).content == html


@pytest.mark.parametrize(
    ("base", "link", "expected_img", "expected_a"),
    [
        (
            "https://static.example/2022/",
            LINK,
            "https://static.example/2022/pic.jpg",
            "https://static.example/2022/page.html",
        ),
        (LINK, LINK, "https://news.example/2024/pic.jpg", "https://news.example/2024/page.html"),
    ],
    ids=["xml-base", "entry-link"],
)
def test_relative_urls_become_absolute(
    base: str, link: str, expected_img: str, expected_a: str
) -> None:
    html = '<p><img src="pic.jpg"><a href="page.html">p</a><a href="/root">r</a></p>'
    content = norm(content_html=html, base_url=base, link=link).content
    assert f'src="{expected_img}"' in content
    assert f'href="{expected_a}"' in content
    host = base.split("/")[2]
    assert f'href="https://{host}/root"' in content


def test_xml_base_from_a_parsed_atom_document() -> None:
    body = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"
      xml:base="https://atom.example/blog/"><title>T</title>
      <entry><id>e1</id><title>E</title><link href="posts/e1.html"/>
      <content type="html">&lt;a href="../about.html"&gt;a&lt;/a&gt;
        &lt;img src="i.png"&gt;</content>
      </entry></feed>"""
    parsed = parse_document(body, "https://atom.example/feed.atom")
    [article] = normalize_feed(parsed, FEED, "https://atom.example/feed.atom", NOW)
    assert article.link == "https://atom.example/blog/posts/e1.html"
    assert 'href="https://atom.example/about.html"' in article.content
    assert 'src="https://atom.example/blog/i.png"' in article.content
    assert article.image == "https://atom.example/blog/i.png"


def test_local_feed_never_leaks_file_paths() -> None:
    base = "file:///srv/feeds/local.xml"
    html = '<a href="secret.html">a</a><img src="pic.png">'
    article = norm(content_html=html, base_url=base, link=None, guid="x")
    assert "file:" not in article.content
    assert "/srv/" not in article.content
    assert article.image is None


def test_relative_link_resolved_against_the_feed_url() -> None:
    article = normalize_entry(entry(link="/2024/x.html"), FEED, "https://feed.example/rss", NOW)
    assert article.link == "https://feed.example/2024/x.html"


# --- image --------------------------------------------------------------------------------------

THUMB = '<media:thumbnail url="https://img.example/thumb.jpg"/>'
MEDIA = '<media:content url="https://img.example/content.jpg" medium="image"/>'
ENCLOSURE = '<enclosure url="https://img.example/enclosure.jpg" type="image/jpeg" length="1"/>'
IMG = '<img src="https://img.example/inline.jpg">'
PIXEL = '<img src="https://t.example/pixel.gif" width="1" height="1">'


def image_feed(*parts: str, description: str = "text") -> bytes:
    """One item with ``description`` as its HTML and ``parts`` (raw XML) at its end."""
    return rss(rss_item("i", "I", "https://site.example/i", description, "".join(parts)))


@pytest.mark.parametrize(
    ("parts", "description", "image"),
    [
        ((ENCLOSURE, MEDIA, THUMB), IMG, "https://img.example/thumb.jpg"),
        ((ENCLOSURE, MEDIA), IMG, "https://img.example/content.jpg"),
        ((ENCLOSURE,), IMG, "https://img.example/enclosure.jpg"),
        ((), IMG, "https://img.example/inline.jpg"),
        ((), PIXEL + IMG, "https://img.example/inline.jpg"),
        ((), PIXEL, None),
        ((), "no image", None),
    ],
    ids=[
        "thumbnail",
        "media-content",
        "enclosure",
        "inline-img",
        "skip-pixel",
        "only-pixel",
        "none",
    ],
)
def test_image_preference(parts: tuple[str, ...], description: str, image: str | None) -> None:
    url = "https://site.example/feed"
    [article] = normalize_feed(
        parse_document(image_feed(*parts, description=description), url), FEED, url, NOW
    )
    assert article.image == image


def test_image_urls_resolved_and_junk_skipped() -> None:
    article = norm(image_urls=("javascript:alert(1)", "/img/rel.jpg"))
    assert article.image == "https://news.example/img/rel.jpg"


def test_lazy_image_attribute() -> None:
    article = norm(content_html='<img data-src="/lazy.jpg" width="600">')
    assert article.image == "https://news.example/lazy.jpg"
