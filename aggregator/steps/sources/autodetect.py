"""Pure: a list page without `[feeds.select]` -> its items, found without selectors.

Three places, in order: JSON-LD (``ItemList``, ``NewsArticle`` and kin); page state a framework
left in a script (``__NEXT_DATA__``, ``window.__NUXT__``, ``window.__INITIAL_STATE__``, any other
``window.X = {...}``), where the best list of objects with a title and a link wins; else the
page's repeated blocks of article links (blocks.py). Each gives up quietly; only when none
finds MIN_ITEMS items is it a ParseError.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from ...config.select import SourceSelect
from ...errors import ParseError
from ..extract.html import absolute_url, document_base
from .blocks import link_blocks
from .embedded import assigned_data, parse_data
from .items import MAX_ITEMS, ItemValues, SourcePage, build_page, data_text, next_url, page_title

MIN_ITEMS = 2  # a page of fewer links is not a list
MAX_VALUES = 200_000  # JSON values walked per document
_AUTO = SourceSelect(kind="html", items="(autodetect)")
_ARTICLE_TYPES = frozenset(
    ("Article", "NewsArticle", "BlogPosting", "Report", "ReportageNewsArticle",
     "AnalysisNewsArticle", "OpinionNewsArticle", "BackgroundNewsArticle", "TechArticle",
     "ScholarlyArticle", "SocialMediaPosting", "LiveBlogPosting", "DiscussionForumPosting",
     "VideoObject", "PodcastEpisode")
)  # fmt: skip
_STATE_NAMES = ("__NUXT__", "__INITIAL_STATE__", "__PRELOADED_STATE__", "__APOLLO_STATE__")
_WINDOW_ASSIGNMENT = re.compile(r"window\.([A-Za-z_$][\w$]*)\s*=\s*[{\[]")
_MAX_STATE_SCRIPTS = 8
# Keys of an item object, lowercase, most telling first.
_TITLE = ("title", "headline", "name", "subject")
_LINK = ("url", "link", "href", "permalink", "share_url", "shareurl", "web_url", "weburl",
         "article_url", "articleurl", "canonical_url", "canonicalurl", "uri", "path")  # fmt: skip
_DATE = ("datepublished", "date_gmt", "date", "published_at", "publishedat", "published",
         "pubdate", "publish_time", "publishtime", "pub_time", "created_at", "createdat",
         "ctime", "display_time", "time", "timestamp", "updated_at", "updatedat")  # fmt: skip
_SUMMARY = ("summary", "description", "desc", "excerpt", "abstract", "intro", "digest",
            "subtitle", "teaser", "lead", "dek")  # fmt: skip
_IMAGE = ("image", "thumbnail", "thumbnail_mpic", "thumb", "cover", "coverimage", "cover_image",
          "img", "pic", "picture", "image_url", "imageurl", "thumbnail_url", "poster")  # fmt: skip
_AUTHOR = ("author", "author_name", "authorname", "authors", "byline", "creator", "nick")
_TAGS = ("tags", "tag", "keywords", "categories")
_INNER = ("rendered", "url", "href", "src", "name", "nick", "tag", "text", "value", "@id")


def detect_items(html: str, tree: LexborHTMLParser | None, url: str, now: datetime) -> SourcePage:
    """The page's items found without selectors; ParseError when none of the three ways finds
    MIN_ITEMS distinct links."""
    if tree is None:
        raise ParseError(url, "the page nests too deeply to be parsed")
    base = document_base(tree, url)
    found = (
        ("JSON-LD", _distinct(_json_ld(tree, url), base, url)),
        ("page state", _distinct(_page_state(html, tree, url), base, url)),
        ("link blocks", _distinct(link_blocks(tree), base, url)),
    )
    most = max(len(values) for _, values in found)
    for method, values in found:
        # Data beats markup, unless the data holds some other, smaller list (breadcrumbs).
        if len(values) >= max(MIN_ITEMS, most / 2):
            page = build_page(
                values[:MAX_ITEMS],
                _AUTO,
                base,
                now,
                url=url,
                title=page_title(tree),
                next_page=next_url(_rel_next(tree), base, url),
                total=len(values),
            )
            return dataclasses.replace(page, detected=method)
    raise ParseError(
        url,
        "no items found without [feeds.select] (no JSON-LD list, page state or repeated "
        "article links): write one",
    )


def _distinct(values: list[ItemValues], base: str, url: str) -> list[ItemValues]:
    """Items with an http(s) link other than the page's own, each link once."""
    seen: set[str] = set()
    kept = []
    for value in values:
        link = absolute_url(value.link, base) if value.link else None
        if link and link != url and link not in seen:
            seen.add(link)
            kept.append(dataclasses.replace(value, link=link))
    return kept


