"""I/O: ``Store``, the one storage interface the rest of aggregator talks to. Its Python is the
same on both backends; each backend is a ``Database`` adapter (sqlite.py, postgres.py) that
runs the SQL of queries.py. The methods live by concern in mixins: feeds.py (feeds and their
schedule), articles.py (one feed's results, the page queue, retention), rendering.py (what the
publisher reads)."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from . import queries as q
from .adapter import Database
from .articles import ArticlesMixin
from .feeds import FeedsMixin
from .rendering import RenderingMixin


class Store(FeedsMixin, ArticlesMixin, RenderingMixin):
    def __init__(self, db: Database) -> None:
        self._db = db
        # Leases name their worker: only the owner releases them (see release).
        self._worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def close(self) -> None:
        await self._db.close()

    async def maintain(self, keep_log_days: int = 30, now: datetime | None = None) -> None:
        """Trim the fetch log, then the backend's own housekeeping (SQLite: checkpoint the
        WAL, refresh the planner's statistics; PostgreSQL: autovacuum does it)."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_log_days)
        await self._db.transaction("maintenance", lambda db: db.execute(q.TRIM_LOG, cutoff))
        await self._db.tidy()

    async def lock_daemon(self) -> None:
        """SQLite: refuse (StoreError) when another daemon runs on this database; holding it
        alone, every lease left there is stale (a killed daemon's) and is let go. PostgreSQL:
        several daemons are the point: nothing is refused, nobody's leases are touched."""
        if self._db.lock_daemon():
            await self._db.transaction(
                "let stale leases go", lambda db: db.execute(q.RELEASE_STALE)
            )

    async def lead_publisher(self) -> bool:
        """True while this process is the one that writes posts and the Atom document; ask
        before each publishing round. SQLite: always (lock_daemon already excludes others).
        PostgreSQL: a session advisory lock, kept until ``close`` or the process dies, when
        another worker's next call takes over."""
        return await self._db.lead_publisher()
