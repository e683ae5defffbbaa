"""feedparser.encodings.convert_to_utf8's decision, where it is UTF-8: the documents feedparser
reads as UTF-8 (or ASCII), whose declaration expat and feedparser-rs decode by agrees."""

from __future__ import annotations

import codecs

from feedparser.encodings import RE_XML_PI_ENCODING, parse_content_type
from feedparser.exceptions import CharacterEncodingOverride, NonXMLContentType

_APPLICATION_XML = (
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
)
_TEXT_XML = ("text/xml", "text/xml-external-parsed-entity")
_READS_ASCII_AS_UTF8 = frozenset(("utf-8", "ascii", "iso8859-1", "cp1252"))


def feedparser_reads_utf8(body: bytes, content_type: str) -> tuple[str, Exception | None] | None:
    """(encoding, feedparser's bozo exception) when feedparser decodes ``body`` to the text
    UTF-8 gives; None otherwise (another encoding, a BOM, invalid UTF-8)."""
    if not body[:4].isascii() or b"\x00" in body[:4]:
        return None  # a BOM or UTF-16/32/EBCDIC '<?xm': feedparser transcodes
    declared = _declared_encoding(body)
    if declared is None:
        return None
    # expat and feedparser-rs decode by the declaration: another one reads the same for ASCII
    ascii_alike = body.isascii() and _codec(declared or "") in _READS_ASCII_AS_UTF8
    if declared and _codec(declared) != "utf-8" and not ascii_alike:
        return None
    mime, charset = parse_content_type(content_type)
    acceptable = True
    if mime in _APPLICATION_XML or (mime.startswith("application/") and mime.endswith("+xml")):
        rfc3023 = charset or declared or "utf-8"
    elif mime in _TEXT_XML or (mime.startswith("text/") and mime.endswith("+xml")):
        rfc3023 = charset or "us-ascii"
    elif mime.startswith("text/"):
        rfc3023, acceptable = charset or "us-ascii", False
    elif not content_type:
        rfc3023, acceptable = declared or "iso-8859-1", False
    else:
        rfc3023, acceptable = declared or "utf-8", False
    error: Exception | None = None
    if not acceptable:
        why = (
            f"{content_type} is not an XML media type"
            if content_type
            else "no Content-type specified"
        )
        error = NonXMLContentType(why)
    codec = _codec(rfc3023)
    if codec == "utf-8" and _is_utf8(body):
        return rfc3023, error
    if codec in _READS_ASCII_AS_UTF8 and body.isascii():
        return rfc3023, error
    if codec == "ascii" and _codec(declared) == "utf-8" and _is_utf8(body):
        # us-ascii fails; the declared UTF-8, tried next, is kept and flagged as an override
        why = f"document declared as {rfc3023}, but parsed as {declared}"
        return declared, CharacterEncodingOverride(why)
    return None


def _declared_encoding(body: bytes) -> str | None:
    """The encoding feedparser's RE_XML_PI_ENCODING finds: on the first line, the last
    ``encoding=``. None when the line has two: then it may not be the declaration's, which
    expat and feedparser-rs read. With one, the match ends at the next ``?>``: a one-line
    document is not scanned to its end."""
    end = body.find(b"\n")
    line = body if end < 0 else body[:end]
    at = line.find(b"encoding=")
    if at < 0 or not line.startswith(b"<?"):
        return ""
    if line.find(b"encoding=", at + 1) >= 0:
        return None
    close = line.find(b"?>", at)
    match = RE_XML_PI_ENCODING.match(line[: close + 2] if close >= 0 else b"")
    return match.group(1).decode("utf-8", "replace").lower() if match else ""


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name if name else ""
    except LookupError:
        return ""


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
