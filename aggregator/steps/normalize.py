"""Pure: ParsedEntry + FeedConfig + now -> Article (identity, canonical URL, dates, clean text)."""

from __future__ import annotations

import hashlib
import html
import ipaddress
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser

from ..config import FeedConfig
from ..models import Article, ParsedEntry, ParsedFeed
from .extract import first_image, sanitize_html, visible_text
from .extract.html import absolute_url, parsed
from .extract.images import feed_image
from .similar import signature
from .text import clean_line, clean_text

# Article ids are UUID5s in this namespace: stable forever, and the Atom entry id.
ARTICLE_NAMESPACE = uuid.UUID("6f0c3f4e-5d0a-5a43-9a3e-4b1d2f6c8e01")
_HASH_VERSION = "1"
# Part of every entry digest (``Normalized``): bump it when normalizing changes what an entry
# becomes, so that each feed's next document is read afresh.
READ_VERSION = 1

_TRACKING_PARAMS = re.compile(r"^(utm_.*|fbclid|gclid|mc_.*|spm)$", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_FUTURE_SLACK = timedelta(days=1)
_WORD_RUN = re.compile(r"\w+")
# \w on ASCII: letters, digits and "_" stay, every other byte becomes a separator.
_ASCII_NON_WORD = bytes(
    b if b < 0x80 and (chr(b).isalnum() or b == 0x5F) else 0x20 for b in range(256)
)
_WWW = re.compile(r"^(?:www\.)+")
# Script and style elements, and tags with attributes (event handlers, javascript: URLs).
_ACTIVE_TAG = re.compile(r"</?(?:script|style)\b[^>]*>?|<[A-Za-z][^\s/>]*[\s/][^>]*>?", re.I)


@dataclass(frozen=True, slots=True)
class Normalized:
    """One document's entries: those normalized, and those read before exactly as they are
    now (``known``), which are not normalized again: the store would find them unchanged."""

    articles: list[Article]
    # (entry digest, entry key) of each entry skipped as known, and its date (published, else
    # updated, as normalizing would make it): the feed's rhythm counts it.
    known: tuple[tuple[str, str], ...] = ()
    known_dates: tuple[datetime, ...] = ()


def normalize_feed(
    parsed: ParsedFeed,
    feed: FeedConfig,
    feed_url: str,
    now: datetime,
    allow_data_images: bool = False,
    sign: int = 0,
) -> list[Article]:
    """Every entry of one document, normalized; within the document the first occurrence wins.
    ``allow_data_images``: the sanitizer keeps inline data:image URLs ([output]); ``sign``:
    texts of at least this many tokens get their near-duplicate signature (0: none)."""
    return normalize_document(parsed, feed, feed_url, now, allow_data_images, sign).articles


def normalize_document(
    parsed: ParsedFeed,
    feed: FeedConfig,
    feed_url: str,
    now: datetime,
    allow_data_images: bool = False,
    sign: int = 0,
    known: Mapping[str, str] = MappingProxyType({}),
) -> Normalized:
    """As normalize_feed; an entry whose digest is in ``known`` (entry digest -> entry key:
    what this feed's last document was read into) is not normalized again. The digest covers
    everything normalizing an entry reads (see ``entry_digest``), so the entry would become
    the very article stored from it, which the store would find unchanged."""
    articles: list[Article] = []
    skipped: list[tuple[str, str]] = []
    dates: list[datetime] = []
    seen: set[str] = set()
    shared = shared_links(parsed, feed_url)
    context = _read_context(feed, feed_url, allow_data_images, sign, shared)
    for entry in parsed.entries:
        published = sane_date(entry.published, now)
        updated = sane_date(entry.updated, now)
        digest = entry_digest(entry, context, published, updated)
        key = known.get(digest)
        if key is not None:
            if key not in seen:
                seen.add(key)
                skipped.append((digest, key))
                if when := published or updated:
                    dates.append(when)
            continue
        article = normalize_entry(entry, feed, feed_url, now, allow_data_images, shared, sign)
        if article.entry_key not in seen and _shows_something(article):
            seen.add(article.entry_key)
            articles.append(replace(article, entry_digest=digest))
    return Normalized(articles, tuple(skipped), tuple(dates))


def entry_digest(
    entry: ParsedEntry, context: str, published: datetime | None, updated: datetime | None
) -> str:
    """What normalizing an entry depends on: the entry as parsed, its dates as ``sane_date``
    makes them at this moment (a future date becomes valid), and the document's ``context``
    (``_read_context``)."""
    return _digest(
        context,
        entry.guid if entry.guid is not None else "\x01",
        entry.link if entry.link is not None else "\x01",
        entry.title,
        "html" if entry.title_html else "text",
        entry.author if entry.author is not None else "\x01",
        entry.content_html,
        entry.base_url,
        published.isoformat() if published else "",
        updated.isoformat() if updated else "",
        "\x1f".join(entry.image_urls),
        "\x1f".join(entry.tags),
    )


def _read_context(
    feed: FeedConfig, feed_url: str, allow_data_images: bool, sign: int, shared: frozenset[str]
) -> str:
    """What normalizing reads beside the entry: the feed's name (article ids), the document's
    URL (relative links), the settings, the links no entry owns (keys), and the code's
    version: bump ``READ_VERSION`` whenever normalizing makes anything different."""
    settings = f"{READ_VERSION}\x00{feed.name}\x00{feed_url}\x00{allow_data_images}\x00{sign}"
    return "\x00".join((settings, *sorted(shared)))


def _shows_something(article: Article) -> bool:
    """A truncated or emptied item (no title, link, words or image) would be a blank post."""
    return bool(article.title or article.link or article.image or article.fingerprint)


def shared_links(parsed: ParsedFeed, feed_url: str) -> frozenset[str]:
    """The canonical links of this document that identify no single entry: the feed's home
    page, and a link that entries with different guids or titles share (a podcast whose
    episodes all link to the show's site). Such entries are told apart by guid and content."""
    owners: dict[str, tuple[str, str]] = {}
    shared = set()
    for entry in parsed.entries:
        link = absolute_url(entry.link, feed_url) if entry.link else None
        canonical = canonical_url(link) if link else None
        if canonical is None:
            continue
        owner = (entry.guid or "", entry.title.strip())
        if owners.setdefault(canonical, owner) != owner:
            shared.add(canonical)
    home = absolute_url(parsed.link, feed_url) if parsed.link else None
    if home and (canonical_home := canonical_url(home)):
        shared.add(canonical_home)
    return frozenset(shared)


def identifies(canonical: str, shared: frozenset[str] = frozenset()) -> bool:
    """Whether a canonical link is a per-article link: not a site's front page, not shared."""
    return canonical not in shared and urlsplit(canonical)[2:4] != ("/", "")


def normalize_entry(
    entry: ParsedEntry,
    feed: FeedConfig,
    feed_url: str,
    now: datetime,
    allow_data_images: bool = False,
    shared: frozenset[str] = frozenset(),
    sign: int = 0,
) -> Article:
    """One entry. ``shared``: canonical links that identify no entry of its document (see
    shared_links); an entry linking to one is keyed by guid or content, never by the link.
    ``sign``: the minimum tokens of a text signed for near-duplicates (0: none is)."""
    link = absolute_url(entry.link, feed_url) if entry.link else None
    title = clean_title(entry.title, entry.title_html)
    content = sanitize_html(entry.content_html, entry.base_url, allow_data_images=allow_data_images)
    tree = parsed(content)  # read twice: the first image, then the text
    media_image = feed_image(entry.image_urls, entry.base_url)
    # The sanitized content's first image is the raw HTML's (its lazy sources promoted, its
    # URLs absolute): the same on 6,613 entries of the real-world feeds and the bench corpus.
    image = media_image or first_image(content, entry.base_url, tree)
    text = plain_text(content, tree)
    near = signature(text, sign) if sign else None
    canonical = canonical_url(link) if link else None
    if canonical is not None and not identifies(canonical, shared):
        canonical = None
    key = entry_key(entry.guid, canonical, title, text)
    author = clean_line(entry.author) if entry.author else None
    published = sane_date(entry.published, now)
    updated = sane_date(entry.updated, now)
    identity = article_id(feed.name, key)
    return Article(
        id=identity,
        feed_name=feed.name,
        entry_key=key,
        canonical_url=canonical,
        link=link,
        title=title,
        author=author or None,
        content=content,
        image=image,
        published=published or updated,
        updated=updated,
        fingerprint=fingerprint(title, text),
        content_hash=_digest(
            title,
            link or "",
            author or "",
            content,
            image or "",
            published.isoformat() if published else "",
        ),
        media_image=media_image,
        tags=entry.tags,
        signature=near.all_keys if near else (),
        text=text if near else "",
    )


def plain_text(content: str, tree: LexborHTMLParser | None = None) -> str:
    """The visible text of sanitized content, as fingerprints and signatures read it."""
    return clean_text(visible_text(content, tree=tree))


def article_id(feed_name: str, key: str) -> str:
    return str(uuid.uuid5(ARTICLE_NAMESPACE, f"{feed_name}\n{key}"))


def entry_key(guid: str | None, canonical: str | None, title: str, text: str) -> str:
    """Identity within a feed: the guid, else the canonical link, else a hash of title + text."""
    if guid and guid.strip():
        return "guid:" + guid.strip()
    if canonical:
        return "link:" + canonical
    return "hash:" + _digest(title, text)


def canonical_url(url: str) -> str | None:
    """The form two feeds' links to one article share: lowercase scheme and host, no default
    port, no fragment, no tracking parameters, https and a leading www. treated as the same."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = _WWW.sub("", (parts.hostname or "").rstrip("."))
    if scheme not in ("http", "https") or not _valid_host(host):
        return None
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    # http and https are one scheme here, so either default port is no port at all.
    netloc = host if port in (None, *_DEFAULT_PORTS.values()) else f"{host}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        ]
    )
    # rstrip: space that stood before a fragment or an empty query would go on a second pass.
    return urlunsplit(("https", netloc, parts.path or "/", query, "")).rstrip()


def _valid_host(host: str) -> bool:
    """A host that reads back the same from the canonical URL: a name, or an IPv6 literal."""
    if not host or "[" in host or "]" in host:
        return False
    if ":" not in host:
        return True
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def fingerprint(title: str, text: str) -> str:
    """Normalized title + text: the same story under another URL (cross-feed duplicates)."""
    norm_title, norm_text = word_runs(title), word_runs(text)
    if not norm_title and not norm_text:
        return ""
    return _digest(norm_title, norm_text)


def word_runs(text: str) -> str:
    """The casefolded text's runs of word characters (``\\w``) joined by one space: what
    fingerprints hash, so it must never change. ASCII text by a byte translation, a fifth of
    the regular expression's time; any other by the regular expression."""
    folded = text.casefold()
    if folded.isascii():
        return b" ".join(folded.encode().translate(_ASCII_NON_WORD).split()).decode()
    return " ".join(_WORD_RUN.findall(folded))


def sane_date(value: datetime | None, now: datetime) -> datetime | None:
    """Missing or absurd dates (before 1990, or in the future) become None: first-seen is used."""
    if value is None or value < _EARLIEST or value > now + _FUTURE_SLACK:
        return None
    return value


def clean_title(raw: str, html_title: bool = True) -> str:
    """One clean line. An HTML title has its tags stripped and entities decoded; a plain-text
    one (``html_title`` False: feedparser's ``title_detail.type``, entities already decoded)
    keeps its characters, "pipe|star<angle>" included, unless it holds what a page would run
    (feedparser calls "<script>x()</script>A" plain text): that is read as HTML. Either way
    nothing a theme printing titles unescaped would run is left."""
    plain = not html_title and not _ACTIVE_TAG.search(raw)
    title = clean_line(raw if plain else _html_title_text(raw))
    # Decoding may reveal markup (a title escaped twice): a bare tag is text about HTML ("The
    # <blink> tag") and stays; what a theme printing titles unescaped would run goes.
    for _ in range(3):  # "<scr<script>ipt>" takes two rounds; needing more is an attack
        if not _ACTIVE_TAG.search(title):
            return title
        title = clean_text(_ACTIVE_TAG.sub("", title))
    return title.replace("<", "")


def _html_title_text(raw: str) -> str:
    if "<" in raw:
        # Inline markup may split a word ("un<b>believ</b>able"): join text nodes as they
        # are, then show runs of whitespace as one space, as a browser does.
        return clean_text(visible_text(raw, separator=""))
    return html.unescape(raw) if "&" in raw else raw


def _digest(*parts: str) -> str:
    h = hashlib.sha256(_HASH_VERSION.encode())
    for part in parts:
        h.update(b"\x00")
        h.update(part.encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]
