"""Crash safety of ``aggregator fetch``: SIGKILL at random points of runs over 50 loopback feeds
(before, during and after commits and post writes), then a complete rerun.

After every kill: the database is sound, every article row seen before still exists and every
post file on disk is whole. After the final run: no temp file, posts and rows in sync (one file
per article, none without one), no duplicate row, every article there and current.
(The daemon's kill -9 case is in tests/test_daemon.py.)
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from feeds import rss, rss_item
from posts import front_matter
from server import FeedResource, LoopbackServer, Workspace

from aggregator.steps.normalize import article_id

from .support import (
    TEMP_PREFIX,
    check_post,
    check_posts_in_sync,
    cli,
    cli_env,
    integrity,
    process_tree,
    query,
)

pytestmark = pytest.mark.slow

SEED = 6_2024
FEEDS = 50
KILLS = 10
FIRST_ITEMS, MORE_ITEMS = 12, 4  # items per feed in generation 0, and added per generation
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def story(feed: int, n: int, generation: int) -> tuple[str, str]:
    """(guid, title) of a feed's story n; story 0 is edited in every generation."""
    title = f"feed {feed} story {n}" + (f" edit {generation}" if n == 0 else "")
    return f"crash-{feed}-{n}", title


def document(feed: int, generation: int) -> bytes:
    count = FIRST_ITEMS + MORE_ITEMS * generation
    items = []
    for n in range(count):
        guid, title = story(feed, n, generation)
        when = EPOCH + timedelta(hours=n, minutes=feed)
        items.append(
            rss_item(
                guid,
                title,
                f"https://example.com/crash/{feed}/{n}",
                f"<p>{title}: " + "words " * 200 + "</p>",
                published=when,
            )
        )
    return rss(*items)


def serve(server: LoopbackServer, generation: int) -> None:
    for feed in range(FEEDS):
        server.routes[f"/crash/{feed}.xml"] = FeedResource(document(feed, generation))


def expected(generation: int) -> dict[str, str]:
    """Article id -> the title its post must show after a complete run of ``generation``."""
    out = {}
    for feed in range(FEEDS):
        for n in range(FIRST_ITEMS + MORE_ITEMS * generation):
            guid, title = story(feed, n, generation)
            out[article_id(f"crash-{feed}", "guid:" + guid)] = title
    return out


def configure(ws: Workspace, server: LoopbackServer) -> None:
    ws.write_config(
        [{"name": f"crash-{f}", "url": server.url(f"/crash/{f}.xml")} for f in range(FEEDS)],
        fetch={"retries": 0, "timeout": "10s", "per_host": 16, "concurrency": 16},
    )


def start(ws: Workspace) -> subprocess.Popen[bytes]:
    cwd = ws.root / "cwd"
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        cli(ws, "fetch", "--no-progress"),
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def complete_run(ws: Workspace) -> float:
    started = time.monotonic()
    proc = start(ws)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode(errors="replace")
    return time.monotonic() - started


def kill_after(ws: Workspace, delay: float) -> bool:
    """Start a fetch and SIGKILL it after ``delay`` seconds; False if it finished first."""
    proc = start(ws)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        family = process_tree(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        # Its parser workers notice that their parent is gone and exit by themselves.
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in family[1:]):
            assert time.monotonic() < deadline, "parser workers outlived their killed parent"
            time.sleep(0.05)
        return True
    assert proc.returncode == 0, proc.communicate()[1].decode(errors="replace")
    return False


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().split(b") ")[-1][:1] != b"Z"
    except OSError:
        return False


def whole_posts(ws: Workspace) -> None:
    """Every post file on disk is complete (a temp file may remain until the next run)."""
    if not ws.posts_dir.exists():
        return
    for path in ws.posts_dir.iterdir():
        if not path.name.startswith(TEMP_PREFIX):
            check_post(path.name, path.read_text(encoding="utf-8"))


def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    loopback: LoopbackServer, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    print(f"crash test seed {SEED}")

    # How long a run takes here: the kills are spread over that.
    reference = Workspace(tmp_path / "reference")
    reference.root.mkdir()
    serve(loopback, 1)
    configure(reference, loopback)
    typical = complete_run(reference)

    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    configure(ws, loopback)
    seen: set[str] = set()
    kills = 0
    for generation in range(KILLS):
        serve(loopback, generation)
        delay = rng.uniform(0, typical)
        killed = kill_after(ws, delay)
        kills += killed
        state = "killed" if killed else "finished"
        if not ws.database.exists():
            print(f"generation {generation}: {state} at {delay:.2f}s, no database yet")
            continue
        assert integrity(ws.database) == "ok"
        ids = {r[0] for r in query(ws.database, "SELECT id FROM articles")}
        lost = seen - ids
        assert not lost, f"committed articles lost: {sorted(lost)[:3]}"
        seen |= ids
        files = os.listdir(ws.posts_dir) if ws.posts_dir.exists() else []
        temps = sum(name.startswith(TEMP_PREFIX) for name in files)
        print(
            f"generation {generation}: {state} at {delay:.2f}s of {typical:.2f}s: "
            f"{len(ids)} articles, {len(files) - temps} posts, {temps} temp files"
        )
        whole_posts(ws)
    assert kills >= KILLS // 2, "the runs finished before the kills: widen the window"

    complete_run(ws)
    assert integrity(ws.database) == "ok"
    by_path = check_posts_in_sync(ws)
    want = expected(KILLS - 1)
    ids = set(by_path.values())
    assert seen <= ids, "committed articles lost"
    assert ids == set(want), f"{len(ids)} articles, expected {len(want)}"
    assert query(ws.database, "SELECT count(DISTINCT article_id) FROM entries") == [(len(want),)]
    assert query(
        ws.database,
        "SELECT count(*) FROM entries e LEFT JOIN articles a ON a.id = e.article_id"
        " WHERE a.id IS NULL",
    ) == [(0,)]
    # Every post is whole and shows its article's latest edit.
    for path, article in by_path.items():
        text = (ws.posts_dir / path).read_text(encoding="utf-8")
        check_post(path, text)
        assert front_matter(text)["title"] == want[article], path
    # And a rerun has nothing left to do.
    stamps = ws.stamps()
    complete_run(ws)
    assert ws.stamps() == stamps
