"""Hypothesis against the pure steps with hostile input, where tests/test_normalize.py,
test_render_post.py and test_render_filename.py do not already: a whole entry through normalize
and render, parsing arbitrary bytes, the sanitizer's idempotence and allowlist, dates from junk,
the per-document entry cap, and markup too costly to parse."""

from __future__ import annotations

import html as html_lib
import json
import re
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from articles import as_stored
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from aggregator.config import FeedConfig
from aggregator.errors import ParseError
from aggregator.models import Article, ParsedEntry, StoredArticle
from aggregator.steps.digest import newest_entries
from aggregator.steps.extract import first_image, sanitize_html, visible_text
from aggregator.steps.extract.sanitize import _TAGS as ALLOWED_TAGS
from aggregator.steps.extract.shape import MAX_DEPTH, text_of, too_complex
from aggregator.steps.normalize import clean_title, normalize_entry
from aggregator.steps.parse import parse_document
from aggregator.steps.parse.dates import from_rfc3339, from_struct_time
from aggregator.steps.render.filename import post_name
from aggregator.steps.render.post import post_title, render_post

from .support import check_post

NOW = datetime(2024, 7, 1, 12, tzinfo=UTC)
FEED = FeedConfig(name="fuzz", url="https://example.com/feed")
PLACEHOLDER = "https://picsum.photos/400/300?random={n}"

# -- strategies: text that looks like what feeds send, and worse ---------------------------

# fmt: off
_PIECES = [
    "<", ">", "</", "/>", "&", "&amp;", "&lt;", "&#x0;", "&#0;", ";", '"', "'", "=", "{{", "{%",
    "---", "#", "- ", ": ", "../", "javascript:", "data:text/html,x", " ", "\n", "\t", "\r",
    "\x00", "\x1b", "\u202e", "\u2028", "\ufeff", "🔥", "长", "<script>", "</script>",
    "<img src=x onerror=alert(1)>", "<a href='javascript:alert(1)'>", "<svg onload=alert(1)>",
    "<b>", "</b>", "<p>", "<div>", "</div>", "<table>", "<td>", "<!--", "-->", "<![CDATA[",
    "]]>", "<style>", "<iframe>", " onclick=x()", "<a href='/rel'>",
    "<img src='//cdn.example.com/i.jpg'>", "<blockquote cite='javascript:alert(1)'>",
    "<video poster=javascript:alert(1)>", "<q cite=",
]
# fmt: on
hostile_text = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=8)), max_size=40).map(
    "".join
)
urls = st.one_of(
    hostile_text,
    st.sampled_from(
        [
            "https://example.com/a?utm_source=x#f",
            "http://WWW.Example.com:80/b",
            "javascript:alert(1)",
            "//cdn.example.com/c",
            "/relative/path",
            "http://[::1]:99999/",
            "http://[bad/",
            "file:///etc/passwd",
            "data:image/png;base64,AAAA",
            "",
        ]
    ),
)
dates = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
)
entries = st.builds(
    ParsedEntry,
    guid=st.one_of(st.none(), hostile_text),
    link=st.one_of(st.none(), urls),
    title=hostile_text,
    author=st.one_of(st.none(), hostile_text),
    content_html=hostile_text,
    base_url=urls,
    published=dates,
    updated=dates,
    image_urls=st.lists(urls, max_size=3).map(tuple),
)


