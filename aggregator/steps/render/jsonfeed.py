"""Pure: stored articles -> a JSON Feed 1.1 document (the same newest articles as the Atom)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ...models import StoredArticle
from .atom import entry_id, rfc3339

VERSION = "https://jsonfeed.org/version/1.1"


def render_json_feed(
    articles: Sequence[StoredArticle], *, title: str, feed_url: str | None = None
) -> str:
    doc: dict[str, Any] = {"version": VERSION, "title": title}
    if feed_url:
        doc["feed_url"] = feed_url
    doc["items"] = [_item(a) for a in articles]
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def _item(a: StoredArticle) -> dict[str, Any]:
    item: dict[str, Any] = {"id": entry_id(a.id)}
    if a.link:
        item["url"] = a.link
    item |= {
        "title": a.title,
        "content_html": a.content,
        "date_published": rfc3339(a.published),
        "date_modified": rfc3339(max(a.updated, a.published)),
        "authors": [{"name": a.post_author}],
    }
    if a.image:
        item["image"] = a.image
    if a.categories:
        item["tags"] = list(a.categories)
    return item
