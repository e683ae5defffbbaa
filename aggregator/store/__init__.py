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

    async def post_paths(self) -> list[tuple[str, str]]:
        """(article id, post file name) of every live article."""

    async def mark_unrendered(self, article_ids: Sequence[str]) -> None: ...

    async def newest(self, limit: int) -> list[StoredArticle]:
        """The newest articles by published date (first-seen when absent)."""

    async def atom_id(self) -> str:
        """A stable ``urn:uuid:`` for the Atom feed, made once and kept."""

    async def last_change(self) -> datetime | None:
        """When any article last changed (for deciding whether outputs are stale)."""


async def open_store(database: str) -> Store:
    """Open (creating or migrating) the store named by ``[storage] database``."""
    from .sqlite import SqliteStore

    return await SqliteStore.open(database)