class _Tags(HTMLParser):
    """Every start tag and its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def start_tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


def assert_harmless(html: str) -> None:
    """Only allowlisted elements; no event handler; no script URL in any attribute."""
    for tag, attrs in start_tags(html):
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            squeezed = re.sub(r"[\x00-\x20]+", "", (value or "")).lower()
            assert not squeezed.startswith(("javascript:", "vbscript:", "data:")), (tag, value)


def stored(article: Article) -> StoredArticle:
    feed = FeedConfig(
        name=article.feed_name, url=FEED.url, categories=("fuzz", "- tricky: yes"), author="fuzz #1"
    )
    return as_stored(article, feed, NOW)


# -- normalize + render ----------------------------------------------------------------------


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(entries)
def test_any_entry_normalizes_into_a_valid_harmless_post(entry: ParsedEntry) -> None:
    article = normalize_entry(entry, FEED, FEED.url, NOW)
    text = render_post(stored(article), PLACEHOLDER)
    data = check_post(post_name(article, NOW), text)  # safe name, front matter reads back
    assert data["title"] == post_title(article.title)
    assert_inert_title(article.title)
    assert_harmless(article.content)
    for url in (article.link, article.image):
        assert url is None or url.startswith(("http://", "https://")), url
    for when in (article.published, article.updated):
        assert when is None or datetime(1990, 1, 1, tzinfo=UTC) <= when <= NOW + timedelta(days=1)


def assert_inert_title(title: str) -> None:
    """Printed unescaped by a theme, a title may show a bare tag ("The <blink> tag") but
    nothing that runs: no script or style element, no tag with attributes."""
    for tag, attrs in start_tags(title):
        assert tag not in ("script", "style") and not attrs, (title, tag, attrs)


@given(hostile_text)
def test_titles_are_inert(raw: str) -> None:
    assert_inert_title(clean_title(raw))
    assert_inert_title(clean_title(html_lib.escape(raw)))  # a title escaped twice


# -- parsing ------------------------------------------------------------------------------------

_PREFIXES = [
    b"",
    b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>',
    b'<?xml version="1.0" encoding="gb2312"?><feed xmlns="http://www.w3.org/2005/Atom"><entry>',
    b'<!DOCTYPE rss [<!ENTITY a "&b;&b;"><!ENTITY b "x">]><rss><channel><item><title>&a;',
    b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": ',
    b"\xef\xbb\xbf{",
    b"\xff\xfe<\x00r\x00s\x00s\x00",
]


@given(st.sampled_from(_PREFIXES), st.binary(max_size=300), st.sampled_from(["", "text/html"]))
def test_parse_document_raises_only_parse_error(prefix: bytes, rest: bytes, kind: str) -> None:
    try:
        parsed = parse_document(prefix + rest, "https://example.com/feed", kind)
    except ParseError as e:
        assert "https://example.com/feed" in str(e)
        return
    for entry in parsed.entries:
        for when in (entry.published, entry.updated):
            assert when is None or when.tzinfo is not None


json_values = st.one_of(
    urls, st.integers(), st.floats(), st.booleans(), st.none(), st.lists(urls, max_size=2)
)
json_items = st.dictionaries(
    st.sampled_from(
        [
            "id",
            "url",
            "external_url",
            "title",
            "content_html",
            "content_text",
            "summary",
            "image",
            "banner_image",
            "date_published",
            "date_modified",
            "authors",
            "author",
        ]
    ),
    json_values,
)


@given(
    st.lists(st.one_of(json_items, json_values), max_size=4),
    json_values,
    st.sampled_from(["https://jsonfeed.org/version/1.1", "http://jsonfeed.org/version/1"]),
)
def test_any_json_feed_parses_or_raises_parse_error(
    items: list[object], home: object, version: str
) -> None:
    doc = {"version": version, "home_page_url": home, "items": items}
    try:
        parsed = parse_document(json.dumps(doc).encode(), "https://example.com/feed.json")
    except ParseError:
        return
    for entry in parsed.entries:
        normalize_entry(entry, FEED, "https://example.com/feed.json", NOW)


@given(hostile_text)
def test_any_pubdate_text_parses_or_is_dropped(value: str) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><item><title>t</title>'
        f"<pubDate><![CDATA[{value.replace(']]>', '')}]]></pubDate></item></channel></rss>"
    )
    parsed = parse_document(body.encode("utf-8", "surrogatepass"), "https://example.com/f")
    for entry in parsed.entries:
        assert entry.published is None or entry.published.tzinfo is not None


# -- the sanitizer ------------------------------------------------------------------------------


@given(hostile_text, urls)
def test_sanitize_is_idempotent_and_harmless(html: str, base: str) -> None:
    """Mis-nested markup ("<a><table><a>") is serialized as a tree that parses differently
    (an HTML5 property, not a leak): then a second pass settles it. Every pass is harmless,
    as a browser's tokenizer reads it."""
    once = sanitize_html(html, base)
    assert_harmless(once)
    twice = sanitize_html(once, base)
    assert_harmless(twice)
    assert sanitize_html(twice, base) == twice
    if not re.search(r"<(a|table|form|p|li|h[1-6]|nobr|button)\b", html, re.IGNORECASE):
        assert twice == once


# Elements an HTML5 tree builder adds by itself (a <td> gets its <tr> and <tbody>).
_IMPLIED = {"tbody", "tr", "colgroup"}


@given(hostile_text)
def test_sanitize_never_adds_tags(html: str) -> None:
    out = sanitize_html(html, "https://example.com/")
    names_in = {m.lower() for m in re.findall(r"<([A-Za-z][A-Za-z0-9]*)", html)}
    assert {tag for tag, _ in start_tags(out)} <= names_in | _IMPLIED
    if "<" not in html:
        assert "<" not in out


# -- dates --------------------------------------------------------------------------------------


@given(st.tuples(*[st.integers(-(2**40), 2**40)] * 9))
def test_struct_time_junk_gives_a_date_or_none(fields: tuple[int, ...]) -> None:
    try:
        value = time.struct_time(fields)
    except (OverflowError, ValueError, TypeError):
        return
    result = from_struct_time(value)
    assert result is None or result.tzinfo is not None


