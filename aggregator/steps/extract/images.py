"""Images: the URL a lazy-loaded image really shows, and the one image an article is shown
with (the post's headimg / thumbnail).

Lazy loaders put a placeholder in ``src`` (nothing, a data: URI, a 1x1 GIF) and the real URL
in ``data-src``, ``data-original``, ``srcset`` and the like, for a script we never run. The
sanitizer keeps ``src`` alone, so the real URL is moved there first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .html import absolute_url
from .shape import too_complex

# Where lazy loaders keep the real URL, most common first (data-actualsrc: Zhihu).
_LAZY_SRC = ("data-src", "data-original", "data-lazy-src", "data-lazy", "data-actualsrc")
_LAZY_SRCSET = ("data-srcset", "data-lazy-srcset", "srcset")
# Any of the attributes above, or data-poster: HTML without one skips the parser.
_LAZY_HINT = re.compile(r"data-(?:src|original|lazy|actualsrc|poster)|srcset", re.IGNORECASE)

_TINY = 2  # px, either side: tracking pixels, spacer lines
_ICON = 48  # px, every side given: icons, buttons, badges

# Words of a file name that stands in for an image or counts a visit ("1x1.trans.gif",
# "lazy_placeholder.gif", "tracking-pixel.png"). Only a name made of such words and sizes is
# one: "pixel-8-review.jpg" is a photo.
_FILLER_WORDS = frozenset(
    {
        *("blank", "spacer", "pixel", "px", "1x1", "transparent", "trans", "clear", "empty"),
        *("placeholder", "loading", "loader", "lazyload", "spinner", "grey", "gray", "dot"),
        *("shim", "tracking", "tracker", "beacon"),
    }
)
_NEUTRAL_WORDS = frozenset({"img", "image", "lazy"})  # "lazy.jpg" may well be a photo
_SIZE = re.compile(r"\d+(?:x\d+)?")
# Site chrome, wherever the word stands in the file name ("site-logo@2x.png", "icon32.png").
_CHROME_NAME = re.compile(r"(?<![a-z])(?:favicon|icons?|logos?|avatars?|gravatar|emoji)(?![a-z])")
_CHROME_FOLDERS = frozenset({"icons", "emoji", "emojis", "smilies", "smileys", "avatar", "avatars"})
# Gravatar: comment and author avatars; the rest count visits.
_CHROME_HOSTS = (
    "gravatar.com",
    "pixel.wp.com",
    "stats.wp.com",
    "stats.wordpress.com",
    "doubleclick.net",
    "scorecardresearch.com",
    "quantserve.com",
    "feedsportal.com",
)
_FEEDBURNER = ("/~r/", "/~ff/")  # FeedBurner's per-item pixel and "flare" buttons

# A page's own picture of itself, best first: the https copy, then Open Graph, then Twitter.
_PAGE_IMAGE_KEYS = (
    "og:image:secure_url",
    "og:image",
    "og:image:url",
    "twitter:image",
    "twitter:image:src",
    "image_src",  # <link rel="image_src">, older than Open Graph
)
_BODY_START = re.compile(r"<body[\s>/]", re.IGNORECASE)


# -- choosing the article's image ----------------------------------------------------------


def choose_image(
    feed_images: Sequence[str],
    content_html: str,
    base_url: str,
    page_image: str | None = None,
) -> str | None:
    """The article's picture, in order: the feed's own (media:thumbnail, media:content,
    image enclosures, as parse/ lists them), the crawled page's og:image / twitter:image
    (what page_image() found there, already absolute), the first meaningful <img> of the
    content. Relative URLs resolve against ``base_url``; the result is absolute http(s) or
    None."""
    return feed_image(feed_images, base_url) or page_image or first_image(content_html, base_url)


def feed_image(urls: Sequence[str], base_url: str) -> str | None:
    """The first of the feed's image URLs that is absolute http(s) and no avatar or icon
    (WordPress lists the author's Gravatar as a media:content image)."""
    for url in urls:
        if (absolute := absolute_url(url, base_url)) and not is_decoration(absolute):
            return absolute
    return None


def page_image(html: str, url: str) -> str | None:
    """A crawled page's picture of itself from its <head>: og:image (its https copy first),
    twitter:image, <link rel="image_src">; absolute against ``url``, http(s) only."""
    head = html[: m.start()] if (m := _BODY_START.search(html)) else html
    if too_complex(head):
        return None
    found: dict[str, list[str]] = {}
    for key, value in _head_images(LexborHTMLParser(head)):
        found.setdefault(key, []).append(value)
    for key in _PAGE_IMAGE_KEYS:
        for value in found.get(key, ()):
            if (absolute := absolute_url(value, url)) and not is_decoration(absolute):
                return absolute
    return None


def _head_images(tree: LexborHTMLParser) -> Iterator[tuple[str, str]]:
    for node in tree.css("meta[content], link[href]"):
        attrs = node.attributes
        if node.tag == "link":
            if "image_src" in (attrs.get("rel") or "").lower().split():
                yield "image_src", attrs.get("href") or ""
            continue
        key = attrs.get("property") or attrs.get("name") or ""
        yield key.strip().lower(), attrs.get("content") or ""


def first_image(html: str, base_url: str, tree: LexborHTMLParser | None = None) -> str | None:
    """The first <img> worth showing as the article's picture: absolute http(s), lazy-loading
    attributes read, no tracking pixel, spacer, icon, logo, avatar or emoji. ``tree``:
    ``html`` already parsed (html.parsed())."""
    if not re.search("<img", html, re.IGNORECASE) or too_complex(html):
        return None
    for img in (tree or LexborHTMLParser(html)).css("img"):
        if _is_small(img.attributes):
            continue
        src = img.attributes.get("src")
        url = _lazy_url(img) if is_placeholder(src) else src
        if url and (absolute := absolute_url(url, base_url)) and not is_decoration(absolute):
            return absolute
    return None


def is_decoration(url: str) -> bool:
    """An absolute image URL that names no picture of the story: a placeholder or tracking
    pixel, an icon, logo, avatar or emoji."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return True
    host = (parts.hostname or "").lower()
    path = parts.path.lower()
    if any(host == h or host.endswith("." + h) for h in _CHROME_HOSTS):
        return True
    if any(marker in path for marker in _FEEDBURNER):
        return True
    *folders, name = path.split("/")
    return bool(
        _CHROME_FOLDERS.intersection(folders) or _CHROME_NAME.search(name) or _is_filler(name)
    )


def _is_small(attrs: Mapping[str, str | None]) -> bool:
    sides = [p for p in (_pixels(attrs.get("width")), _pixels(attrs.get("height"))) if p >= 0]
    return bool(sides) and (min(sides) <= _TINY or max(sides) < _ICON)


def _pixels(value: str | None) -> int:
    """A width or height attribute in pixels ("16", "16px"), or -1 ("100%", "auto", none)."""
    match = re.fullmatch(r"\s*(\d{1,6})(?:px)?\s*", value or "")
    return int(match.group(1)) if match else -1


# -- lazy loading --------------------------------------------------------------------------


def promote_lazy_images(html: str, *, document: bool = False) -> str:
    """``html`` with each lazy-loaded image's real URL in ``src`` (and a video's in
    ``poster``), where the sanitizer keeps it. The input itself, byte for byte, when there is
    nothing to move: only markup with lazy-loading attributes is parsed and re-serialized.
    ``document``: ``html`` is a whole page, written back with its <html>, <head> and <body>
    (a fragment loses them)."""
    lowered = html.lower()  # the substring tests first: the regex scan is 20x slower
    if ("data-" not in lowered and "srcset" not in lowered) or not _LAZY_HINT.search(html):
        return html
    if too_complex(html):
        return html
    tree = LexborHTMLParser(html, is_fragment=not document)
    changed = False
    for node in tree.css("img, video, audio, source"):
        changed = _promote(node) or changed
    # lexbor, like html5ever, writes no newline to protect one that opens a <pre> (see
    # keep_pre_newline): such a <pre> loses its leading blank line here, once.
    return (tree.html or "") if changed else html


def _promote(node: LexborNode) -> bool:
    if node.tag == "img":
        return _fill(node, "src", _lazy_url(node))
    filled = _fill(node, "src", _real(node.attributes.get("data-src")))
    if node.tag == "video":
        filled = _fill(node, "poster", _real(node.attributes.get("data-poster"))) or filled
    return filled


def _fill(node: LexborNode, name: str, url: str | None) -> bool:
    if url is None or not is_placeholder(node.attributes.get(name)):
        return False
    node.attrs[name] = url
    return True


def _lazy_url(img: LexborNode) -> str | None:
    """The real URL a lazy loader would put in an <img>: its data-src and the like, the
    largest of its srcset, then the largest of its <picture>'s <source>s."""
    attrs = img.attributes
    for name in _LAZY_SRC:
        if url := _real(attrs.get(name)):
            return url
    sources = [attrs]
    parent = img.parent
    if parent is not None and parent.tag == "picture":
        sources += [s.attributes for s in parent.css("source")]
    for source in sources:
        for name in _LAZY_SRCSET:
            if url := largest_candidate(source.get(name) or ""):
                return url
    return None


