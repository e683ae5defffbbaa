"""PostgreSQL's numbered, append-only schema steps: ``MIGRATIONS[n]`` upgrades version n to n + 1.

A fresh database is created from postgres_schema.sql at SCHEMA_VERSION directly; add a step
here and the same change to postgres_schema.sql together. Never edit a released step. The
version is the ``meta`` row ``schema_version``. Every step runs inside the one transaction that
also moves the version (PostgreSQL's DDL is transactional): a failed upgrade changes nothing.

Steps run only through ``aggregator migrate``: with many workers on one database, a worker
never upgrades the schema under the others' feet (see PostgresDatabase.open).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .queries import COUNT_DUPLICATES

SCHEMA_VERSION = 5

Migration = Callable[[Any], Awaitable[None]]  # called with an asyncpg connection


async def _identity_links(conn: Any) -> None:
    """1 -> 2: as SQLite's 2 -> 3: canonical_url only for per-article links, the full-text
    page queue, feeds.url_via."""
    await conn.execute("ALTER TABLE feeds ADD COLUMN url_via TEXT")
    await conn.execute(
        """
        UPDATE articles SET canonical_url = NULL
        WHERE substr(canonical_url, 9 + strpos(substr(canonical_url, 9), '/')) = ''
           OR canonical_url IN (SELECT canonical_url FROM articles
                                WHERE canonical_url IS NOT NULL
                                GROUP BY canonical_url HAVING count(*) > 1)
        """
    )
    await conn.execute(
        """
        CREATE TABLE page_queue (
            article_id TEXT COLLATE "C" PRIMARY KEY,
            feed_id BIGINT NOT NULL REFERENCES feeds (id),
            url TEXT NOT NULL,
            media_image TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            queued_at TIMESTAMPTZ NOT NULL
        )
        """
    )
    await conn.execute("CREATE INDEX page_queue_feed ON page_queue (feed_id, queued_at)")


async def _near_duplicates(conn: Any) -> None:
    """2 -> 3: as SQLite's 4 -> 5: the band key table (over articles.seq, now indexed), each
    feed's dedupe flag and its count of merged entries, the articles' revision."""
    await conn.execute("ALTER TABLE feeds ADD COLUMN dedupe BOOLEAN NOT NULL DEFAULT TRUE")
    await conn.execute("ALTER TABLE feeds ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0")
    await conn.execute(COUNT_DUPLICATES)
    await conn.execute("ALTER TABLE articles ADD COLUMN revision INTEGER NOT NULL DEFAULT 0")
    await conn.execute("CREATE UNIQUE INDEX articles_seq ON articles (seq)")
    await conn.execute(
        """
        CREATE TABLE near_keys (
            key BIGINT NOT NULL,
            article BIGINT NOT NULL,
            PRIMARY KEY (key, article)
        )
        """
    )
    await conn.execute("CREATE INDEX near_keys_article ON near_keys (article)")


async def _read_entries(conn: Any) -> None:
    """3 -> 4: as SQLite's 5 -> 6: what each feed's last document was read into."""
    await conn.execute("ALTER TABLE feeds ADD COLUMN read_entries TEXT")


async def _story_joins(conn: Any) -> None:
    """4 -> 5: as SQLite's 6 -> 7: articles found to be one story, to be joined."""
    await conn.execute(
        'CREATE TABLE story_joins (article_id TEXT COLLATE "C" PRIMARY KEY,'
        ' into_id TEXT COLLATE "C" NOT NULL, gives_text BOOLEAN NOT NULL)'
    )


MIGRATIONS: dict[int, Migration] = {
    1: _identity_links,
    2: _near_duplicates,
    3: _read_entries,
    4: _story_joins,
}
