"""SQLite store's database (aiosqlite): WAL, versioned migrations, one writer at a time.

The store's SQL (queries.py) is written in PostgreSQL's form; this adapter rewrites
``= ANY($n)`` as ``IN (SELECT value FROM json_each(?n))`` with the list passed as JSON, then
``$n`` as ``?n``. Times are stored as UTC ISO 8601 text at millisecond precision.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import functools
import json
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from ...errors import StoreError
from ...models import Article
from .adapter import Database, Session, Work, closed_on_error
from .migrations import MIGRATIONS, SCHEMA_VERSION
from .queries import SQLITE
from .rows import Row

_BUSY_TIMEOUT_MS = 10_000
T = TypeVar("T")

_ANY = re.compile(r"= ANY\(\$(\d+)\)")
_PARAMETER = re.compile(r"\$(\d+)")


def to_text(value: datetime | None) -> str | None:
    # One fixed width (milliseconds), so that times compare correctly as text in SQL.
    return value.astimezone(UTC).isoformat(timespec="milliseconds") if value else None


def from_text(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _connect(path: str) -> sqlite3.Connection:
    """The database file opened (created if missing), or StoreError naming the cause: SQLite
    itself only says "unable to open database file"."""
    try:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            file = next(
                (p for p in Path(path).parents if p.exists() and not p.is_dir()), Path(path).parent
            )
            raise StoreError(path, f"cannot open the database: {file} is not a folder") from None
        if Path(path).is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a directory, not a database file", path)
        # check_same_thread off: opened in this thread, used only from aiosqlite's one thread.
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except OSError as e:
        raise StoreError(path, f"cannot open the database: {e.strerror or e}") from None
    except sqlite3.Error as e:
        raise StoreError(path, "cannot open the database") from e


@functools.cache
def sqlite_sql(sql: str) -> str:
    """A statement of queries.py as SQLite runs it (the indexes still serve ``IN``)."""
    sql = _ANY.sub(r"IN (SELECT value FROM json_each(?\1))", sql)
    return _PARAMETER.sub(r"?\1", sql)


def _parameters(args: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(
        to_text(v) if isinstance(v, datetime) else json.dumps(v) if isinstance(v, list) else v
        for v in args
    )


class _ReadSession(Session):
    """Reads (``SqliteDatabase.read``): each call one hop to aiosqlite's thread, its rows all
    taken there. A cursor left between hops would hold its statement open, and a transaction
    run meanwhile could not commit ("SQL statements in progress")."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._db.execute_fetchall(sqlite_sql(sql), _parameters(args)))

    async def execute(self, sql: str, *args: Any) -> int:
        raise TypeError("a read writes nothing: write in Database.transaction")

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise TypeError("a read writes nothing: write in Database.transaction")


