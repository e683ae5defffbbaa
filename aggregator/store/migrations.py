"""Numbered, append-only schema steps: ``MIGRATIONS[n]`` upgrades version n to n + 1.

A fresh database is created from schema.sql at SCHEMA_VERSION directly; add a step here and
the same change to schema.sql together. Never edit a released step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiosqlite

SCHEMA_VERSION = 2

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]


async def _filters(db: aiosqlite.Connection) -> None:
    """1 -> 2: filtered entries are counted; a changed rule re-reads the feed."""
    await db.execute("ALTER TABLE feeds ADD COLUMN rules_hash TEXT NOT NULL DEFAULT ''")
    await db.execute("ALTER TABLE feeds ADD COLUMN filtered INTEGER NOT NULL DEFAULT 0")
    await db.execute("ALTER TABLE fetch_log ADD COLUMN filtered INTEGER NOT NULL DEFAULT 0")


MIGRATIONS: dict[int, Migration] = {1: _filters}
