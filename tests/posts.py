"""Reading a post as Hexo does: YAML front matter between the first two ``---`` lines (after
the seed's opening blank line), then the body."""

from __future__ import annotations

from typing import Any

import yaml

OPENING = "\n---\n"


def read_post(post: str | bytes) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a post; fails unless it opens as the seed post does."""
    text = post.decode("utf-8") if isinstance(post, bytes) else post
    assert text.startswith(OPENING), text[:80]
    end = text.index(OPENING, len(OPENING) - 1)
    values = yaml.safe_load(text[len(OPENING) : end])
    assert isinstance(values, dict), text[:200]
    return values, text[end + len(OPENING) :]


def front_matter(post: str | bytes) -> dict[str, Any]:
    """The post's front matter, keys in file order."""
    return read_post(post)[0]
