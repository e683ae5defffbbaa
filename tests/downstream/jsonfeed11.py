"""The JSON Feed 1.1 rules (https://www.jsonfeed.org/version/1.1/) as a small validator:
``json_feed_problems(text)`` lists every rule a document breaks, empty when it is valid.

Strict where the spec leaves readers to cope: ids must be strings (readers "must coerce"
numbers), keys outside the spec must be extensions (starting with ``_``).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

VERSION = "https://jsonfeed.org/version/1.1"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")

_FEED_STRINGS = {
    "version", "title", "home_page_url", "feed_url", "description", "user_comment",
    "next_url", "icon", "favicon", "language",
}  # fmt: skip
_FEED_KEYS = _FEED_STRINGS | {"authors", "author", "expired", "hubs", "items"}
_ITEM_STRINGS = {
    "id", "url", "external_url", "title", "content_html", "content_text", "summary", "image",
    "banner_image", "date_published", "date_modified", "language",
}  # fmt: skip
_ITEM_KEYS = _ITEM_STRINGS | {"tags", "authors", "author", "attachments"}
_AUTHOR_KEYS = {"name", "url", "avatar"}


def json_feed_problems(text: str) -> list[str]:
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except ValueError as e:
        return [f"not JSON: {e}"]
    if not isinstance(doc, dict):
        return ["the document is not an object"]
    problems = _object("feed", doc, _FEED_KEYS, _FEED_STRINGS, {"version", "title", "items"})
    if "version" in doc and doc["version"] != VERSION:
        problems.append(f"version is {doc['version']!r}, not {VERSION!r}")
    if "expired" in doc and not isinstance(doc["expired"], bool):
        problems.append("expired is not a boolean")
    problems += _authors("feed", doc)
    items = doc.get("items")
    if not isinstance(items, list):
        return [*problems, "items is not an array"]
    ids: set[object] = set()
    for n, item in enumerate(items):
        where = f"items[{n}]"
        if not isinstance(item, dict):
            problems.append(f"{where} is not an object")
            continue
        problems += _item(where, item)
        if item.get("id") in ids:
            problems.append(f"{where}: id {item.get('id')!r} repeats")
        ids.add(item.get("id"))
    return problems


def _item(where: str, item: dict[str, Any]) -> list[str]:
    problems = _object(where, item, _ITEM_KEYS, _ITEM_STRINGS, {"id"})
    if not ({"content_html", "content_text"} & item.keys()):
        problems.append(f"{where}: neither content_html nor content_text")
    for key in ("date_published", "date_modified"):
        if isinstance(item.get(key), str) and not _is_rfc3339(item[key]):
            problems.append(f"{where}.{key}: {item[key]!r} is not RFC 3339")
    tags = item.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(f"{where}.tags is not an array of strings")
    for n, attachment in enumerate(item.get("attachments", [])):
        if not isinstance(attachment, dict) or not all(
            isinstance(attachment.get(k), str) for k in ("url", "mime_type")
        ):
            problems.append(f"{where}.attachments[{n}] lacks url or mime_type")
    return problems + _authors(where, item)


def _object(
    where: str, value: dict[str, Any], known: set[str], strings: set[str], required: set[str]
) -> list[str]:
    problems = [f"{where}: {key} is missing" for key in sorted(required - value.keys())]
    for key, field in value.items():
        if key not in known and not key.startswith("_"):
            problems.append(f"{where}: {key!r} is not a JSON Feed 1.1 key (extensions start _)")
        elif key in strings and not isinstance(field, str):
            problems.append(f"{where}.{key} is {type(field).__name__}, not a string")
    return problems


def _authors(where: str, value: dict[str, Any]) -> list[str]:
    authors = value.get("authors", [])
    if not isinstance(authors, list):
        return [f"{where}.authors is not an array"]
    problems = []
    for n, author in enumerate(authors):
        if (
            not isinstance(author, dict)
            or not (_AUTHOR_KEYS & author.keys())
            or not all(isinstance(author[k], str) for k in _AUTHOR_KEYS & author.keys())
        ):
            problems.append(f"{where}.authors[{n}] has no name, url or avatar string")
    return problems


def _is_rfc3339(text: str) -> bool:
    if not RFC3339.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")
