"""One pass of expat with namespaces, as feedparser's strict parser reads a document: raises
Outside naming the first element, attribute or error outside the class (formats.py), and keeps
what undoing the two parsers' known differences needs."""

from __future__ import annotations

import xml.parsers.expat
from dataclasses import dataclass, field

from feedparser.urls import _urljoin

from .formats import (
    ATOM_TYPES,
    FORMATS,
    MAX_ATTRIBUTE,
    MAX_DEPTH,
    MAX_ENTRIES,
    MAX_REPEAT,
    ONE_OF,
    PREFIXES,
    RDF_ABOUT,
    ROOTS,
    TEXTS,
    URL_ATTRIBUTES,
    Format,
)


class Outside(Exception):
    """The document is outside the class: the message says where."""


@dataclass(slots=True)
class EntryShape:
    """What the scan saw of one entry."""

    names: dict[str, int] = field(default_factory=dict)  # element -> times in the entry
    types: dict[str, str] = field(default_factory=dict)  # Atom text constructs' types
    guid_is_link: bool = True  # feedparser resolves a guid unless isPermaLink says otherwise
    alternates: int = 0  # Atom links that are the entry's link
    alternate: str = ""  # that link's href
    urls: list[str] = field(default_factory=list)  # href and url attributes, as expat read them
    terms: list[tuple[str, str]] = field(default_factory=list)  # Atom categories' term, label
    about: str = ""  # an RDF item's rdf:about: feedparser's id
    texts: dict[str, str] = field(default_factory=dict)  # of the elements in TEXTS


@dataclass(slots=True)
class _Shape:
    format: Format | None = None
    base: str = ""  # the root's xml:base
    entries: list[EntryShape] = field(default_factory=list)
    feed: EntryShape = field(default_factory=EntryShape)  # the feed's own elements


def shape_of(body: bytes) -> _Shape:
    """Raises Outside naming the first element, attribute or error outside the class."""
    shape = _Shape()
    stack: list[str] = []
    entry: list[EntryShape] = []  # the open entry, if any
    text: list[str] = []  # of the open element of TEXTS

    def start(expanded: str, attrs: dict[str, str]) -> None:
        if len(stack) >= MAX_DEPTH:
            raise Outside("nested too deep")
        fmt = shape.format
        if fmt is None:
            fmt = shape.format = _root(expanded, attrs)
            shape.base = _root_base(attrs)
        elif expanded in ROOTS:
            raise Outside(f"a second root element {expanded}")
        name = _qualified(expanded, fmt)
        parent = stack[-1] if stack else "-"
        allowed = fmt.allowed.get((parent, name))
        if allowed is None:
            raise Outside(f"element {name} in {parent}")
        for key, value in attrs.items():
            attr = _qualified(key, fmt, attribute=True)
            # feedparser keeps an attribute's surrounding spaces (feedparser-rs may not) and
            # resolves an empty href to the base (feedparser-rs leaves it empty)
            if attr not in allowed or not 0 < len(value) <= MAX_ATTRIBUTE or value != value.strip():
                raise Outside(f"attribute {name}@{attr}")
        if entry:
            _note(entry[0], name, attrs, fmt)
            entry[0].urls += [attrs[key] for key in URL_ATTRIBUTES if key in attrs]
            if "term" in attrs:
                entry[0].terms.append((attrs["term"], attrs.get("label", "")))
        else:
            _note(shape.feed, f"{parent}/{name}", attrs, fmt, MAX_ENTRIES)
            if name == fmt.entry:
                entry.append(EntryShape(about=attrs.get(RDF_ABOUT, "")))
                shape.entries.append(entry[0])
                if len(shape.entries) > MAX_ENTRIES:
                    raise Outside("too many entries")
        if (parent, name) in TEXTS:
            text.clear()
            parser.CharacterDataHandler = text.append
        stack.append(name)

    def end(_: str) -> None:
        name = stack.pop()
        if stack and (stack[-1], name) in TEXTS:
            (entry[0] if entry else shape.feed).texts[name] = "".join(text)
            parser.CharacterDataHandler = None
        if entry and shape.format and name == shape.format.entry:
            entry.clear()

    def refuse(*_: object) -> None:
        raise Outside("DOCTYPE or entity declaration")

    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.namespace_prefixes = True
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(body, True)
    except (xml.parsers.expat.ExpatError, ValueError, LookupError) as e:
        # ValueError, LookupError: an encoding expat cannot read (the encoding check lets
        # none through; this keeps the promise to refuse, never raise)
        raise Outside(f"not well-formed: {e}") from None
    return shape


