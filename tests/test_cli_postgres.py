"""The CLI against PostgreSQL: ``fetch``, ``feeds --json`` and ``migrate`` with the database URL
from AGGREGATOR_DATABASE_URL, and the same posts and Atom document as SQLite makes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from server import LoopbackServer, Workspace, serve_fixture_feeds

from aggregator.store import migrations as sqlite
from aggregator.store import pg_migrations as pg

pytestmark = pytest.mark.slow

ATOM_ID = "urn:uuid:00000000-0000-4000-8000-000000000012"


def test_fetch_and_feeds_on_postgresql_match_sqlite(
    loopback: LoopbackServer, tmp_path: Path, postgres_url: str
) -> None:
    feeds = serve_fixture_feeds(loopback)
    on_sqlite, on_postgres = Workspace(tmp_path / "sqlite"), Workspace(tmp_path / "postgres")
    for ws in (on_sqlite, on_postgres):
        ws.root.mkdir()
        ws.write_config(feeds, output={"atom_id": ATOM_ID})
    env = {"AGGREGATOR_DATABASE_URL": postgres_url}

    assert on_sqlite.run("fetch", "--no-progress").returncode == 0
    fetched = on_postgres.run("fetch", "--no-progress", "--json", env=env)
    assert fetched.returncode == 0, fetched.stderr
    summary = json.loads(fetched.stdout)["summary"]
    assert (summary["feeds_ok"], summary["new"], summary["feeds_failed"]) == (4, 8, 0)
    assert not on_postgres.database.exists()  # the URL from the environment won

    assert on_postgres.posts() == on_sqlite.posts() and len(on_postgres.posts()) == 8
    assert on_postgres.atom_path.read_bytes() == on_sqlite.atom_path.read_bytes()

    again = on_postgres.run("fetch", "--no-progress", "--json", env=env)
    assert json.loads(again.stdout)["summary"]["new"] == 0

    listed = on_postgres.run("feeds", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert sorted(rows) == sorted(f["name"] for f in feeds)
    assert all(row["articles"] == 2 and row["last_status"] for row in rows.values())


def test_migrate_creates_then_finds_the_schema_up_to_date(ws: Workspace, database: str) -> None:
    """On either backend (SQLite also upgrades itself on open; ``migrate`` says so)."""
    ws.write_config([])
    env = {"AGGREGATOR_DATABASE_URL": database}
    first, second = ws.run("migrate", env=env), ws.run("migrate", env=env)
    assert first.returncode == second.returncode == 0, first.stderr
    version = pg.SCHEMA_VERSION if "://" in database else sqlite.SCHEMA_VERSION
    assert first.stdout.strip() == f"{database}: created at schema {version}"
    assert second.stdout.strip() == f"{database}: schema {version}, up to date"


def test_a_database_error_exits_4_without_the_password(ws: Workspace, postgres_url: str) -> None:
    ws.write_config([])
    server, _, _ = postgres_url.rpartition("/")
    scheme, _, rest = server.partition("://")
    url = f"{scheme}://{rest.replace('@', ':hunter2@', 1)}/no_such_database"
    done = ws.run("feeds", env={"AGGREGATOR_DATABASE_URL": url})
    assert done.returncode == 4
    assert "does not exist" in done.stderr and "hunter2" not in done.stderr
    assert ":***@" in done.stderr
