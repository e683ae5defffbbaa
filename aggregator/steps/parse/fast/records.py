"""feedparser-rs's records as the dicts steps/parse/xmlfeed.py reads from feedparser, the
differences by design undone; then the checks that it read what expat read and that nothing is
a value feedparser would rewrite."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin

from ..xmlfeed import _text
from .formats import Format
from .scan import EntryShape

_Entry = tuple[dict[str, Any], EntryShape]  # feedparser-shaped, and what the scan saw


def feed_dict(feed: Any, shape: EntryShape) -> dict[str, Any]:
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


def entry_dict(e: Any, shape: EntryShape, fmt: Format, base: str) -> dict[str, Any]:
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


def _body(detail: Any, shape: EntryShape, name: str, base: str) -> dict[str, Any]:
    """feedparser's type (feedparser-rs calls an Atom summary without one HTML, not text) and
    base: the root's xml:base, else the document's URL."""
    kind = shape.types.get(name, "text/plain") if name in ("summary", "content") else "text/html"
    return {**dict(detail.items()), "type": kind, "base": base}


def _date(text: str | None) -> Any:
    return _parse_date(text.strip()) if text and text.strip() else None


_looks_like_html = _FeedParserMixin.looks_like_html


def _title_detail(detail: Any, shape: EntryShape, fmt: Format, base: str) -> dict[str, Any] | None:
    """feedparser's type: Atom's attribute; elsewhere plain text unless it looks like HTML
    (feedparser-rs says HTML for every title)."""
    if detail is None:
        return None
    if fmt.version == "atom10":
        kind = shape.types.get("title", "text/plain")
    else:
        kind = "text/html" if _looks_like_html(_text(detail.value)) else "text/plain"
    return {**dict(detail.items()), "type": kind, "base": base}


_LINK_REWRITTEN = re.compile(r"&amp;|&[A-Za-z0-9_]+;|[\t\r\n]")
# U+0080-U+009F as UTF-8 or as a character reference (a CDATA section's would be refused too)
_C1 = re.compile(rb"\xc2[\x80-\x9f]|&#0*(?:12[89]|1[3-5][0-9]);|&#[xX]0*[89][0-9a-fA-F];")


def has_c1(body: bytes) -> bool:
    """C1 controls, which feedparser maps to cp1252's characters."""
    return (b"\xc2" in body or b"&#" in body) and _C1.search(body) is not None


def read_apart(feed: dict[str, Any], entries: list[_Entry], own: EntryShape, fmt: Format) -> str:
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


def _entry_id(shape: EntryShape, fmt: Format) -> str:
    """feedparser's id of an entry: the guid, Atom's id, RDF's rdf:about."""
    if fmt.version == "rss10":
        return shape.about
    return shape.texts.get("guid" if fmt.version == "rss20" else "id", "").strip()


def _entry_link(shape: EntryShape, fmt: Format) -> str:
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


def rewritten(feed: dict[str, Any], entries: list[_Entry], base: str, fmt: Format) -> str:
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