def is_placeholder(src: str | None) -> bool:
    """No image, or one that stands in for the real image while a script loads it."""
    value = (src or "").strip()
    if not value or value.startswith("#"):
        return True
    if value[:11].lower().startswith(("data:", "about:", "javascript:")):
        return True
    return _is_filler(_file_name(value.lower()))


def _real(value: str | None) -> str | None:
    return None if is_placeholder(value) else (value or "").strip()


def _file_name(url: str) -> str:
    """The last path segment, without parsing (the URL may be junk)."""
    return re.split(r"[?#]", url, maxsplit=1)[0].rsplit("/", 1)[-1]


def _is_filler(file_name: str) -> bool:
    stem = file_name.rsplit(".", 1)[0]
    words = [w for w in re.split(r"[^a-z0-9]+", stem) if w]
    return any(w in _FILLER_WORDS for w in words) and all(
        w in _FILLER_WORDS or w in _NEUTRAL_WORDS or _SIZE.fullmatch(w) for w in words
    )


def largest_candidate(srcset: str) -> str | None:
    """The URL of a srcset's largest candidate ("a.jpg 480w, b.jpg 800w" -> b.jpg; "x"
    densities compare the same way; a bare URL counts as 1x). Placeholders are skipped."""
    best: str | None = None
    best_size = 0.0
    for url, descriptor in _candidates(srcset):
        size = _candidate_size(descriptor)
        if size > best_size and not is_placeholder(url):
            best, best_size = url, size
    return best


_CANDIDATE_URL = re.compile(r"[\s,]*(\S*)")
_DESCRIPTORS = re.compile(r"([^,]*),?")


def _candidates(srcset: str) -> Iterator[tuple[str, str]]:
    """(URL, descriptor) pairs, split as the HTML standard does: a URL runs to the next
    whitespace (commas included: "w_100,h_80/a.jpg"), unless it ends with commas."""
    position = 0
    while True:
        url, position = _match(_CANDIDATE_URL, srcset, position)
        if not url:
            return
        if url.endswith(","):
            yield url.rstrip(","), ""
        else:
            descriptor, position = _match(_DESCRIPTORS, srcset, position)
            yield url, descriptor.strip()


def _match(pattern: re.Pattern[str], text: str, position: int) -> tuple[str, int]:
    """The first group of a pattern that matches the empty string, and where it ended."""
    match = pattern.match(text, position)
    assert match is not None
    return match.group(1), match.end()


def _candidate_size(descriptor: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([wx])", descriptor.strip().lower())
    return float(match.group(1)) if match else 1.0
