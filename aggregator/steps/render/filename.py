"""Safe, stable post file names: ``2021-05-26-<ascii-slug>-<8 hex of the id>.md``, given
once, when an article is first stored (the store keeps it).

ASCII ``[a-z0-9-]`` and the date only, so no title or URL can choose a path, a hidden file
(Hexo skips names starting with ``_`` or ``.``) or an over-long name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime

from ...models import Article

MAX_NAME_BYTES = 120
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def post_names(
    articles: Sequence[Article], first_seen: datetime, taken: Iterable[str]
) -> dict[str, str]:
    """Each new article's post file name by id: its date (claimed, else first seen) and title.
    The rare clash (same date, slug and 8-hex id prefix as a stored post, ``taken``, or one
    earlier in this batch) gets the whole id instead."""
    used = set(taken)
    names = {}
    for a in articles:
        name = post_name(a, first_seen)
        if name in used:
            name = name.removesuffix(".md") + "-" + a.id.replace("-", "") + ".md"
        used.add(name)
        names[a.id] = name
    return names


def post_name(article: Article, first_seen: datetime) -> str:
    date = article.published or article.updated or first_seen
    return post_filename(article.title, date, article.id)


def post_filename(title: str, date: datetime, article_id: str) -> str:
    suffix = f"-{article_id.replace('-', '')[:8]}.md"
    prefix = date.strftime("%Y-%m-%d")
    room = MAX_NAME_BYTES - len(prefix) - len(suffix) - 1
    slug = slugify(title)[:room].rstrip("-")
    return f"{prefix}-{slug}{suffix}" if slug else f"{prefix}{suffix}"


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NON_SLUG.sub("-", ascii_text.lower()).strip("-")
