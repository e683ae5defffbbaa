"""Numbered, append-only schema steps: ``MIGRATIONS[n]`` upgrades version n to n + 1.

A fresh database is created from schema.sql at SCHEMA_VERSION directly; add a step here and
the same change to schema.sql together. Never edit a released step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .adapter import Session
from .queries import COUNT_DUPLICATES

SCHEMA_VERSION = 7

# Run in the upgrade's transaction (SQLite: on its connection's thread, Database.transaction).
Migration = Callable[[Session], Awaitable[None]]


async def _filters(db: Session) -> None:
    """1 -> 2: filtered entries are counted; a changed rule re-reads the feed."""
    await db.execute("ALTER TABLE feeds ADD COLUMN rules_hash TEXT NOT NULL DEFAULT ''")
    await db.execute("ALTER TABLE feeds ADD COLUMN filtered INTEGER NOT NULL DEFAULT 0")
    await db.execute("ALTER TABLE fetch_log ADD COLUMN filtered INTEGER NOT NULL DEFAULT 0")


async def _identity_links(db: Session) -> None:
    """2 -> 3: a link identifies an article only when it is a per-article link (canonical_url
    NULL for a site's front page or a link several articles share); the full-text page queue;
    how a feed's URL came to differ from the configured one."""
    await db.execute("ALTER TABLE feeds ADD COLUMN url_via TEXT")
    await db.execute(
        """
        UPDATE articles SET canonical_url = NULL
        WHERE substr(canonical_url, 9 + instr(substr(canonical_url, 9), '/')) = ''
           OR canonical_url IN (SELECT canonical_url FROM articles
                                WHERE canonical_url IS NOT NULL
                                GROUP BY canonical_url HAVING count(*) > 1)
        """
    )
    await db.execute(
        """
        CREATE TABLE page_queue (
            article_id TEXT PRIMARY KEY,
            feed_id INTEGER NOT NULL REFERENCES feeds (id),
            url TEXT NOT NULL,
            media_image TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            queued_at TEXT NOT NULL
        )
        """
    )
    await db.execute("CREATE INDEX page_queue_feed ON page_queue (feed_id, queued_at)")


async def _lease_owner(db: Session) -> None:
    """3 -> 4: a lease names the worker holding it, as on PostgreSQL: only that worker's save
    or release lets it go (one statement serves both backends). Leases taken before have no
    owner and run out by themselves. (A fresh database has the column beside lease_until, as on
    PostgreSQL: the store names its columns, their order means nothing.)"""
    await db.execute("ALTER TABLE feeds ADD COLUMN lease_owner TEXT")


async def _near_duplicates(db: Session) -> None:
    """4 -> 5: near-duplicates: the band key table over an explicit article number (seq, the
    rowid's order so far), each feed's dedupe flag and its count of merged entries (those
    already merged into another feed's live article), the articles' revision (a content
    change that keeps the content hash: a fetched page, a fuller copy). Articles stored before
    have no keys: they are found by link and fingerprint only."""
    await db.execute("ALTER TABLE feeds ADD COLUMN dedupe INTEGER NOT NULL DEFAULT 1")
    await db.execute("ALTER TABLE feeds ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0")
    await db.execute(COUNT_DUPLICATES)
    await db.execute("ALTER TABLE articles ADD COLUMN revision INTEGER NOT NULL DEFAULT 0")
    await db.execute("ALTER TABLE articles ADD COLUMN seq INTEGER")
    await db.execute("UPDATE articles SET seq = rowid")
    await db.execute("CREATE UNIQUE INDEX articles_seq ON articles (seq)")
    await db.execute(
        """
        CREATE TABLE near_keys (
            key INTEGER NOT NULL,
            article INTEGER NOT NULL,
            PRIMARY KEY (key, article)
        ) WITHOUT ROWID
        """
    )
    await db.execute("CREATE INDEX near_keys_article ON near_keys (article)")


async def _read_entries(db: Session) -> None:
    """5 -> 6: what each feed's last document was read into (entry digests and keys): the
    entries of the next one that are the same are not normalized again. Feeds read before
    have none: their next document is read in full."""
    await db.execute("ALTER TABLE feeds ADD COLUMN read_entries TEXT")


async def _story_joins(db: Session) -> None:
    """6 -> 7: articles found to be one story after both were stored, to be joined."""
    await db.execute(
        "CREATE TABLE story_joins"
        " (article_id TEXT PRIMARY KEY, into_id TEXT NOT NULL, gives_text INTEGER NOT NULL)"
    )


MIGRATIONS: dict[int, Migration] = {
    1: _filters,
    2: _identity_links,
    3: _lease_owner,
    4: _near_duplicates,
    5: _read_entries,
    6: _story_joins,
}