@given(st.one_of(hostile_text, st.integers(), st.floats(), st.none(), st.lists(st.integers())))
def test_rfc3339_junk_gives_a_date_or_none(value: object) -> None:
    result = from_rfc3339(value)
    assert result is None or result.tzinfo is not None


@given(
    st.text(alphabet="0123456789-:+TZ. tW", max_size=40)
    | st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}")
)
def test_rfc3339_near_misses(value: str) -> None:
    result = from_rfc3339(value)
    assert result is None or result.tzinfo is not None


# -- the entry cap ------------------------------------------------------------------------------


def _entry(i: int, when: datetime | None) -> ParsedEntry:
    return ParsedEntry(str(i), None, str(i), None, "", "https://e.com/", when, None)


@given(st.lists(dates, max_size=60), st.integers(0, 70))
def test_newest_entries_keeps_the_newest_in_document_order(
    whens: list[datetime | None], limit: int
) -> None:
    entries = [_entry(i, when) for i, when in enumerate(whens)]
    kept = newest_entries(entries, limit)
    assert len(kept) == min(limit, len(entries))
    positions = [int(e.guid or 0) for e in kept]
    assert positions == sorted(positions)
    dropped = [e for e in entries if e not in kept]
    for e in dropped:
        if e.published is not None:  # then every kept entry is dated, and not older
            assert all(k.published is not None and k.published >= e.published for k in kept)


# -- markup too costly to parse ---------------------------------------------------------------

COSTLY = {
    "deep divs": "<div>" * 200_000,
    "deep inline": "<span><em>" * 100_000 + "x",
    "open formatting": "".join(f"<b id={i}>" for i in range(30_000)) + "<p>x" * 30_000,
    "many attributes": "<img src=/a.jpg " + " ".join(f"a{i}=1" for i in range(100_000)) + ">",
    "attributes with brackets": "<img " + " ".join(f'a{i}="<>"' for i in range(100_000)) + ">",
    "many options": "<select>" + "<option>x</option>" * 100_000,
    # In SVG and MathML a <style> or <title> holds markup, not text.
    "style in svg": "<svg><style>" + "<div>" * 40_000 + "</style></svg>",
    "title in math": "<math><title>" + "<div>" * 40_000 + "</title></math>",
    "unterminated style in svg": "<svg><style>" + "<div>" * 40_000,
}


# A deadline, not a speed check: read as markup, these took minutes (quadratic parsers).
@pytest.mark.timeout(60)
@pytest.mark.parametrize("html", COSTLY.values(), ids=COSTLY.keys())
def test_costly_markup_is_read_as_text_in_linear_time(html: str) -> None:
    assert too_complex(html)
    sanitize_html(html, "https://example.com/")
    visible_text(html)
    first_image(html, "https://example.com/")
    clean_title(html)


def test_script_contents_and_stray_quotes_are_not_markup() -> None:
    """Real pages (found on the article-page set): a minified inline script is not a tag with
    thousands of attributes, and a quote not after "=" does not open a value."""
    script = "<script>if(a<b){" + " x=1" * 3000 + "}</script>"
    assert not too_complex("<html><body><p>text</p>" + script + "<div>more</div>" * 500)
    stray = '<meta content="a "quoted," word"><title>t</title>'
    assert not too_complex(stray + "<div>x</div>" * 2000)
    # What hides in a script does not count; the same markup outside it still does.
    assert not too_complex("<script>" + "<div>" * 2000 + "</script>")
    assert too_complex("<script></script>" + "<div>" * 2000)
    # Without its end tag a script is no hiding place either: what follows still counts.
    assert too_complex("<script>" + "<div>" * 2000)
    assert too_complex("<p>x</p><textarea>" + "<div>" * 2000 + "<script>")
    # Once the <svg> is closed (or when it closes itself), a <script> is raw text again.
    for svg in ("<svg><title>t</title></svg>", "<svg/>"):
        assert not too_complex(svg + "<script>" + "<div>" * 2000 + "</script>")


@given(st.lists(st.sampled_from(["<div>", "</div>", "<br>", "<p>", "x", "<b>"]), max_size=2000))
def test_ordinary_nesting_is_not_costly(parts: list[str]) -> None:
    html = "".join(parts)
    depth = deepest = 0
    for part in parts:
        if part in ("<div>", "<b>"):
            depth += 1
        elif part == "</div>":
            depth = max(0, depth - 1)
        deepest = max(deepest, depth)
    assume(deepest <= MAX_DEPTH)
    assert not too_complex(html)


@given(hostile_text)
def test_text_of_is_plain_text(html: str) -> None:
    text = text_of(html, "")
    assert isinstance(text, str)
    if "<" not in html and "&" not in html:
        assert text == html
    # What it returns is shown as text: escaped, it goes through the sanitizer unchanged.
    escaped = sanitize_html(html_lib.escape(text, quote=False), "https://example.com/")
    assert not start_tags(escaped)
