"""Pure: a JSON API response + its `[feeds.select]` (dotted paths) -> SourcePage.

A WordPress site without a feed still answers its REST API (`/wp-json/wp/v2/posts`, a list at
the top of the document):

    [feeds.select]
    items = "[*]"
    title = "title.rendered"
    link = "link"
    date = "date_gmt"
    timezone = "UTC"
    summary = "excerpt.rendered"
    id = "id"
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ...config.select import SourceSelect
from ...errors import ParseError
from .embedded import MAX_NESTING, parse_literal
from .items import (
    SourcePage,
    data_page,
)


def read_json_source(
    body: bytes, url: str, content_type: str, select: SourceSelect, now: datetime
) -> SourcePage:
    """The entries of one JSON document (``url`` is the address that answered). Raises
    ParseError for a document that is not JSON or whose `items` path finds nothing."""
    return data_page(_load(body, url), select, url, now, url=url, title="")


def _load(body: bytes, url: str) -> Any:
    text = body.decode("utf-8-sig", "replace")  # RFC 8259: JSON is UTF-8
    start = len(text) - len(text.lstrip())
    if not text.startswith(("{", "["), start):
        try:
            return json.loads(text)  # a bare string or number: `items` will find nothing
        except ValueError:
            raise ParseError(url, "not a JSON document") from None
        except RecursionError:
            raise ParseError(url, f"JSON nested deeper than {MAX_NESTING} levels") from None
    return parse_literal(text, start, url, "the JSON document")
