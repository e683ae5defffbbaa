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
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from ...errors import StoreError
from ...models import Article
from .adapter import Database, Session, closed_on_error
from .migrations import MIGRATIONS, SCHEMA_VERSION
from .queries import SQLITE
from .rows import Row

_BUSY_TIMEOUT_MS = 10_000

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


class _Session(Session):
    """The one connection; each call is a hop to aiosqlite's thread."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._db.execute_fetchall(sqlite_sql(sql), _parameters(args)))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self._db.execute(sqlite_sql(sql), _parameters(args)) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def execute(self, sql: str, *args: Any) -> int:
        cursor = await self._db.execute(sqlite_sql(sql), _parameters(args))
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._db.executemany(sqlite_sql(sql), [_parameters(r) for r in rows])


class SqliteDatabase(Database):
    """One connection per process; writers take turns (``_write_lock`` here, ``BEGIN
    IMMEDIATE`` across processes), which is what makes save and claim_due exact: the
    locking hooks have nothing left to do."""

    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        self._db = db
        self._session = _Session(db)
        self._path = path
        self._write_lock = asyncio.Lock()
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
        database = cls(db, path)
        async with closed_on_error(db.close):
            await database._prepare()
        return database

    async def close(self) -> None:
        with suppress(sqlite3.Error):
            await self._db.execute("PRAGMA optimize")
        await self._db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)

    # -- schema -------------------------------------------------------------------------

    async def _prepare(self) -> None:
        async with self._errors("prepare"):
            await self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            await self._db.execute("PRAGMA journal_mode = WAL")
            await self._db.execute("PRAGMA synchronous = NORMAL")
            # A checkpoint syncs the database file; the near-duplicate band keys dirty a page
            # per key, so with the default (1,000 pages) a first fetch checkpointed every few
            # saves. 10,000 pages (40 MB of WAL) write each hot page back once per many saves.
            await self._db.execute("PRAGMA wal_autocheckpoint = 10000")
            await self._db.execute("PRAGMA foreign_keys = ON")
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
            async with self._transaction():
                for step in range(version, SCHEMA_VERSION):
                    await MIGRATIONS[step](self._db)
                await self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- connections and transactions ---------------------------------------------------

    @asynccontextmanager
    async def read(self, action: str) -> AsyncIterator[Session]:
        async with self._errors(action):
            yield self._session

    @asynccontextmanager
    async def write(self, action: str) -> AsyncIterator[Session]:
        async with self._write_lock, self._errors(action), self._transaction():
            yield self._session

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        try:
            # Inside the try: a task cancelled while it waits for BEGIN has still begun the
            # transaction in aiosqlite's thread, which runs the ROLLBACK queued after it.
            await self._db.execute("BEGIN IMMEDIATE")
            yield
        except BaseException:
            # After some errors (disk full, I/O) SQLite has rolled back by itself: ROLLBACK
            # then fails, and must not hide the error that ended the transaction.
            with suppress(sqlite3.OperationalError):
                await self._db.execute("ROLLBACK")
            raise
        await self._db.execute("COMMIT")

    @asynccontextmanager
    async def _errors(self, action: str) -> AsyncIterator[None]:
        """sqlite3 errors become StoreError naming the database and what failed."""
        try:
            yield
        except sqlite3.Error as e:
            raise StoreError(self._path, f"{action} failed: {e}") from e

    # -- hooks ------------------------------------------------------------------------------

    async def lock_feed(self, db: Session, feed_id: int) -> None:
        """Nothing: ``write`` already lets one writer in at a time."""

    async def lock_keys(self, db: Session, articles: Sequence[Article]) -> None:
        """Nothing: ``write`` already lets one writer in at a time."""

    async def lock_claims(self, db: Session) -> None:
        """Nothing: ``write`` already lets one writer in at a time."""

    async def tidy(self) -> None:
        """Checkpoint the WAL, refresh the planner's statistics."""
        async with self._write_lock, self._errors("maintenance"):
            await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            await self._db.execute("PRAGMA optimize")

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
