"""PostgreSQL's numbered, append-only schema steps: ``MIGRATIONS[n]`` upgrades version n to n + 1.

A fresh database is created from postgres_schema.sql at SCHEMA_VERSION directly; add a step
here and the same change to postgres_schema.sql together. Never edit a released step. The
version is the ``meta`` row ``schema_version``. Every step runs inside the one transaction that
also moves the version (PostgreSQL's DDL is transactional): a failed upgrade changes nothing.

Steps run only through ``aggregator migrate``: with many workers on one database, a worker
never upgrades the schema under the others' feet (see PostgresStore.open).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

SCHEMA_VERSION = 1

Migration = Callable[[Any], Awaitable[None]]  # called with an asyncpg connection

MIGRATIONS: dict[int, Migration] = {}