class _ThreadSession(Session):
    """The connection itself, used on aiosqlite's thread inside a transaction's one hop:
    every call is done when it returns (``_run_to_end``)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return self._connection.execute(sqlite_sql(sql), _parameters(args)).fetchall()

    async def execute(self, sql: str, *args: Any) -> int:
        return self._connection.execute(sqlite_sql(sql), _parameters(args)).rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._connection.executemany(sqlite_sql(sql), [_parameters(r) for r in rows])


def _run_to_end(work: Coroutine[Any, Any, T]) -> T:
    """A transaction's work, whose every await is a ``_ThreadSession`` call (or a hook that
    does nothing), run to its end at once."""
    try:
        work.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    work.close()
    raise RuntimeError("a transaction's work waited for something other than the database")


def _upgrade_from(version: int) -> Work[None]:
    async def upgrade(db: Session) -> None:
        for step in range(version, SCHEMA_VERSION):
            await MIGRATIONS[step](db)
        await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    return upgrade


class SqliteDatabase(Database):
    """One connection per process. A transaction runs whole on aiosqlite's thread, one hop
    from the event loop however many statements it has: writers take turns in that thread's
    queue (``BEGIN IMMEDIATE`` across processes), which is what makes save and claim_due
    exact: the locking hooks have nothing left to do. (Run as one hop per statement, with a
    lock held across them, a save of 3 articles spent half its time waiting for the event
    loop to take each result: saves in turn were what a pass where a fifth of 2,000 feeds
    changed waited for.)"""

    def __init__(self, db: aiosqlite.Connection, connection: sqlite3.Connection, path: str):
        self._db = db
        self._session = _ReadSession(db)
        self._connection = connection  # used only on aiosqlite's thread
        self._in_thread = _ThreadSession(connection)
        self._path = path
        self._lock_fd: int | None = None
        self.versions = (0, SCHEMA_VERSION)
        self.dialect = SQLITE
        self.to_time = from_text

    @classmethod
    async def open(cls, path: str) -> SqliteDatabase:
        if path.startswith("sqlite:///"):
            path = path.removeprefix("sqlite://")
        elif "://" in path:
            raise StoreError(path, "unsupported database URL (expected a file path)")
        # The file is opened here, in a short-lived thread, and only then handed to aiosqlite:
        # when aiosqlite's own connect fails, it queues the stop of its worker thread without
        # awaiting it, and that thread, finding the event loop closed by asyncio.run, printed
        # "Exception in thread ... RuntimeError: Event loop is closed" (a few runs in 20).
        connection = await asyncio.to_thread(_connect, path)
        db = aiosqlite.Connection(lambda: connection, iter_chunk_size=64)
        try:
            await db  # starts aiosqlite's thread; handing over an open connection cannot fail
        except BaseException:
            connection.close()
            raise
        database = cls(db, connection, path)
        async with closed_on_error(db.close):
            await database._prepare()
        return database

    async def close(self) -> None:
        with suppress(sqlite3.Error):
            await self._session.fetch("PRAGMA optimize")
        await self._db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)

    # -- schema -------------------------------------------------------------------------

    async def _prepare(self) -> None:
        async with self._errors("prepare"):
            await self._session.fetch(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            await self._session.fetch("PRAGMA journal_mode = WAL")
            await self._session.fetch("PRAGMA synchronous = NORMAL")
            # A checkpoint syncs the database file; the near-duplicate band keys dirty a page
            # per key, so with the default (1,000 pages) a first fetch checkpointed every few
            # saves. 10,000 pages (40 MB of WAL) write each hot page back once per many saves.
            await self._session.fetch("PRAGMA wal_autocheckpoint = 10000")
            await self._session.fetch("PRAGMA foreign_keys = ON")
            version = await self._session.fetchval("PRAGMA user_version")
            self.versions = (version, SCHEMA_VERSION)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    self._path,
                    f"database schema {version} is newer than this "
                    f"aggregator understands ({SCHEMA_VERSION}); upgrade aggregator",
                )
            if version == SCHEMA_VERSION:
                return
            fresh = version == 0 and not await self._session.fetchval(
                "SELECT count(*) FROM sqlite_master WHERE name = 'feeds'"
            )
            if fresh:
                schema = resources.files(__package__).joinpath("schema.sql").read_text()
                # One script, one transaction: a killed first run leaves an empty database.
                await self._db.executescript(
                    f"BEGIN IMMEDIATE;\n{schema}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;"
                )
                return
            await self.transaction("upgrade the schema", _upgrade_from(version))

    # -- connections and transactions ---------------------------------------------------

    @asynccontextmanager
    async def read(self, action: str) -> AsyncIterator[Session]:
        async with self._errors(action):
            yield self._session

    async def transaction(self, action: str, work: Work[T]) -> T:
        session, connection = self._in_thread, self._connection

        def whole() -> T:
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = _run_to_end(work(session))
                connection.execute("COMMIT")
            except BaseException:
                # After some errors (disk full, I/O) SQLite has rolled back by itself:
                # ROLLBACK then fails, and must not hide the error that ended the transaction.
                with suppress(sqlite3.OperationalError):
                    connection.execute("ROLLBACK")
                raise
            return result

        async with self._errors(action):
            # aiosqlite has no public call for a function on its thread; _execute is what
            # each of its methods queues there (0.22.1; tests/test_store.py counts its calls).
            return cast(T, await self._db._execute(whole))  # type: ignore[no-untyped-call]

    @asynccontextmanager
    async def _errors(self, action: str) -> AsyncIterator[None]:
        """sqlite3 errors become StoreError naming the database and what failed."""
        try:
            yield
        except sqlite3.Error as e:
            raise StoreError(self._path, f"{action} failed: {e}") from e

    # -- hooks ------------------------------------------------------------------------------

    async def lock_feed(self, db: Session, feed_id: int) -> None:
        """Nothing: ``transaction`` already lets one writer in at a time."""

    async def lock_keys(self, db: Session, articles: Sequence[Article]) -> None:
        """Nothing: ``transaction`` already lets one writer in at a time."""

    async def lock_claims(self, db: Session) -> None:
        """Nothing: ``transaction`` already lets one writer in at a time."""

    async def lock_saves(self, db: Session) -> None:
        """Nothing: ``transaction`` already lets one writer in at a time."""

    async def tidy(self) -> None:
        """Checkpoint the WAL, refresh the planner's statistics."""
        async with self._errors("maintenance"):
            await self._session.fetch("PRAGMA wal_checkpoint(TRUNCATE)")
            await self._session.fetch("PRAGMA optimize")

    def lock_daemon(self) -> bool:
        """One daemon per database: an exclusive lock on ``<database>.daemon.lock``, held until
        the process ends (a SIGKILLed daemon releases it with its file descriptors)."""
        lock_path = self._path + ".daemon.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(
                self._path,
                f"another aggregator daemon is running on this database (lock {lock_path})",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        return True

    async def lead_publisher(self) -> bool:
        """Always: one daemon per SQLite database (lock_daemon) is its only publisher."""
        return True
