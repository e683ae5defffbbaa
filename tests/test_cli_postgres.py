"""The CLI against PostgreSQL: ``fetch``, ``feeds --json`` and ``migrate`` with the database URL
from AGGREGATOR_DATABASE_URL, and the same posts and Atom document as SQLite makes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from server import FIXTURE_FEEDS, LoopbackServer, Workspace, serve_fixture_feeds

from aggregator.edges.store import migrations as sqlite
from aggregator.edges.store import pg_migrations as pg

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


def test_commands_leave_publishing_to_the_worker_holding_the_lock(
    loopback: LoopbackServer, ws: Workspace, postgres_url: str
) -> None:
    """Another worker (a store of this test holding the publisher lock) publishes: fetch
    stores and leaves posts pending for it, render queues, prune refuses (exit 4); once the
    lock is free, fetch publishes everything pending."""
    import asyncio

    from aggregator.edges.store import open_store

    feeds = serve_fixture_feeds(loopback)
    ws.write_config(feeds)
    env = {"AGGREGATOR_DATABASE_URL": postgres_url}

    async def hold_lock_while(work: Callable[[], None]) -> None:
        store = await open_store(postgres_url)
        try:
            assert await store.lead_publisher()
            await asyncio.to_thread(work)
        finally:
            await store.close()

    def while_held() -> None:
        fetched = ws.run("fetch", "--no-progress", env=env)
        assert fetched.returncode == 0, fetched.stderr
        assert "publisher lock" in fetched.stderr
        assert ws.posts() == {}, "left for the publisher"
        ws.write_config(feeds[1:])
        pruned = ws.run("prune", feeds[0]["name"], env=env)
        assert pruned.returncode == 4 and "publisher lock" in pruned.stderr

    asyncio.run(hold_lock_while(while_held))
    again = ws.run("fetch", "--no-progress", env=env)
    assert again.returncode == 0, again.stderr
    assert len(ws.posts()) == 8, "the pending posts, written by the next publisher"


def test_fetch_due_claims_feeds_so_concurrent_crons_fetch_each_once(
    loopback: LoopbackServer, tmp_path: Path, postgres_url: str
) -> None:
    feeds = serve_fixture_feeds(loopback)
    env = {"AGGREGATOR_DATABASE_URL": postgres_url}
    machines = [Workspace(tmp_path / name) for name in ("one", "two")]
    for ws in machines:
        ws.root.mkdir()
        ws.write_config(feeds, schedule={"interval": "1h", "min_interval": "1h"})
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aggregator",
                "--config",
                str(ws.config_path),
                "fetch",
                "--due",
                "--no-progress",
            ],
            env=os.environ | env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for ws in machines
    ]
    for run in runs:
        assert run.wait(timeout=60) == 0, run.stderr.read() if run.stderr else ""
    paths = sorted(r.path for r in loopback.requests)
    assert paths == sorted(f"/{f.file}" for f in FIXTURE_FEEDS), "each feed fetched once"
