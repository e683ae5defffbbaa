"""Pure: OPML subscription lists <-> feed records (name, URL, categories).

Folders (outlines without ``xmlUrl``) become categories, outermost first, which is what
Hexo's category hierarchy expects. ``render_opml`` writes the first category as the folder
(feed readers such as Miniflux and FreshRSS import one level of folders) and the whole list
as OPML 2.0's ``category="/a/b"`` attribute, so ``parse_opml(render_opml(x)) == x``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit
from xml.parsers import expat

from ..errors import OpmlError
from .text import clean_line, clean_text

__all__ = ["MAX_OPML_BYTES", "OpmlFeed", "parse_opml", "render_opml", "unique_name"]

MAX_OPML_BYTES = 8 * 1024 * 1024  # a subscription list, not a dump: far beyond any real one
_MAX_DEPTH = 32  # outline nesting, labelled or not; deeper is not a subscription list
_URL_SCHEMES = ("http", "https", "file")  # what config.toml accepts as a feed URL
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    name: str
    url: str
    categories: tuple[str, ...] = ()


# -- parse ---------------------------------------------------------------------------------


def parse_opml(data: bytes, source: str) -> list[OpmlFeed]:
    """Every subscription in document order, names made unique ("Name (2)"). Raises OpmlError
    naming ``source`` (and the outline) for anything that is not a usable OPML document."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(source, f"larger than {MAX_OPML_BYTES} bytes; not a subscription list")
    root = _parse_xml(data, source)
    if root.tag.lower() != "opml":
        raise OpmlError(source, f"not OPML: the root element is <{root.tag}>, not <opml>")
    body = next((child for child in root if child.tag.lower() == "body"), None)
    if body is None:
        raise OpmlError(source, "not OPML: no <body> element")
    taken: set[str] = set()
    feeds = []
    for feed in _outlines(body, (), source, 0):
        name = unique_name(feed.name, taken)
        taken.add(name)
        feeds.append(OpmlFeed(name, feed.url, feed.categories))
    return feeds


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``, ... : the first one not in ``taken``."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def _parse_xml(data: bytes, source: str) -> ET.Element:
    """Expat feeding an ElementTree builder, refusing any DOCTYPE: no entity declarations, so
    no billion laughs and no external entities, whatever the expat version."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end

    def refuse_doctype(*_: object) -> NoReturn:
        raise OpmlError(source, "refusing a DOCTYPE declaration (entities are not allowed)")

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise OpmlError(
            source,
            f"not well-formed XML at line {e.lineno}, column {e.offset + 1}: "
            f"{expat.ErrorString(e.code)}",
        ) from None
    return builder.close()


def _outlines(
    parent: ET.Element, folders: tuple[str, ...], source: str, depth: int
) -> Iterator[OpmlFeed]:
    # Every level counts: unlabelled folders add no category but still recurse.
    if depth > _MAX_DEPTH:
        raise OpmlError(source, f"outlines nested deeper than {_MAX_DEPTH} levels")
    for outline in parent:
        if outline.tag.lower() != "outline":
            continue
        attrs = {k.lower(): v for k, v in outline.attrib.items()}
        label = _label(attrs.get("text") or attrs.get("title") or "")
        if "xmlurl" in attrs or attrs.get("type", "").lower() in ("rss", "atom"):
            yield _feed(attrs, label, folders, source)
        elif len(outline):
            yield from _outlines(
                outline, (*folders, label) if label else folders, source, depth + 1
            )


def _feed(attrs: dict[str, str], label: str, folders: tuple[str, ...], source: str) -> OpmlFeed:
    url = attrs.get("xmlurl", "").strip()
    where = " / ".join((*folders, label or url or "(untitled)"))
    if not url:
        raise OpmlError(f"{source}: outline {where!r}", "a feed outline without xmlUrl")
    parts = urlsplit(url)
    if parts.scheme.lower() not in _URL_SCHEMES or not (parts.netloc or parts.path):
        raise OpmlError(
            f"{source}: outline {where!r}",
            f"xmlUrl {url!r} is not an http(s) or file: URL",
        )
    name = label or parts.hostname or url
    return OpmlFeed(name, url, _merge(folders, _category_attribute(attrs.get("category", ""))))


def _label(text: str) -> str:
    """One line, one space between words (XML turns a newline in an attribute into a space)."""
    return clean_text(clean_line(text))


def _category_attribute(value: str) -> list[str]:
    """OPML 2.0 ``category``: comma-separated, slash-delimited paths ("/a/b,/c")."""
    names = (_label(part) for path in value.split(",") for part in path.split("/"))
    return [name for name in names if name]


def _merge(folders: tuple[str, ...], listed: list[str]) -> tuple[str, ...]:
    """The attribute's path when it extends the folders (as ours does), else the folders and
    whatever else it names."""
    if tuple(listed[: len(folders)]) == folders:
        return tuple(listed) or folders
    return (*folders, *(name for name in listed if name not in folders))


# -- render --------------------------------------------------------------------------------


def render_opml(feeds: Sequence[OpmlFeed], title: str) -> bytes:
    """OPML 2.0: feeds in the given order, each under a folder named by its first category
    (consecutive feeds share one), the full list in ``category``. Categories that hold "/" or
    "," cannot be written in that attribute; such a feed is nested one folder per category."""
    root = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(root, "head"), "title").text = _xml_text(title)
    body = ET.SubElement(root, "body")
    folder: ET.Element | None = None
    folder_path: tuple[str, ...] = ()
    for feed in feeds:
        path = _folder_path(feed.categories)
        if folder is None or path != folder_path:
            folder, folder_path = _folders(body, path), path
        folder.append(_outline(feed))
    ET.indent(root, space="  ")
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        + ET.tostring(root, encoding="unicode").encode()
        + b"\n"
    )


def _folder_path(categories: tuple[str, ...]) -> tuple[str, ...]:
    return categories[:1] if _fits_attribute(categories) else categories


def _fits_attribute(categories: tuple[str, ...]) -> bool:
    return not any("/" in c or "," in c for c in categories)


def _folders(body: ET.Element, path: tuple[str, ...]) -> ET.Element:
    parent = body
    for name in path:
        parent = ET.SubElement(parent, "outline", text=_xml_text(name), title=_xml_text(name))
    return parent


def _outline(feed: OpmlFeed) -> ET.Element:
    name = _xml_text(feed.name)
    attrs = {"type": "rss", "text": name, "title": name, "xmlUrl": _xml_text(feed.url)}
    if feed.categories and _fits_attribute(feed.categories):
        attrs["category"] = _xml_text("/" + "/".join(feed.categories))
    return ET.Element("outline", attrs)


def _xml_text(text: str) -> str:
    """Characters XML 1.0 cannot carry at all are dropped (ElementTree would write them)."""
    return _XML_INVALID.sub("", text)
