"""What the store (core.py) needs from a database: a connection to read on, a transaction to
write in, and hooks where the backends really differ. sqlite.py and postgres.py implement it.

SQL reaches an adapter as written in queries.py (PostgreSQL's form); the adapter translates it
for its driver and converts parameters: a datetime to what the backend stores (both keep
milliseconds, so that both give back equal records), a list for ``= ANY($n)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from ...models import Article
from .queries import Dialect
from .rows import Row, ToTime


class Session(ABC):
    """One connection, inside ``Database.read`` or ``Database.transaction``."""

    @abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row; None when there is no row."""
        rows = await self.fetch(sql, *args)
        return rows[0][0] if rows else None

    @abstractmethod
    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; the number of rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement per row of parameters; nothing when there are no rows."""


T = TypeVar("T")
# What a transaction does: statements on the session it is given, nothing else awaited.
Work = Callable[[Session], Coroutine[Any, Any, T]]


class Database(ABC):
    """A backend: its connections, transactions, errors (StoreError naming the database) and
    its own behaviour where the backends differ."""

    dialect: Dialect  # the statements written differently per backend
    to_time: ToTime  # a stored time -> an aware datetime (for rows.py)
    versions: tuple[int, int]  # schema version found on opening (0: created), version now

    @abstractmethod
    def read(self, action: str) -> AbstractAsyncContextManager[Session]:
        """A connection to read on; errors become StoreError naming ``action``."""

    @abstractmethod
    async def transaction(self, action: str, work: Work[T]) -> T:
        """``work(session)`` in one transaction, committed when it returns, rolled back when
        it raises; its result. ``work`` talks only to the session: SQLite runs it whole on
        its connection's thread (one hop, however many statements), so it never waits for
        anything else. A caller cancelled meanwhile does not stop it: the transaction still
        commits or rolls back whole."""

    @abstractmethod
    async def close(self) -> None: ...

    # -- hooks: how each backend keeps concurrent writers exact (see Store.save, claim_due) --

    @abstractmethod
    async def lock_feed(self, db: Session, feed_id: int) -> None:
        """In save's transaction, first: no other save of this feed until it commits."""

    @abstractmethod
    async def lock_keys(self, db: Session, articles: Sequence[Article]) -> None:
        """In save's transaction, before the cross-feed lookups: no other save of an article
        with one of these canonical URLs, fingerprints or band keys until it commits."""

    @abstractmethod
    async def lock_claims(self, db: Session) -> None:
        """In claim_due's transaction, first: one claim at a time counts the free slots."""

    @abstractmethod
    async def lock_saves(self, db: Session) -> None:
        """In join_articles' transaction, first: no save runs until it commits (a save could
        map a copy to the article being joined, which would then be gone)."""

    @abstractmethod
    async def tidy(self) -> None:
        """After maintenance trimmed the log: the backend's own housekeeping."""

    @abstractmethod
    def lock_daemon(self) -> bool:
        """Refuse (StoreError) when another daemon may not run beside this one; True when this
        daemon now holds the database alone."""

    @abstractmethod
    async def lead_publisher(self) -> bool:
        """True while this process is the one that writes posts and the Atom document."""


@asynccontextmanager
async def closed_on_error(close: Callable[[], Awaitable[object]]) -> AsyncIterator[None]:
    """A database being opened is closed again (``close``) when its preparation fails."""
    try:
        yield
    except BaseException:
        await close()
        raise
