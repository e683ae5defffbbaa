"""PostgreSQL's database (asyncpg), for several workers (machines) sharing one database: the
same Store and behaviour as on SQLite.

What changes with many workers, and how each is kept safe:

- **Schema.** Created from postgres_schema.sql on first open under an advisory lock (two
  workers starting at once: one creates, the other waits and finds it). A worker refuses a
  newer schema and an older one too: upgrades run only through ``aggregator migrate``, never
  under running workers' feet.
- **Claiming.** ``claim_due`` leases due feeds (``lease_until`` + ``lease_owner``) with
  ``FOR UPDATE SKIP LOCKED``, one claim at a time (``lock_claims``); only the owner's
  ``save``/``release`` lets a lease go, so a worker whose lease expired cannot free the feed
  from under the worker that took it over.
- **Exactly once.** ``save`` locks the feed's row, then serializes on each incoming article's
  canonical URL, fingerprint and near-duplicate band keys with transaction advisory locks
  before it reads what is known (``lock_feed``, ``lock_keys``; the sequence is explained at
  ``Store.save``). In READ COMMITTED each statement sees what committed before it began, so
  the second of two racing saves waits for the first to commit and then finds its article.
- **One publisher.** ``lead_publisher`` holds a session advisory lock on a connection of its
  own; the server drops it with the session when the process dies.

Times are ``timestamptz``, truncated to milliseconds like SQLite's text times, so both stores
give back equal records. No error or log names the database with its password.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from ...errors import StoreError
from ...models import Article
from .adapter import Database, Session, Work, closed_on_error
from .dsn import display_database, scrub
from .pg_migrations import MIGRATIONS, SCHEMA_VERSION
from .queries import POSTGRES
from .rows import Row

T = TypeVar("T")

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection = PoolConnectionProxy[asyncpg.Record]

POOL_SIZE = 4  # connections per worker; a save holds one for its transaction
COMMAND_TIMEOUT = 60.0  # seconds: a hung server fails the feed instead of hanging the worker
CLOSE_TIMEOUT = 10.0
# Above this many canonical URLs + fingerprints in one save, take the exclusive save lock
# instead of one lock per key: advisory locks fill the server's shared lock table
# (max_locks_per_transaction x max_connections, 6,400 slots by default).
MAX_KEY_LOCKS = 128

_DB_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # e.g. a query on a connection the server has just ended
    OSError,
    TimeoutError,
)


def lock_id(kind: str, value: str) -> int:
    """A 64-bit advisory lock key; ``kind`` keeps URLs, fingerprints and named locks apart."""
    digest = hashlib.blake2b(f"{kind}\0{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_SCHEMA_LOCK = lock_id("lock", "aggregator schema")
_CLAIM_LOCK = lock_id("lock", "aggregator claim")
_SAVE_LOCK = lock_id("lock", "aggregator save")
_PUBLISHER_LOCK = lock_id("lock", "aggregator publisher")


def _same(value: datetime | None) -> datetime | None:
    return value


def _ms(value: datetime) -> datetime:
    """Millisecond precision, as SQLite stores times: both stores give back equal values."""
    return value.astimezone(UTC).replace(microsecond=value.microsecond // 1000 * 1000)


def _parameters(args: Sequence[Any]) -> list[Any]:
    return [_ms(v) if isinstance(v, datetime) else v for v in args]


class _Session(Session):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._conn.fetch(sql, *_parameters(args)))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._conn.fetchval(sql, *_parameters(args))

    async def execute(self, sql: str, *args: Any) -> int:
        return _rowcount(await self._conn.execute(sql, *_parameters(args)))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._conn.executemany(sql, [_parameters(r) for r in rows])


class PostgresDatabase(Database):
    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], url: str) -> None:
        self._pool = pool
        self._url = url
        self._name = display_database(url)
        self._leader: asyncpg.Connection[asyncpg.Record] | None = None
        self._leading = False
        self.versions = (0, SCHEMA_VERSION)
        self.dialect = POSTGRES
        self.to_time = _same

    @classmethod
    async def open(cls, url: str, *, migrate: bool = False) -> PostgresDatabase:
        """Connect and check the schema: a fresh database is created at SCHEMA_VERSION; a
        newer schema is refused, and so is an older one unless ``migrate`` (``aggregator
        migrate``): many workers share the database and none upgrades it on its own."""
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                command_timeout=COMMAND_TIMEOUT,
                server_settings={"application_name": "aggregator"},
            )
        except (*_DB_ERRORS, ValueError) as e:
            # Not "from e": the cause's text would be printed unscrubbed.
            raise StoreError(display_database(url), scrub(f"cannot connect: {e}", url)) from None
        database = cls(pool, url)
        async with closed_on_error(pool.close):
            database.versions = (await database._prepare(migrate), SCHEMA_VERSION)
        return database

    async def close(self) -> None:
        if self._leader is not None:
            with suppress(*_DB_ERRORS):
                await self._leader.close(timeout=5)
            self._leader = None
            self._leading = False
        try:
            await asyncio.wait_for(self._pool.close(), CLOSE_TIMEOUT)
        except TimeoutError:  # a connection still busy: the server rolls its work back
            self._pool.terminate()

    # -- schema -------------------------------------------------------------------------

    async def _prepare(self, migrate: bool) -> int:
        async with self._transaction("prepare") as conn:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
            version = await self._stored_version(conn)
            if version is None:
                schema = resources.files(__package__).joinpath("postgres_schema.sql").read_text()
                await conn.execute(schema)
                await conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', $1)",
                    str(SCHEMA_VERSION),
                )
                return 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    self._name,
                    f"database schema {version} is newer than this "
                    f"aggregator understands ({SCHEMA_VERSION}); upgrade aggregator",
                )
            if version < SCHEMA_VERSION:
                if not migrate:
                    raise StoreError(
                        self._name,
                        f"database schema {version} is older than this aggregator's "
                        f"({SCHEMA_VERSION}): stop the workers and run `aggregator migrate`",
                    )
                for step in range(version, SCHEMA_VERSION):
                    await MIGRATIONS[step](conn)
                await conn.execute(
                    "UPDATE meta SET value = $1 WHERE key = 'schema_version'", str(SCHEMA_VERSION)
                )
            return version

    async def _stored_version(self, conn: Connection) -> int | None:
        """The schema version; None for an empty database (refusing one that holds other
        tables named like ours: it is not an aggregator database)."""
        if await conn.fetchval("SELECT to_regclass('meta') IS NULL"):
            if await conn.fetchval("SELECT to_regclass('feeds') IS NOT NULL"):
                raise StoreError(self._name, "has a feeds table but no meta: not aggregator's")
            return None
        value = await conn.fetchval("SELECT value FROM meta WHERE key = 'schema_version'")
        if value is None or not str(value).isdigit():
            raise StoreError(self._name, "no schema_version in table meta: not aggregator's")
        return int(value)

    # -- connections and transactions ---------------------------------------------------

    @asynccontextmanager
    async def read(self, action: str) -> AsyncIterator[Session]:
        async with self._errors(action), self._pool.acquire() as conn:
            yield _Session(conn)

    async def transaction(self, action: str, work: Work[T]) -> T:
        async with self._transaction(action) as conn:
            return await work(_Session(conn))

    @asynccontextmanager
    async def _transaction(self, action: str) -> AsyncIterator[Connection]:
        async with self._errors(action), self._pool.acquire() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def _errors(self, action: str) -> AsyncIterator[None]:
        """asyncpg and connection errors become StoreError naming the database (password
        masked) and what failed."""
        try:
            yield
        except _DB_ERRORS as e:
            message = f"{action} failed: {e}"
            clean = scrub(message, self._url)
            # A cause is printed after the message: keep it only when it shows no password.
            raise StoreError(self._name, clean) from (e if clean == message else None)

    # -- hooks ------------------------------------------------------------------------------

    async def lock_feed(self, db: Session, feed_id: int) -> None:
        """The feed's row ``FOR UPDATE``: one save per feed at a time."""
        await db.execute("SELECT 1 FROM feeds WHERE id = $1 FOR UPDATE", feed_id)

    async def lock_keys(self, db: Session, articles: Sequence[Article]) -> None:
        """``pg_advisory_xact_lock`` on a 64-bit hash of each canonical URL, fingerprint and
        near-duplicate band key, sorted so that two saves never wait on each other in a cycle.
        Every save also holds the save lock shared; a batch of more than MAX_KEY_LOCKS keys
        takes it exclusive instead (the lock table is finite), which excludes every other
        save."""
        keys = {lock_id("url", a.canonical_url) for a in articles if a.canonical_url}
        keys |= {lock_id("fingerprint", a.fingerprint) for a in articles if a.fingerprint}
        keys |= {lock_id("band", str(key)) for a in articles for key in a.signature}
        if len(keys) > MAX_KEY_LOCKS:
            await db.execute("SELECT pg_advisory_xact_lock($1)", _SAVE_LOCK)
            return
        await db.execute("SELECT pg_advisory_xact_lock_shared($1)", _SAVE_LOCK)
        if keys:
            # unnest yields the array in order: the locks are taken in sorted order.
            await db.execute(
                "SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k",
                sorted(keys),
            )

    async def lock_claims(self, db: Session) -> None:
        """A transaction advisory lock: two workers never count the same free slot."""
        await db.execute("SELECT pg_advisory_xact_lock($1)", _CLAIM_LOCK)

    async def lock_saves(self, db: Session) -> None:
        """The save lock, exclusive: every save holds it shared from its key locks on."""
        await db.execute("SELECT pg_advisory_xact_lock($1)", _SAVE_LOCK)

    async def tidy(self) -> None:
        """Nothing: autovacuum does it."""

    def lock_daemon(self) -> bool:
        """Several daemons on one PostgreSQL database are the point: nothing to refuse (leases
        share the feeds out, ``lead_publisher`` elects the one that writes the outputs)."""
        return False

    async def lead_publisher(self) -> bool:
        """True while this store is the one publisher: a session advisory lock held on a
        connection of its own, kept across calls. Call it before each publishing round; it is
        cheap (one query). The server drops the lock with the session when the process dies
        (or its connection breaks), and the next worker to ask takes over. ``close`` resigns."""
        async with self._errors("elect the publisher"):
            if self._leader is not None:
                try:
                    return await self._hold_or_try_lead()
                except _DB_ERRORS:
                    # The session is gone, and its lock with it: ask again on a new one.
                    self._leader.terminate()
                    self._leader, self._leading = None, False
            self._leader = await asyncpg.connect(
                self._url, server_settings={"application_name": "aggregator publisher"}
            )
            return await self._hold_or_try_lead()

    async def _hold_or_try_lead(self) -> bool:
        assert self._leader is not None
        if self._leading:
            await self._leader.execute("SELECT 1", timeout=10)  # the session, hence the lock
            return True
        self._leading = bool(
            await self._leader.fetchval("SELECT pg_try_advisory_lock($1)", _PUBLISHER_LOCK)
        )
        return self._leading


def _rowcount(status: str) -> int:
    """The row count of a command status such as ``UPDATE 3``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0
