"""Pure: a list page without `[feeds.select]` -> its items, found without selectors."""

from __future__ import annotations

from datetime import datetime

from selectolax.lexbor import LexborHTMLParser

from ..errors import ParseError
from .items import SourcePage


def detect_items(html: str, tree: LexborHTMLParser | None, url: str, now: datetime) -> SourcePage:
    raise ParseError(url, "no items found")
