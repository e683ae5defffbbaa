"""I/O: the one storage interface: SQLite (aiosqlite) for one machine, PostgreSQL (asyncpg) for
several workers sharing one database. ``[storage] database`` picks the backend: a
``postgresql://`` URL or a file path.

Nothing outside this package writes SQL. The pipeline talks to ``Store`` only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ..config import FeedConfig
from ..errors import StoreError
from ..models import (
    Article,
    Decision,
    FeedState,
    FeedUpdate,
    PageResult,
    QueuedPage,
    StoredArticle,
)
from .dsn import display_database, is_postgres, scheme

__all__ = ["Store", "database_missing", "display_database", "migrate_store", "open_store"]


class Store(Protocol):
    async def close(self) -> None: ...

    async def sync_feeds(self, feeds: Sequence[FeedConfig]) -> dict[str, FeedState]:
        """Make the feeds table match the config (by name); returns the configured feeds."""

    async def feed_states(self) -> list[FeedState]:
        """Every feed the store knows, configured or not, with its article count."""

    async def save(self, update: FeedUpdate, articles: Sequence[Article]) -> list[Decision]:
        """Decide and write one feed's results in one transaction (dedupe inside it, so two
        feeds carrying the same article cannot both insert it)."""

    async def preview(self, feed_id: int, articles: Sequence[Article]) -> list[Decision]:
        """The decisions ``save`` would make now, writing nothing (full text crawls only the
        articles that would be added or updated)."""

    async def queued_pages(self, feed_id: int, limit: int, before: datetime) -> list[QueuedPage]:
        """A feed's full-text pages queued before ``before``, oldest first (see
        FeedUpdate.pages_wanted)."""

    async def finish_pages(self, now: datetime, results: Sequence[PageResult]) -> None:
        """Fetched pages' content replaces their articles' (the posts are written again); a
        failure to retry stays queued up to MAX_PAGE_ATTEMPTS, any other leaves the queue."""

    async def pending_posts(self, limit: int) -> list[StoredArticle]:
        """Articles whose post file is older than their content (or was never written)."""

    async def mark_rendered(self, rendered: Sequence[tuple[str, str]]) -> None:
        """(article id, content hash written) pairs; a newer change stays pending."""

    async def post_paths(self, after: str = "", limit: int = 5000) -> list[tuple[str, str]]:
        """(article id, post file name) of live articles, by id, one page after ``after``."""

    async def mark_unrendered(self, article_ids: Sequence[str] | None) -> None:
        """Queue posts to be written again (None: every article)."""

    async def newest(self, limit: int) -> list[StoredArticle]:
        """The newest articles by published date (first-seen when absent)."""

    async def atom_id(self) -> str:
        """A stable ``urn:uuid:`` for the Atom feed, made once and kept."""

    # The daemon's schedule: due feeds are claimed with a lease that expires by itself.

    async def claim_due(
        self, now: datetime, limit: int, lease: float, per_host: int
    ) -> list[FeedState]: ...

    async def release(self, feed_ids: Sequence[int]) -> None: ...

    async def schedule_feeds(
        self, when: Sequence[tuple[str, datetime]], first_only: bool = False
    ) -> None:
        """Set next check times by feed name. ``first_only``: only for feeds never scheduled
        nor fetched (workers starting together must not re-spread what another fetched)."""

    async def set_disabled(self, name: str, reason: str | None) -> bool: ...

    async def feed_articles(self, name: str) -> list[tuple[str, str]] | None:
        """(id, post file name) of a feed's articles; None when there is no such feed."""

    async def delete_feed(self, name: str) -> None:
        """Forget a feed and its articles (``aggregator prune``)."""

    async def expired_articles(self, before: datetime) -> list[tuple[str, str]]: ...

    async def delete_articles(self, article_ids: Sequence[str]) -> None: ...

    async def maintain(self, keep_log_days: int = 30, now: datetime | None = None) -> None: ...

    def lock_daemon(self) -> None:
        """SQLite: refuse (StoreError) when another daemon runs on this database. PostgreSQL:
        several daemons are the point, nothing is refused."""

    async def lead_publisher(self) -> bool:
        """True while this process is the one that writes posts and the Atom document; ask
        before each publishing round. SQLite: always (lock_daemon already excludes others).
        PostgreSQL: a session advisory lock, kept until ``close`` or the process dies, when
        another worker's next call takes over."""


async def open_store(database: str) -> Store:
    """Open the store named by ``[storage] database``. SQLite is created or migrated on open;
    PostgreSQL is created when empty, and an older schema is refused: ``aggregator migrate``
    upgrades it (many workers share it; none upgrades it under the others)."""
    if is_postgres(database):
        from .postgres import PostgresStore  # asyncpg loads only for PostgreSQL users

        return await PostgresStore.open(database)
    from .sqlite import SqliteStore

    _refuse_unknown_scheme(database)
    return await SqliteStore.open(database)


async def migrate_store(database: str) -> tuple[int, int]:
    """``aggregator migrate``: create or upgrade the schema; (version found, version now),
    found 0 when the database was created."""
    if is_postgres(database):
        from .postgres import PostgresStore

        return await PostgresStore.migrate(database)
    from .sqlite import SqliteStore

    _refuse_unknown_scheme(database)
    return await SqliteStore.migrate(database)


def database_missing(database: str) -> bool:
    """True when ``database`` names an SQLite file that does not exist yet: a read-only command
    has nothing to read then, and must not create it by opening it."""
    if scheme(database) not in ("", "sqlite"):
        return False
    path = database.removeprefix("sqlite://") if database.startswith("sqlite:///") else database
    return not os.path.lexists(path)


def _refuse_unknown_scheme(database: str) -> None:
    if scheme(database) not in ("", "sqlite"):
        raise StoreError(
            display_database(database),
            "unsupported database URL (expected a file path or postgresql://)",
        )
