"""The environment refuses: disk full, a read-only output folder, a database locked by another
process or out of room. Faults are injected at the output and store boundaries of an in-process
``cli.main`` (the tests run as root, so permissions would not stop anything). Each must end in
exit code 4 with a message naming the path, leave no temp or half-written file, and lose nothing
already stored; the next run, with the fault gone, completes.
"""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import pytest
from feeds import rss
from server import FeedResource, LoopbackServer, Reply, Request, Workspace, running_server

import aggregator.edges.files
import aggregator.edges.store.sqlite
from aggregator import cli

from .corpus import good_items
from .support import check_post, check_posts_in_sync, integrity, query

pytestmark = pytest.mark.slow

REFUSED = 4


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def ws(tmp_path: Path, loopback: LoopbackServer) -> Workspace:
    """Two feeds fetched once already: the state that must survive the faults."""
    ws = Workspace(tmp_path)
    serve(loopback, "first", 3)
    serve(loopback, "second", 3)
    configure(ws, loopback, ["first", "second"])
    assert fetch(ws) == (0, "")
    return ws


def serve(server: LoopbackServer, name: str, count: int) -> None:
    server.routes[f"/{name}.xml"] = FeedResource(rss(*good_items(name, count)))


def configure(ws: Workspace, server: LoopbackServer, names: list[str]) -> None:
    ws.write_config(
        [{"name": n, "url": server.url(f"/{n}.xml")} for n in names],
        fetch={"retries": 0, "timeout": "10s"},
    )


def fetch(ws: Workspace) -> tuple[int, str]:
    """``aggregator fetch`` in this process: (exit code, the 'aggregator:' error line)."""
    err = io.StringIO()
    with redirect_stderr(err):
        code = cli.main(["--config", str(ws.config_path), "fetch", "--no-progress"])
    lines = [line for line in err.getvalue().splitlines() if line.startswith("aggregator: ")]
    return code, "\n".join(lines)


def snapshot(ws: Workspace) -> tuple[list[tuple[Any, ...]], dict[str, bytes]]:
    return query(ws.database, "SELECT * FROM articles ORDER BY id"), ws.posts()


def assert_nothing_lost(
    ws: Workspace, before: tuple[list[tuple[Any, ...]], dict[str, bytes]]
) -> None:
    """The rows and posts of before are all still there, byte for byte; every post is whole;
    no temp file is left."""
    rows, posts = before
    assert integrity(ws.database) == "ok"
    now = {r[0]: r for r in query(ws.database, "SELECT * FROM articles ORDER BY id")}
    for row in rows:
        assert now.get(row[0]) == row, f"article {row[0]} lost or changed"
    temps = [p for p in (ws.root / "data").rglob("*") if p.name.startswith(".")]
    assert not temps, f"temp files left behind: {temps}"
    current = ws.posts()
    for name, data in posts.items():
        assert current.get(name) == data, f"post {name} lost or changed"
    for name, data in current.items():
        check_post(name, data.decode("utf-8"))


def recovers(ws: Workspace) -> None:
    assert fetch(ws) == (0, "")
    check_posts_in_sync(ws)
    assert integrity(ws.database) == "ok"


class FullDisk:
    """``os`` as aggregator.edges.files sees it, except that writes fail with ENOSPC once ``room``
    bytes were written (the file keeps what fitted, as on a real full disk)."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.failures = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def write(self, fd: int, data: Any) -> int:
        if self.room <= 0:
            self.failures += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = os.write(fd, bytes(data[: self.room]))
        self.room -= written
        return written


class ReadOnly:
    """``os`` as aggregator.edges.files sees it on a read-only file system: nothing created."""

    def __init__(self) -> None:
        self.failures = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def open(self, path: Any, flags: int, *args: Any) -> int:
        if flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR):
            self.failures += 1
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return os.open(path, flags, *args)


def test_disk_full_while_writing_posts(
    ws: Workspace, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(ws)
    serve(loopback, "third", 5)
    configure(ws, loopback, ["first", "second", "third"])
    disk = FullDisk(room=700)  # two new posts fit, the third is cut short
    monkeypatch.setattr(aggregator.edges.files, "os", disk)

    code, message = fetch(ws)

    assert disk.failures
    assert code == REFUSED, message
    assert "disk full" in message and str(ws.root / "data") in message, message
    assert_nothing_lost(ws, before)
    monkeypatch.undo()
    recovers(ws)
    assert len(ws.posts()) == 11


def test_read_only_output_folder(
    ws: Workspace, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(ws)
    serve(loopback, "first", 5)  # two new stories
    disk = ReadOnly()
    monkeypatch.setattr(aggregator.edges.files, "os", disk)

    code, message = fetch(ws)

    assert disk.failures
    assert code == REFUSED, message
    assert "read-only file system" in message and str(ws.posts_dir) in message, message
    assert_nothing_lost(ws, before)
    monkeypatch.undo()
    recovers(ws)
    assert len(ws.posts()) == 8


class LockHolder:
    """Another process that takes an exclusive lock on the database when told to."""

    def __init__(self, database: Path) -> None:
        script = (
            "import sqlite3, sys\n"
            f"db = sqlite3.connect({str(database)!r}, isolation_level=None)\n"
            "for line in sys.stdin:\n"
            "    db.execute('BEGIN EXCLUSIVE' if line.strip() == 'lock' else 'ROLLBACK')\n"
            "    print('done', flush=True)\n"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._lock = threading.Lock()

    def send(self, command: str) -> None:
        assert self.proc.stdin and self.proc.stdout
        with self._lock:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
            assert self.proc.stdout.readline().strip() == "done"

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.mark.parametrize("when", ["before the run", "during the run"])
def test_database_locked_by_another_process(
    ws: Workspace, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    before = snapshot(ws)
    serve(loopback, "first", 5)
    serve(loopback, "second", 5)
    holder = LockHolder(ws.database)
    # Half a second of waiting for the lock instead of ten: this process runs the CLI.
    monkeypatch.setattr(aggregator.edges.store.sqlite, "_BUSY_TIMEOUT_MS", 500)
    try:
        if when == "before the run":
            holder.send("lock")
        else:
            feed = loopback.routes["/second.xml"]

            def lock_then_answer(request: Request) -> Reply:
                holder.send("lock")  # 'first' may have been stored already; 'second' cannot
                return feed(request)

            loopback.routes["/second.xml"] = lock_then_answer

        code, message = fetch(ws)

        assert code == REFUSED, message
        assert "database is locked" in message and str(ws.database) in message, message
    finally:
        holder.close()
    loopback.routes["/second.xml"] = FeedResource(rss(*good_items("second", 5)))
    assert_nothing_lost(ws, before)
    monkeypatch.undo()
    recovers(ws)
    assert len(ws.posts()) == 10


def test_database_out_of_room(
    ws: Workspace, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own 'database or disk is full', from a page limit on the store's connection."""
    before = snapshot(ws)
    serve(loopback, "first", 60)
    pages = query(ws.database, "PRAGMA page_count")[0][0]
    prepare = aggregator.edges.store.sqlite.SqliteDatabase._prepare

    async def prepare_with_limit(self: Any) -> None:
        await prepare(self)
        await self._db.execute(f"PRAGMA max_page_count = {pages + 2}")

    monkeypatch.setattr(
        aggregator.edges.store.sqlite.SqliteDatabase, "_prepare", prepare_with_limit
    )

    code, message = fetch(ws)

    assert code == REFUSED, message
    assert "database or disk is full" in message and str(ws.database) in message, message
    assert_nothing_lost(ws, before)
    monkeypatch.undo()
    recovers(ws)
    assert len(ws.posts()) == 63
