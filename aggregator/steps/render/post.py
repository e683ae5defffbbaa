"""Pure: a stored article -> the text of its post file, exactly in the seed's format.

(blank line)
---
title: '...'
categories:
 - a
headimg: '...'
author: NAME
comments: false
date: Wed, 26 May 2021 01:32:46 GMT
thumbnail: '...'
---
(blank line)
<div>
HTML
</div>
            (12 spaces, no final newline)
"""

from __future__ import annotations

import re
import zlib
from email.utils import format_datetime

from ...models import StoredArticle
from ..text import clean_line
from .yamlscalar import plain_or_quoted, quoted

PLACEHOLDER_COUNT = 10000

# Hexo runs bodies through Nunjucks: neutralise its delimiters so the text reaches the page.
_TEMPLATE_DELIMITERS = {"{{": "&#123;&#123;", "{%": "&#123;%", "{#": "&#123;#"}
# Hexo's backtick_code_block filter runs before Markdown and turns a line opening with ``` or
# ~~~ (even inside <pre>) into a highlighted block, dropping the fences: write such runs as
# character references so the text reaches the page unchanged.
_FENCES = re.compile(r"`{3,}|~{3,}")
_FENCE_CHARACTER = {"`": "&#96;", "~": "&#126;"}


def render_post(article: StoredArticle, placeholder: str, leading_blank_line: bool = True) -> str:
    image = article.image or placeholder_image(placeholder, article.id)
    lines = [
        "---",
        f"title: {quoted(post_title(article.title))}",
        *_categories(article.categories),
        f"headimg: {quoted(_url(image))}",
        f"author: {plain_or_quoted(clean_line(article.post_author))}",
        "comments: false",
        f"date: {format_datetime(article.published, usegmt=True)}",
        f"thumbnail: {quoted(_url(image))}",
        "---",
        "",
        "<div>   ",
        f"{post_body(article.content)}  ",
        "</div>",
        " " * 12,
    ]
    text = "\n".join(lines)
    return "\n" + text if leading_blank_line else text


def post_title(title: str) -> str:
    """ASCII quotes become ``_`` (the seed's habit); the rest was cleaned at normalize."""
    return clean_line(title).replace('"', "_").replace("'", "_")


def post_body(html: str) -> str:
    """No blank lines (Markdown ends an HTML block there), no template delimiters and no code
    fences (Hexo would act on both before Markdown)."""
    if "\n" in html or "\r" in html:
        lines = html.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        body = "\n".join(line for line in lines if line.strip())
    else:
        body = html if html.strip() else ""
    if "{" in body:
        for delimiter, escaped in _TEMPLATE_DELIMITERS.items():
            body = body.replace(delimiter, escaped)
    if "```" in body or "~~~" in body:
        body = _FENCES.sub(_escape_fence, body)
    return body


def _escape_fence(match: re.Match[str]) -> str:
    fence = match[0]
    return _FENCE_CHARACTER[fence[0]] * len(fence)


def placeholder_image(template: str, article_id: str) -> str:
    """``{n}`` in 1..10000, stable per article; a template without ``{n}`` is used as is."""
    n = zlib.crc32(article_id.encode()) % PLACEHOLDER_COUNT + 1
    return template.replace("{n}", str(n))


def _categories(categories: tuple[str, ...]) -> list[str]:
    cleaned = [c for c in (clean_line(c) for c in categories) if c]
    if not cleaned:
        return ["categories: []"]
    return ["categories: ", *(f" - {plain_or_quoted(c)}" for c in cleaned)]


def _url(url: str) -> str:
    return clean_line(url).replace(" ", "%20")
