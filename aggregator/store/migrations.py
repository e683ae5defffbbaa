"""Numbered, append-only schema steps: ``MIGRATIONS[n]`` upgrades version n to n + 1.

A fresh database is created from schema.sql at SCHEMA_VERSION directly; add a step here and
the same change to schema.sql together. Never edit a released step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiosqlite

SCHEMA_VERSION = 1

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]

MIGRATIONS: dict[int, Migration] = {}
