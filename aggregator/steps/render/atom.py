"""Pure: stored articles -> an RFC 4287 Atom document.

Ids are ``urn:uuid:`` forms of the article id (stable forever); dates RFC 3339 in UTC; html
content escaped once; each entry names its author, categories and a <source> for its feed.
The document carries no clock reading, so the same articles give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from ...models import StoredArticle

ATOM_NS = "http://www.w3.org/2005/Atom"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Characters XML 1.0 cannot carry at all, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render_atom(
    articles: Sequence[StoredArticle], *, title: str, feed_id: str, self_url: str | None = None
) -> str:
    updated = max((a.updated for a in articles), default=_EPOCH)
    head = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="{ATOM_NS}">',
        f"  <id>{_text(feed_id)}</id>",
        f"  <title>{_text(title)}</title>",
        f"  <updated>{rfc3339(updated)}</updated>",
        "  <author><name>aggregator</name></author>",
        "  <generator>aggregator</generator>",
    ]
    if self_url:
        head.append(f'  <link rel="self" href={_attr(self_url)}/>')
    body = [_entry(a) for a in articles]
    return "\n".join([*head, *body, "</feed>", ""])


def entry_id(article_id: str) -> str:
    return f"urn:uuid:{article_id}"


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry(a: StoredArticle) -> str:
    parts = [
        "  <entry>",
        f"    <id>{entry_id(a.id)}</id>",
        f'    <title type="text">{_text(a.title)}</title>',
        f"    <published>{rfc3339(a.published)}</published>",
        f"    <updated>{rfc3339(max(a.updated, a.published))}</updated>",
        f"    <author><name>{_text(a.post_author)}</name></author>",
    ]
    if a.link:
        parts.append(f'    <link rel="alternate" type="text/html" href={_attr(a.link)}/>')
    parts += [f"    <category term={_attr(c)}/>" for c in a.categories if c]
    parts += [
        "    <source>",
        f"      <id>{_text(a.feed_url)}</id>",
        f"      <title>{_text(a.feed_name)}</title>",
        f'      <link rel="self" href={_attr(a.feed_url)}/>',
        "    </source>",
        f'    <content type="html">{_text(a.content)}</content>',
        "  </entry>",
    ]
    return "\n".join(parts)


def _text(value: str) -> str:
    return escape(_XML_INVALID.sub("", value))


def _attr(value: str) -> str:
    return quoteattr(_XML_INVALID.sub("", value))
