"""Pure: bytes + content type + URL -> ParsedFeed (feedparser, or feedparser-rs where it reads
the same; JSON Feed by our own parser)."""

from __future__ import annotations

from ...errors import ParseError
from ...models import ParsedFeed
from .jsonfeed import looks_like_json, parse_json_feed

__all__ = ["parse_document"]


def parse_document(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Parse one fetched document. Raises ParseError naming the URL when it is not a feed."""
    # Imported on the first XML document: feedparser (14 MB resident) is then loaded by the
    # parser workers only, not by the main process, which names this function for them.
    from .fast import parse_fast
    from .xmlfeed import parse_xml_feed

    if not body.strip():
        raise ParseError(url, "empty document")
    if looks_like_json(body, content_type):
        return parse_json_feed(body, url)
    # feedparser-rs where it provably reads as feedparser does (fast.ENABLED turns it off)
    return parse_fast(body, url, content_type) or parse_xml_feed(body, url, content_type)
