"""I/O: the one storage interface. SQLite (aiosqlite) now; the same Protocol for PostgreSQL later.

Nothing outside this package writes SQL. The pipeline talks to ``Store`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ..config import FeedConfig
from ..models import Article, Decision, FeedState, FeedUpdate, StoredArticle


class Store(Protocol):
    async def close(self) -> None: ...

    async def sync_feeds(self, feeds: Sequence[FeedConfig]) -> dict[str, FeedState]:
        """Make the feeds table match the config (by name); returns the configured feeds."""

    async def feed_states(self) -> list[FeedState]:
        """Every feed the store knows, configured or not, with its article count."""

    async def save(self, update: FeedUpdate, articles: Sequence[Article]) -> list[Decision]:
        """Decide and write one feed's results in one transaction (dedupe inside it, so two
        feeds carrying the same article cannot both insert it)."""

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

    async def schedule_feeds(self, when: Sequence[tuple[str, datetime]]) -> None: ...

    async def set_disabled(self, name: str, reason: str | None) -> bool: ...

    async def expired_articles(self, before: datetime) -> list[tuple[str, str]]: ...

    async def delete_articles(self, article_ids: Sequence[str]) -> None: ...

    async def maintain(self, keep_log_days: int = 30, now: datetime | None = None) -> None: ...

    def lock_daemon(self) -> None:
        """Refuse (StoreError) when another daemon runs on this database."""


async def open_store(database: str) -> Store:
    """Open (creating or migrating) the store named by ``[storage] database``."""
    from .sqlite import SqliteStore

    return await SqliteStore.open(database)
