"""Pure: rows <-> records. Both backends select the same columns in the same order
(queries.py); each passes its own time conversion (SQLite stores text, PostgreSQL timestamptz).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from ...models import (
    Article,
    Decision,
    FeedState,
    FeedStatus,
    FeedUpdate,
    Match,
    Outcome,
    StoredArticle,
)

# Attempts at a queued full-text page before it is given up (transient failures only).
MAX_PAGE_ATTEMPTS = 3


class Row(Protocol):
    """A result row: a tuple from sqlite3, an asyncpg Record."""

    def __getitem__(self, index: int, /) -> Any: ...


ToTime = Callable[[Any], datetime | None]  # a stored time -> an aware datetime


def content_values(a: Article) -> tuple[Any, ...]:
    """An article's stored fields from canonical_url to updated, in the order
    Dialect.insert_article and queries.UPDATE_ARTICLE list them."""
    return (
        a.canonical_url,
        a.fingerprint,
        a.content_hash,
        a.link,
        a.title,
        a.author,
        a.content,
        a.image,
        a.published,
        a.updated,
    )


def feed_state(
    r: Row, to_time: ToTime, article_count: int = 0, pages_waiting: int = 0
) -> FeedState:
    """A row of queries.FEED_COLUMNS."""
    return FeedState(
        id=r[0],
        name=r[1],
        url=r[2],
        etag=r[3],
        last_modified=r[4],
        body_hash=r[5],
        error_count=r[6],
        last_fetch_at=to_time(r[7]),
        last_status=FeedStatus(r[8]) if r[8] else None,
        last_error=r[9],
        next_check_at=to_time(r[10]),
        enabled=bool(r[11]),
        in_config=bool(r[12]),
        disabled_reason=r[13],
        check_interval=r[14],
        schedule_reason=r[15],
        entry_gap=r[16],
        document_hint=r[17],
        rules_hash=r[18],
        filtered=r[19],
        config_url=r[20],
        url_via=r[21],
        dedupe=bool(r[22]),
        duplicates=r[23],
        article_count=article_count,
        pages_waiting=pages_waiting,
    )


def match(r: Row) -> Match:
    """A row of queries.KNOWN_KEYS or of a Dialect's matches, after its first column (the key
    it was found by)."""
    return Match(r[1], r[2], r[3], r[4], r[5], r[6])


def stored_article(r: Row, to_time: ToTime) -> StoredArticle:
    """A row of queries.ARTICLE_COLUMNS: id, feed name, feed URL, link, title, author,
    content, image, published (or first seen), updated, post path, categories (JSON), post
    author, content hash, revision."""
    published, updated = to_time(r[8]), to_time(r[9])
    assert published is not None and updated is not None
    return StoredArticle(
        id=r[0],
        feed_name=r[1],
        feed_url=r[2],
        link=r[3],
        title=r[4],
        author=r[5],
        content=r[6],
        image=r[7],
        published=published,
        updated=updated,
        post_path=r[10],
        categories=tuple(json.loads(r[11])),
        post_author=r[12],
        content_hash=r[13],
        revision=r[14],
    )


def host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def pages_to_queue(
    update: FeedUpdate, decisions: Iterable[Decision]
) -> list[tuple[str, str, str | None, int]]:
    """(article id, page URL, feed image, attempts) of the articles whose full-text page this
    pass did not fetch: those its entries added or updated, under the key the page was wanted
    for."""
    wanted = dict(update.pages_wanted)
    return [
        (d.target, d.article.link, d.article.media_image, wanted[d.article.entry_key])
        for d in decisions
        if d.article.entry_key in wanted
        and d.article.link
        and d.outcome in (Outcome.NEW, Outcome.UPDATED)
    ]


def feed_update_values(u: FeedUpdate, worker: str, duplicates: int = 0) -> tuple[Any, ...]:
    """queries.UPDATE_FEED's parameters; ``worker`` names the store whose lease it ends,
    ``duplicates`` the entries this pass found to be other feeds' articles."""
    return (
        u.feed_id,
        u.url,
        u.keep_validators,
        u.etag,
        u.last_modified,
        u.body_hash,
        u.now,
        u.status,
        u.http_status,
        u.error,
        u.status == FeedStatus.FAILED,
        u.next_check_at,
        u.check_interval,
        u.schedule_reason,
        u.entry_gap,
        u.document_hint,
        u.rules_hash,
        u.filtered,
        u.disable,
        worker,
        u.url_via,
        duplicates,
        None if u.read_entries is None else json.dumps(u.read_entries, ensure_ascii=False),
    )


def fetch_log_values(u: FeedUpdate, decisions: Iterable[Decision]) -> tuple[Any, ...]:
    """queries.LOG_FETCH's parameters: the pass and what its articles came to."""
    counts = Counter(d.outcome for d in decisions)
    return (
        u.feed_id,
        u.now,
        u.status,
        u.http_status,
        u.error,
        counts[Outcome.NEW],
        counts[Outcome.UPDATED],
        counts[Outcome.DUPLICATE],
        u.filtered or 0,
    )
