"""Pure: which entries a feed keeps (Miniflux's keep / block rules) and, on a feed's first
fetch, how many (the backlog cap).

A rule is ``field:regex``, searched (not anchored) in one field of the normalized article:
title, content (its visible text), author, link, or category (the entry's own categories and
the feed's configured ones). An entry is kept when it matches any include rule (or there are
none) and no exclude rule. Global ``[filters]`` rules apply to every feed, beside its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from ..config import Config, FeedConfig, FilterRule
from ..models import Article
from .extract import visible_text

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Filters:
    include: tuple[FilterRule, ...] = ()
    exclude: tuple[FilterRule, ...] = ()

    @classmethod
    def for_feed(cls, config: Config, feed: FeedConfig) -> Filters:
        return cls(config.include + feed.include, config.exclude + feed.exclude)

    def admits(self, article: Article, feed_categories: Sequence[str] = ()) -> bool:
        fields = _Fields(article, feed_categories)
        if self.include and not any(fields.match(rule) for rule in self.include):
            return False
        return not any(fields.match(rule) for rule in self.exclude)

    def fingerprint(self) -> str:
        """Changes when a rule does: the next pass must then read the feed afresh."""
        text = "\n".join(
            f"{kind}:{r.field}:{r.pattern.pattern}"
            for kind, rules in (("include", self.include), ("exclude", self.exclude))
            for r in rules
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16] if text else ""


NO_FILTERS = Filters()


class _Fields:
    """An article's filterable fields, each computed once and only when a rule asks."""

    def __init__(self, article: Article, feed_categories: Sequence[str]) -> None:
        self._article = article
        self._categories = (*article.tags, *feed_categories)
        self._text: str | None = None

    def match(self, rule: FilterRule) -> bool:
        return any(rule.pattern.search(value) for value in self._values(rule.field))

    def _values(self, field: str) -> Iterator[str]:
        a = self._article
        if field == "title":
            yield a.title
        elif field == "content":
            if self._text is None:
                self._text = visible_text(a.content)
            yield self._text
        elif field == "author":
            yield a.author or ""
        elif field == "link":
            yield a.link or ""
        elif field == "category":
            yield from self._categories


def newest(items: Sequence[T], limit: int, when: Callable[[T], datetime | None]) -> list[T]:
    """The ``limit`` newest items, in their original order: dated ones newest first, then
    undated ones in order (feeds list their newest first)."""
    if len(items) <= limit:
        return list(items)

    def age(i: int) -> tuple[bool, float]:
        moment = when(items[i])
        return (moment is None, -moment.timestamp() if moment else 0.0)

    kept = sorted(sorted(range(len(items)), key=age)[:limit])
    return [items[i] for i in kept]
