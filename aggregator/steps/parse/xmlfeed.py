"""RSS 0.9x/1.0/2.0, RDF and Atom through feedparser, converted once into our records."""

from __future__ import annotations

import html
from typing import Any

import feedparser

from ...errors import ParseError
from ...models import FeedHints, ParsedEntry, ParsedFeed
from .dates import from_struct_time

# We sanitize and resolve URLs ourselves (nh3): feedparser's sanitizer lets javascript: through
# in SVG/MathML attributes, and its rewriting would change harmless markup we must keep.
_PARSE_OPTIONS: dict[str, Any] = {"sanitize_html": False, "resolve_relative_uris": False}


def parse_xml_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        doc = feedparser.parse(body, response_headers=headers, **_PARSE_OPTIONS)
    except Exception as e:  # feedparser should never raise; if it does, the document is bad
        raise ParseError(url, "feedparser could not read the document") from e
    feed = doc.get("feed", {})
    entries = tuple(_entry(e, url) for e in doc.get("entries", []))
    version = doc.get("version", "")
    if doc.get("bozo") and not entries and not version:
        raise ParseError(url, f"not a feed: {_bozo_text(doc)}")
    if not version and not entries:
        raise ParseError(url, "not a feed: no RSS, Atom or RDF root element")
    return ParsedFeed(
        title=_text(feed.get("title")),
        link=_text(feed.get("link")) or None,
        entries=entries,
        hints=_hints(feed),
        warning=_bozo_text(doc) if doc.get("bozo") else None,
    )


def _bozo_text(doc: Any) -> str:
    exc = doc.get("bozo_exception")
    return f"{type(exc).__name__}: {exc}" if exc else "malformed document"


def _entry(e: Any, feed_url: str) -> ParsedEntry:
    content_html, base = _content(e)
    link = _text(e.get("link")) or None
    return ParsedEntry(
        guid=_text(e.get("id")) or None,
        link=link,
        title=_text(e.get("title")),
        title_html=_is_html(e.get("title_detail")),
        author=_text(e.get("author")) or None,
        content_html=content_html,
        # An explicit xml:base wins; feedparser reports the feed URL when there is none, and
        # then the entry's own link is the better base for its relative URLs.
        base_url=base if base and base != feed_url else (link or feed_url),
        published=from_struct_time(e.get("published_parsed")),
        # dict.get: FeedParserDict.get maps a missing updated_parsed to published_parsed.
        updated=from_struct_time(dict.get(e, "updated_parsed")),
        image_urls=_images(e),
        tags=_tags(e),
    )


def _content(e: Any) -> tuple[str, str]:
    """The richest body: full content (HTML preferred) over the summary, with its base URL."""
    candidates = [c for c in e.get("content", []) if isinstance(c, dict) and c.get("value")]
    candidates.sort(key=lambda c: "html" not in (c.get("type") or ""))
    if candidates:
        best = candidates[0]
        return _as_html(best), _text(best.get("base"))
    detail = e.get("summary_detail") or {}
    if e.get("summary"):
        return _as_html({"value": e.get("summary"), "type": detail.get("type")}), _text(
            detail.get("base")
        )
    return "", ""


def _is_html(detail: Any) -> bool:
    """feedparser's type of a text construct: ``text/plain`` when an RSS title shows no
    markup or an Atom one says ``type="text"``; HTML (or XHTML) otherwise, and when unknown."""
    kind = detail.get("type") if isinstance(detail, dict) else None
    return "html" in (kind or "text/html")


def _as_html(detail: dict[str, Any]) -> str:
    value = _text(detail.get("value"))
    if "html" in (detail.get("type") or "text/html"):
        return value
    return html.escape(value, quote=False)  # a plain-text body becomes escaped text


def _images(e: Any) -> tuple[str, ...]:
    urls: list[str] = []
    for item in e.get("media_thumbnail", []) or []:
        urls.append(_text(item.get("url")))
    for item in e.get("media_content", []) or []:
        medium = (item.get("medium") or "").lower()
        mime = (item.get("type") or "").lower()
        if medium == "image" or mime.startswith("image/"):
            urls.append(_text(item.get("url")))
    for link in e.get("links", []) or []:
        if link.get("rel") == "enclosure" and (link.get("type") or "").lower().startswith("image/"):
            urls.append(_text(link.get("href")))
    return tuple(u for u in urls if u)


def _tags(e: Any) -> tuple[str, ...]:
    terms = (_text(t.get("term")) or _text(t.get("label")) for t in e.get("tags", []) or [])
    return tuple(dict.fromkeys(t.strip() for t in terms if t.strip()))


def _hints(feed: Any) -> FeedHints:
    return FeedHints(
        ttl_minutes=_int(feed.get("ttl")),
        update_period=_text(feed.get("sy_updateperiod")).lower() or None,
        update_frequency=_int(feed.get("sy_updatefrequency")),
    )


def _int(value: object) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
