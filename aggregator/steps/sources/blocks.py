"""Pure: a list page's repeated blocks of article links, found by their shape.

Links whose text reads like a headline are grouped by where they sit (their own and their
parent's classes, the tag names of three more ancestors; classes with digits, such as
WordPress's ``post-4821``, do not count). The group with the most such links, weighted by the
length of their text, is the list. Each link's item is its highest ancestor holding no other
link of the group; the date, summary, image and author are looked for inside it.
"""

from __future__ import annotations

import math
import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ..text import clean_text
from .items import ItemValues, escape_text

MAX_LINKS = 5000  # links looked at per page
_MIN_WEIGHT = 12  # a headline's length, counting a CJK character twice: "Read more" is short
_CHROME_TAGS = frozenset(("nav", "header", "footer", "aside", "form", "button", "select"))
_SECTION_PARTS = ("header", "footer")
_SECTIONS = frozenset(("article", "section", "main"))
_CHROME_CLASS = re.compile(r"\b(?:nav|navbar|menu|breadcrumbs?|pagination|pager|footer)\b", re.I)
_DIGIT = re.compile(r"\d")
_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\ua4cf\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_DATE_CSS = "time, [class*=date], [class*=time]"  # after time[datetime]
_SUMMARY_CSS = "[class*=desc], [class*=summary], [class*=excerpt], [class*=intro], p"
_AUTHOR_CSS = "[rel=author], [class*=author], [class*=byline]"
_IMAGE_ATTRIBUTES = ("data-src", "data-original", "data-lazy-src", "src")


def link_blocks(tree: LexborHTMLParser) -> list[ItemValues]:
    groups: dict[tuple[str, ...], list[LexborNode]] = {}
    for anchor in tree.css("a[href]")[:MAX_LINKS]:
        text = _text(anchor)
        if _weight(text) >= _MIN_WEIGHT and not _in_chrome(anchor):
            groups.setdefault(_signature(anchor), []).append(anchor)
    if not groups:
        return []
    best = max(groups.values(), key=_score)
    return [_values(item, anchor) for anchor, item in _items(best)]


def _score(anchors: list[LexborNode]) -> float:
    hrefs = {a.attributes.get("href") for a in anchors}
    length = sum(min(_weight(_text(a)), 80) for a in anchors) / len(anchors)
    return len(hrefs) * math.sqrt(length)


def _items(anchors: list[LexborNode]) -> list[tuple[LexborNode, LexborNode]]:
    """Each anchor with its item: its highest ancestor that holds no other anchor of the group."""
    holding: dict[int, int] = {}
    for anchor in anchors:
        for node in _ancestors(anchor):
            holding[node.mem_id] = holding.get(node.mem_id, 0) + 1
    pairs = []
    for anchor in anchors:
        item = anchor
        parent = item.parent
        while parent is not None and parent.tag != "body" and holding.get(parent.mem_id) == 1:
            item, parent = parent, parent.parent
        pairs.append((anchor, item))
    return pairs


def _values(item: LexborNode, anchor: LexborNode) -> ItemValues:
    title = _text(anchor)
    return ItemValues(
        title=escape_text(title),
        link=anchor.attributes.get("href"),
        date=_date(item),
        summary=_summary(item, title),
        image=_image(item),
        author=_first_text(item, _AUTHOR_CSS, 60),
    )


def _date(item: LexborNode) -> str | None:
    stamped = item.css_first("time[datetime]")
    if stamped is not None and (stamp := (stamped.attributes.get("datetime") or "").strip()):
        return stamp
    for node in item.css(_DATE_CSS):
        text = _text(node)
        if (text and len(text) <= 40 and _DIGIT.search(text)) or text in ("刚刚", "昨天", "今天"):
            return text
    return None


def _summary(item: LexborNode, title: str) -> str | None:
    for node in item.css(_SUMMARY_CSS):
        text = _text(node)
        if len(text) >= 20 and title not in text and node.css_first("a[href]") is None:
            return (node.inner_html or "").strip() or None
    return None


def _image(item: LexborNode) -> str | None:
    node = item.css_first("img")
    if node is None:
        return None
    for name in _IMAGE_ATTRIBUTES:
        if value := (node.attributes.get(name) or "").strip():
            return value
    return None


def _first_text(item: LexborNode, css: str, limit: int) -> str | None:
    for node in item.css(css):
        if (text := _text(node)) and len(text) <= limit:
            return text
    return None


def _signature(anchor: LexborNode) -> tuple[str, ...]:
    parts = [_classes(anchor)]
    for depth, node in enumerate(_ancestors(anchor)):
        if depth >= 4:
            break
        parts.append(_classes(node) if depth == 0 else node.tag or "")
    return tuple(parts)


def _classes(node: LexborNode) -> str:
    names = (node.attributes.get("class") or "").split()
    return f"{node.tag}." + ".".join(sorted(n for n in names if not _DIGIT.search(n)))


def _in_chrome(anchor: LexborNode) -> bool:
    """Inside navigation, the page's header or footer, or a sidebar: not the list. (An
    article's own <header> holds its headline.)"""
    chain = [anchor, *_ancestors(anchor)]
    for index, node in enumerate(chain):
        if node.tag in _SECTION_PARTS and any(n.tag in _SECTIONS for n in chain[index + 1 :]):
            continue
        if node.tag in _CHROME_TAGS or node.attributes.get("role") == "navigation":
            return True
        if _CHROME_CLASS.search(node.attributes.get("class") or ""):
            return True
    return False


def _ancestors(node: LexborNode) -> list[LexborNode]:
    found = []
    parent = node.parent
    while parent is not None and parent.tag not in ("body", "html", "-document"):
        found.append(parent)
        parent = parent.parent
    return found


def _text(node: LexborNode) -> str:
    return clean_text(node.text(deep=True, separator=" "))


def _weight(text: str) -> int:
    return len(text) + len(_WIDE.findall(text))
