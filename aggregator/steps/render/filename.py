"""Safe, stable post file names: ``2021-05-26-<ascii-slug>-<8 hex of the id>.md``.

ASCII ``[a-z0-9-]`` and the date only, so no title or URL can choose a path, a hidden file
(Hexo skips names starting with ``_`` or ``.``) or an over-long name.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

MAX_NAME_BYTES = 120
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def post_filename(title: str, date: datetime, article_id: str) -> str:
    suffix = f"-{article_id.replace('-', '')[:8]}.md"
    prefix = date.strftime("%Y-%m-%d")
    room = MAX_NAME_BYTES - len(prefix) - len(suffix) - 1
    slug = slugify(title)[:room].rstrip("-")
    return f"{prefix}-{slug}{suffix}" if slug else f"{prefix}{suffix}"


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NON_SLUG.sub("-", ascii_text.lower()).strip("-")