def _root(expanded: str, attrs: dict[str, str]) -> Format:
    if expanded not in ROOTS or (expanded == "rss" and attrs.get("version") != "2.0"):
        raise Outside(f"root {expanded} {attrs.get('version', '')}".rstrip())
    return FORMATS[ROOTS[expanded]]


def _qualified(expanded: str, fmt: Format, attribute: bool = False) -> str:
    """expat's "namespace local prefix" as "prefix:local", when the prefix is the usual one
    for the namespace (feedparser-rs goes by prefix); unprefixed names in the format's default
    namespace (attributes in none) as "local"."""
    parts = expanded.split(" ")
    if len(parts) > 3:
        raise Outside(f"element {expanded} (a namespace with a space)")
    if len(parts) == 1:
        if fmt.default_namespace and not attribute:
            raise Outside(f"element {expanded} outside the {fmt.version} namespace")
        return expanded
    if len(parts) == 2:
        if parts[0] != fmt.default_namespace or attribute:
            raise Outside(f"element {expanded} (its namespace as the default)")
        return parts[1]
    namespace, local, prefix = parts
    if PREFIXES.get(prefix) != namespace:
        known = namespace in PREFIXES.values()
        raise Outside(f"namespace {namespace} as {prefix}:" if known else f"element {expanded}")
    return f"{prefix}:{local}"


def _root_base(attrs: dict[str, str]) -> str:
    """An absolute root xml:base feedparser keeps as it is; any other: feedparser."""
    base = attrs.get(f"{PREFIXES['xml']} base xml")
    if base is None:
        return ""
    if not base.startswith(("http://", "https://")) or _urljoin("", base) != base:
        raise Outside("xml:base")
    return base


def _note(
    shape: EntryShape, name: str, attrs: dict[str, str], fmt: Format, most: int = MAX_REPEAT
) -> None:
    """Count an entry's element (the feed's: "parent/name", with room for its entries) and keep
    what undoing the known differences needs."""
    count = shape.names.get(name, 0) + 1
    local = name.rpartition("/")[2]
    if count > (most if local in fmt.repeatable else 1):
        raise Outside(f"repeated element: {local} {count} times in one place")
    shape.names[name] = count
    if local in ONE_OF and ONE_OF[local] in shape.names:
        raise Outside(f"repeated element: {local} and {ONE_OF[local]} in one entry")
    if fmt.version == "atom10" and local in ("title", "summary", "content"):
        kind = ATOM_TYPES.get(attrs.get("type", ""))
        if kind is None:
            raise Outside(f"attribute {local}@type={attrs.get('type')}")
        shape.types[local] = kind
    if local == "guid":
        shape.guid_is_link = attrs.get("isPermaLink", "true") == "true"
    if local in ("link", "atom:link", "atom10:link") and "href" in attrs:
        _note_link(shape, attrs, fmt)


def _note_link(shape: EntryShape, attrs: dict[str, str], fmt: Format) -> None:
    """feedparser's link is the one alternate HTML link (its last, feedparser-rs's first),
    rel and type lowercased; in RSS an atom:link alternate would replace the channel's."""
    rel = attrs.get("rel", "alternate")
    if rel != rel.lower() or attrs.get("type", "").lower() != attrs.get("type", ""):
        raise Outside("link: rel or type in capitals")
    if rel != "alternate":
        return
    shape.alternates += 1
    shape.alternate = attrs["href"]
    if (
        fmt.version != "atom10"
        or shape.alternates > 1
        or attrs.get("type", "text/html") != "text/html"
    ):
        raise Outside("link: an alternate link the two may choose differently")