def _rel_next(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first('link[rel="next"][href], a[rel~="next"][href]')
    return node.attributes.get("href") if node is not None else None


# -- JSON-LD ----------------------------------------------------------------------------------


def _json_ld(tree: LexborHTMLParser, url: str) -> list[ItemValues]:
    listed: list[ItemValues] = []
    articles: list[ItemValues] = []
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data = parse_data(node.text(), url, "JSON-LD")
        except ParseError:
            continue
        for obj in _dicts(data):
            types = _types(obj)
            if "ItemList" in types:
                listed.extend(_list_element(e) for e in _as_list(obj.get("itemListElement")))
            elif types & _ARTICLE_TYPES:
                articles.append(_object_values(obj))
    return listed or articles


def _list_element(element: Any) -> ItemValues:
    if isinstance(element, str):
        return ItemValues(link=element)
    if not isinstance(element, dict):
        return ItemValues()
    item = element.get("item")
    if isinstance(item, dict):
        values = _object_values(item)
        return dataclasses.replace(
            values,
            title=values.title or data_text(element.get("name")),
            link=values.link or _link(element),
        )
    return dataclasses.replace(_object_values(element), link=_link(element) or data_text(item))


def _types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    return {t for t in _as_list(kind) if isinstance(t, str)}


# -- page state ---------------------------------------------------------------------------------


def _page_state(html: str, tree: LexborHTMLParser, url: str) -> list[ItemValues]:
    """The best list of items in any page-state script."""
    best: list[ItemValues] = []
    for data in _states(html, tree, url):
        found = best_list(data)
        if _score(found) > _score(best):
            best = found
    return best


def _states(html: str, tree: LexborHTMLParser, url: str) -> Iterator[Any]:
    node = tree.css_first("script#__NEXT_DATA__")
    if node is not None:
        try:
            data = parse_data(node.text(), url, "__NEXT_DATA__")
        except ParseError:
            pass  # a page-state script that is not data: look at the others
        else:
            yield data
    names = dict.fromkeys(n for n in _STATE_NAMES if n in html)
    names.update(dict.fromkeys(m.group(1) for m in _WINDOW_ASSIGNMENT.finditer(html)))
    for name in list(names)[:_MAX_STATE_SCRIPTS]:
        try:
            yield assigned_data(html, f"window.{name}", url)
        except ParseError:
            continue


def best_list(data: Any) -> list[ItemValues]:
    """The list (or the object of objects, as Apollo keeps them) whose elements look most
    like articles: a title and a link each, better with a date, summary or image."""
    best: list[ItemValues] = []
    for container in _containers(data):
        values = [_object_values(e) for e in container if isinstance(e, dict)]
        values = [v for v in values if v.title and _looks_like_link(v.link)]
        if len(values) * 2 >= len(container) and _score(values) > _score(best):
            best = values
    return best


def _score(values: list[ItemValues]) -> float:
    """More items, with longer titles and more of the fields an article list has, score more
    (a menu of short names with links scores little)."""
    if len(values) < MIN_ITEMS:
        return 0.0
    title_length = sum(len(v.title or "") for v in values) / len(values)
    extras = sum(bool(v.date) + bool(v.summary) + bool(v.image) for v in values) / len(values)
    return len(values) * min(title_length, 40) * (1 + extras)


def _containers(data: Any) -> Iterator[list[Any]]:
    for value in _values(data):
        if isinstance(value, list) and len(value) >= MIN_ITEMS:
            yield value
        elif isinstance(value, dict) and len(value) >= MIN_ITEMS:
            yield list(value.values())


def _looks_like_link(text: str | None) -> bool:
    return bool(text) and str(text).startswith(("http://", "https://", "//", "/", "./"))


# -- one object ---------------------------------------------------------------------------------


def _object_values(obj: dict[str, Any]) -> ItemValues:
    keys = {k.lower(): v for k, v in obj.items() if isinstance(k, str)}
    return ItemValues(
        title=data_text(_inner(_pick(keys, _TITLE))),
        link=_link(obj),
        date=_first(_inner(_pick(keys, _DATE))),
        summary=data_text(_inner(_pick(keys, _SUMMARY)), " "),
        image=data_text(_inner(_first(_pick(keys, _IMAGE)))),
        author=data_text([_inner(a) for a in _as_list(_pick(keys, _AUTHOR))]),
        tags=_tag_values(_pick(keys, _TAGS)),
    )


def _link(obj: dict[str, Any]) -> str | None:
    keys = {k.lower(): v for k, v in obj.items() if isinstance(k, str)}
    for key in (*_LINK, "mainentityofpage", "@id"):
        text = data_text(_inner(keys.get(key)))
        if _looks_like_link(text):
            return text
    return None


def _pick(keys: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if keys.get(name) not in (None, "", [], {}):
            return keys[name]
    return None


def _inner(value: Any) -> Any:
    """A string inside an object: WordPress {"rendered": ...}, an ImageObject's url, a
    Person's name."""
    if isinstance(value, dict):
        for key in _INNER:
            if isinstance(value.get(key), str | int | float):
                return value[key]
        return None
    return value


def _tag_values(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(dict.fromkeys(t.strip() for t in value.split(",") if t.strip()))
    texts = (data_text(_inner(v)) for v in _as_list(value))
    return tuple(dict.fromkeys(t for t in texts if t))


def _first(value: Any) -> Any:
    return (value[0] if value else None) if isinstance(value, list) else value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _values(data: Any) -> Iterator[Any]:
    """Every value inside ``data``, breadth first, at most MAX_VALUES."""
    queue = [data]
    for count, value in enumerate(queue):
        if count >= MAX_VALUES:
            return
        yield value
        if isinstance(value, dict):
            queue.extend(value.values())
        elif isinstance(value, list):
            queue.extend(value)


def _dicts(data: Any) -> Iterator[dict[str, Any]]:
    return (value for value in _values(data) if isinstance(value, dict))
