"""I/O: the one storage interface, ``Store``: SQLite (aiosqlite) for one machine, PostgreSQL
(asyncpg) for several workers sharing one database. ``[storage] database`` picks the backend: a
``postgresql://`` URL or a file path.

Nothing outside this package writes SQL. The pipeline talks to ``Store`` only. Inside:
core.py (``Store``, with its methods by concern in feeds.py, articles.py, rendering.py) runs the
SQL of queries.py on a ``Database`` adapter (adapter.py): sqlite.py or postgres.py, which keep
connections, transactions, errors, schema and migrations, and the locks only they need.
"""

from __future__ import annotations

import os

from ...errors import StoreError
from .adapter import Database
from .core import Store
from .dsn import display_database, is_postgres, scheme

__all__ = ["Store", "database_missing", "display_database", "migrate_store", "open_store"]


async def open_store(database: str) -> Store:
    """Open the store named by ``[storage] database``. SQLite is created or migrated on open;
    PostgreSQL is created when empty, and an older schema is refused: ``aggregator migrate``
    upgrades it (many workers share it; none upgrades it under the others)."""
    if is_postgres(database):
        from .postgres import PostgresDatabase  # asyncpg loads only for PostgreSQL users

        return Store(await PostgresDatabase.open(database))
    from .sqlite import SqliteDatabase

    _refuse_unknown_scheme(database)
    return Store(await SqliteDatabase.open(database))


async def migrate_store(database: str) -> tuple[int, int]:
    """``aggregator migrate``: create or upgrade the schema; (version found, version now),
    found 0 when the database was created."""
    opened: Database
    if is_postgres(database):
        from .postgres import PostgresDatabase

        opened = await PostgresDatabase.open(database, migrate=True)
    else:
        from .sqlite import SqliteDatabase

        _refuse_unknown_scheme(database)
        # SQLite upgrades on every open: one machine, no other worker to surprise.
        opened = await SqliteDatabase.open(database)
    await opened.close()
    return opened.versions


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
