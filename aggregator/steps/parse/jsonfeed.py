"""JSON Feed 1.0 / 1.1, parsed by hand (feedparser 6 has no JSON Feed support).

Real JSON Feeds bend the spec: an ``http://`` version URL, numbers where strings belong,
``author`` (1.0) instead of ``authors`` (1.1). We accept what is unambiguous and skip the rest.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urljoin

from ...errors import ParseError
from ...models import ParsedEntry, ParsedFeed
from .dates import from_rfc3339

_JSON_TYPES = ("application/feed+json", "application/json", "text/json")


def looks_like_json(body: bytes, content_type: str) -> bool:
    if any(t in content_type.lower() for t in _JSON_TYPES):
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ParseError(url, f"invalid JSON Feed: {e}") from None
    except RecursionError:  # json recurses per nesting level: '[[[[...' is a few bytes each
        raise ParseError(url, "invalid JSON Feed: nested too deeply") from None
    if not isinstance(doc, dict) or "jsonfeed.org/version/" not in _str(doc.get("version")):
        raise ParseError(url, "not a JSON Feed: no jsonfeed.org version")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError(url, "invalid JSON Feed: 'items' is not a list")
    home = _str(doc.get("home_page_url")) or url
    feed_author = _author(doc)
    entries = tuple(_entry(item, home, feed_author) for item in items if isinstance(item, dict))
    return ParsedFeed(
        title=_str(doc.get("title")), link=_str(doc.get("home_page_url")) or None, entries=entries
    )


def _entry(item: dict[str, Any], home: str, feed_author: str | None) -> ParsedEntry:
    link = _str(item.get("url")) or _str(item.get("external_url"))
    link = _join(home, link) if link else ""
    content = _str(item.get("content_html"))
    if not content and (text := _str(item.get("content_text"))):
        content = html.escape(text, quote=False).replace("\n", "<br>")
    if not content:
        content = html.escape(_str(item.get("summary")), quote=False)
    images = [_str(item.get("image")), _str(item.get("banner_image"))]
    for attachment in item.get("attachments") or []:
        if isinstance(attachment, dict) and _str(attachment.get("mime_type")).startswith("image/"):
            images.append(_str(attachment.get("url")))
    return ParsedEntry(
        guid=_str(item.get("id")) or None,
        link=link or None,
        title=_str(item.get("title")),
        author=_author(item) or feed_author,
        content_html=content,
        base_url=link or home,
        published=from_rfc3339(item.get("date_published")),
        updated=from_rfc3339(item.get("date_modified")),
        image_urls=tuple(_join(home, i) for i in images if i),
        tags=tuple(dict.fromkeys(t for t in map(_str, _list(item.get("tags"))) if t)),
    )


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _join(base: str, url: str) -> str:
    try:
        return urljoin(base, url)
    except ValueError:  # "http://[oops": normalize resolves what it can and drops the rest
        return url


def _author(obj: dict[str, Any]) -> str | None:
    authors = obj.get("authors")
    candidates = authors if isinstance(authors, list) else [obj.get("author")]
    for a in candidates:
        if isinstance(a, dict) and (name := _str(a.get("name"))):
            return name
    return None


def _str(value: object) -> str:
    """Strings as they are; numbers (a common spec violation, e.g. numeric ids) as text."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""
