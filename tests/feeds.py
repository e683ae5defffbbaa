"""Feed documents for tests, built from text values: RSS 2.0 items and channels, JSON Feed.

The builders escape the values they are given; ``extra`` and ``head`` take raw XML (elements
they do not name, or markup a test means to be hostile). A document written out by hand stays
in its test, where the exact bytes are the point (a fixture, a malformed document).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

# Declared on every channel, so that items may carry content:encoded and media:* elements.
RSS_NAMESPACES = (
    ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ' xmlns:media="http://search.yahoo.com/mrss/"'
)
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def _element(name: str, text: str | None, attributes: str = "") -> str:
    return "" if text is None else f"<{name}{attributes}>{escape(text)}</{name}>"


def rss_item(
    guid: str | None = None,
    title: str | None = None,
    link: str | None = None,
    description: str | None = None,
    extra: str = "",
    *,
    published: datetime | str | None = None,
    categories: Sequence[str] = (),
) -> str:
    """An ``<item>``; None leaves an element out. ``description`` is the entry's HTML, escaped
    into the element as feeds carry it; ``published`` a UTC datetime, or a pubDate's text as
    written (a bad date, say); ``extra`` raw XML at the end of the item."""
    if isinstance(published, datetime):
        published = format_datetime(published, usegmt=True)
    parts = [
        _element("guid", guid, ' isPermaLink="false"'),
        _element("link", link),
        _element("title", title),
        _element("pubDate", published),
        *(_element("category", c) for c in categories),
        _element("description", description),
    ]
    return f"<item>{''.join(parts)}{extra}</item>"


def rss_text(
    *items: str,
    title: str = "T",
    link: str | None = None,
    head: str = "",
    prolog: str = "",
    encoding: str = "utf-8",
) -> str:
    """An RSS 2.0 document as text, for a test that cuts it, edits it or encodes it itself.
    ``link`` is the channel's home page (an item linking there is not identified by its link);
    ``head`` raw XML before the items (``<ttl>``, ``<image>``); ``prolog`` raw XML between the
    declaration and ``<rss>`` (a DOCTYPE); ``encoding`` the one the declaration names."""
    channel = f"{_element('title', title)}{_element('link', link)}{head}{''.join(items)}"
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>{prolog}'
        f'<rss version="2.0"{RSS_NAMESPACES}><channel>{channel}</channel></rss>'
    )


def rss(*items: str, title: str = "T", link: str | None = None, head: str = "") -> bytes:
    """An RSS 2.0 document in UTF-8 (see ``rss_text``)."""
    return rss_text(*items, title=title, link=link, head=head).encode()


def json_feed(items: Iterable[Mapping[str, object]], title: str = "T", **top: object) -> bytes:
    """A JSON Feed 1.1 document; ``top`` adds or replaces top-level members."""
    document = {"version": JSON_FEED_VERSION, "title": title, **top, "items": list(items)}
    return json.dumps(document).encode()
