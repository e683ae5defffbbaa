"""``aggregator run`` end to end: the real daemon in a subprocess against a real HTTP server on
127.0.0.1 (tests/server.py). Each test owns its server, data folder, config and daemons; every
daemon is stopped (SIGTERM, then SIGKILL) when its test ends.

No fixed sleeps: tests wait for events with ``wait_until``. To prove that something did *not*
happen, a test waits for a positive event that takes long enough (another feed fetched a few
more times) and then counts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, suppress
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest
from feeds import rss, rss_item
from server import (
    FeedResource,
    LoopbackServer,
    Reply,
    Request,
    Workspace,
    in_turn,
    status,
    wait_until,
)

pytestmark = pytest.mark.slow

T = TypeVar("T")
TEMP_PREFIX = ".aggregator-tmp-"
STOP_TIMEOUT = 15.0  # seconds a daemon gets to exit after SIGTERM before SIGKILL

# Fast rhythm: 1 s checks, a 0.3 s tick, no retries, a fixed schedule unless a test says so.
SCHEDULE: dict[str, object] = {
    "interval": "1s",
    "min_interval": "1s",
    "max_interval": "4s",
    "adaptive": False,
    "tick": "0.3s",
}


# -- the daemon process -------------------------------------------------------------------


class Daemon:
    """One ``aggregator run`` subprocess; its stdout and stderr go to a log file."""

    def __init__(self, ws: Workspace, log_path: Path) -> None:
        self.ws = ws
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}
        cwd = ws.root / "cwd"
        cwd.mkdir(exist_ok=True)
        self._log: IO[bytes] = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "--config", str(ws.config_path), "run"],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait_for(self, predicate: Callable[[], T], timeout: float, what: str) -> T:
        """``wait_until`` that also fails at once when the daemon dies, showing its log."""

        def check() -> T:
            value = predicate()
            if not value and not self.running():
                raise AssertionError(
                    f"the daemon exited ({self.proc.returncode}) while waiting for {what}:\n"
                    + self.log()[-4000:]
                )
            return value

        return wait_until(
            check, timeout, message=lambda: f"{what}; daemon log:\n{self.log()[-4000:]}"
        )

    def wait_started(self) -> None:
        """Signal handlers are installed once the daemon says it started."""
        self.wait_for(lambda: "daemon started" in self.log(), 20, "the daemon to start")

    def send(self, sig: signal.Signals) -> None:
        if self.running():
            self.proc.send_signal(sig)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait, then SIGKILL: the exit code (negative: killed by that signal)."""
        try:
            self.send(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=timeout)
                if code != 0:  # shown with the failing test's output
                    print(f"daemon exited {code}:\n{self.log()[-4000:]}")
                return code
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
                raise AssertionError(
                    f"the daemon ignored SIGTERM for {timeout:g}s:\n{self.log()[-4000:]}"
                ) from None
        finally:
            self._log.close()

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind."""
        self.proc.kill()
        self.proc.wait(timeout=STOP_TIMEOUT)
        self._log.close()


@pytest.fixture
def start_daemon(ws: Workspace, tmp_path: Path) -> Iterator[Callable[[], Daemon]]:
    """Start daemons on ``ws``; whatever still runs at the end of the test is stopped."""
    started: list[Daemon] = []

    def start() -> Daemon:
        daemon = Daemon(ws, tmp_path / f"daemon-{len(started) + 1}.log")
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.running():
            with suppress(AssertionError):  # killed; the test itself reports what went wrong
                daemon.stop()
        else:
            daemon._log.close()


# -- feeds, config and the database -------------------------------------------------------


def item(guid: str, title: str | None = None, date: datetime | None = None) -> str:
    """An RSS item whose link and text follow from its guid and title."""
    title = title or f"Story {guid}"
    link = f"https://daemon.example.org/{guid}"
    return rss_item(guid, title, link, f"<p>{title} body.</p>", published=date)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A workspace whose configs have the fast rhythm: ``SCHEDULE``, Atom every second, no
    retries (a test's own values go on top)."""
    fetch = {"retries": 0, "max_retry_wait": "2s", "timeout": "10s"}
    defaults = {"schedule": SCHEDULE, "output": {"atom_every": "1s"}, "fetch": fetch}
    return Workspace(tmp_path, defaults)


def post_files(ws: Workspace) -> list[str]:
    if not ws.posts_dir.exists():
        return []
    return sorted(n for n in os.listdir(ws.posts_dir) if n.endswith(".md") and n[0] != ".")


def query(ws: Workspace, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
    """Rows, or none while the daemon has not yet created the database (never creates it)."""
    if not ws.database.exists():
        return []
    with closing(sqlite3.connect(ws.database)) as db:
        db.row_factory = sqlite3.Row
        try:
            return list(db.execute(sql, params))
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):  # the schema is still being created
                return []
            raise


def feed_row(ws: Workspace, name: str) -> dict[str, Any]:
    rows = query(ws, "SELECT * FROM feeds WHERE name = ?", (name,))
    return dict(rows[0]) if rows else {}


def article_titles(ws: Workspace) -> set[str]:
    return {r["title"] for r in query(ws, "SELECT title FROM articles")}


def count(ws: Workspace, sql: str) -> int:
    return len(query(ws, sql))


def requested(loopback: LoopbackServer, path: str) -> int:
    return len(loopback.requests_for(path))


def gaps(times: Sequence[float]) -> list[float]:
    return [b - a for a, b in pairwise(times)]


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Switch:
    """A route whose handler the test swaps while the daemon runs."""

    def __init__(self, handler: Callable[[Request], Reply]) -> None:
        self.handler = handler
        self.served: list[tuple[float, int]] = []  # (monotonic time, status)

    def __call__(self, request: Request) -> Reply:
        reply = self.handler(request)
        self.served.append((request.at, reply.status))
        return reply


def processes_of(ws: Workspace) -> list[int]:
    """Live processes started for this workspace: the daemon and its parser workers run in
    its working folder (the daemon's command line also names its config). Linux /proc;
    elsewhere none are found."""
    root = str(ws.root)
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile, or not ours to look at
        if cwd.startswith(root) or root.encode() in cmdline:
            found.append(int(entry.name))
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status), response.read().decode()
    except OSError:
        return None


# -- 1. the rhythm ------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_feeds_are_fetched_on_schedule_and_a_new_item_is_picked_up(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon]
) -> None:
    news = FeedResource(rss(item("n-1", "First news")))
    loopback.routes["/news.xml"] = news
    ws.write_config([loopback.feed("News", "/news.xml")], schedule={"interval": "2s"})

    daemon = start_daemon()
    daemon.wait_for(lambda: len(post_files(ws)) == 1, 15, "the first post")
    news.body = rss(item("n-2", "Second news"), item("n-1", "First news"))
    daemon.wait_for(lambda: len(post_files(ws)) == 2, 15, "the new item's post")
    daemon.wait_for(lambda: requested(loopback, "/news.xml") >= 5, 15, "5 fetches in all")

    assert daemon.stop() == 0
    assert article_titles(ws) == {"First news", "Second news"}
    assert any("Second news" in (ws.posts_dir / n).read_text() for n in post_files(ws))
    # Every 2 s (+-10 % jitter, +-1 s of whole-second bookkeeping, a 0.3 s tick): never a
    # burst, never a long pause.
    intervals = gaps([r.at for r in loopback.requests_for("/news.xml")])
    assert all(0.6 <= g <= 3.8 for g in intervals), intervals
    assert 1.2 <= sum(intervals) / len(intervals) <= 2.8, intervals


def published(log: str) -> list[tuple[int, int, bool]]:
    """(added, updated, feeds_changed) of each ``published`` log line."""
    found = re.findall(r" published added=(\d+) updated=(\d+) feeds_changed=(True|False)", log)
    return [(int(a), int(u), f == "True") for a, u, f in found]


def test_the_daemon_logs_each_publishing_round_once(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon]
) -> None:
    news = FeedResource(rss(item("p-1", "First")))
    loopback.routes["/news.xml"] = news
    ws.write_config([loopback.feed("News", "/news.xml")])

    daemon = start_daemon()
    daemon.wait_for(lambda: sum(a for a, _, _ in published(daemon.log())) == 1, 15, "post 1")
    daemon.wait_for(lambda: any(f for _, _, f in published(daemon.log())), 15, "Atom logged")
    news.body = rss(item("p-2", "Second"), item("p-1", "First"))
    daemon.wait_for(lambda: sum(a for a, _, _ in published(daemon.log())) == 2, 15, "post 2")
    assert daemon.stop() == 0

    rounds = published(daemon.log())
    assert len(post_files(ws)) == 2
    assert sum(a for a, _, _ in rounds) == 2, "each post written is logged once"
    assert all(a or u or f for a, u, f in rounds), "a round that wrote nothing says nothing"
    assert "HTTP Request" not in daemon.log()


DUE_NOW = (  # times are stored as 2026-01-01T00:00:00.000+00:00
    "SELECT count(*) FROM feeds WHERE next_check_at <= strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"
)


def test_freed_slots_are_filled_before_the_next_tick(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon]
) -> None:
    """concurrency = 2 and a 60 s tick: claiming only on ticks, 8 due feeds would take four
    ticks (three minutes); claiming again as slots free up, they are fetched at once."""
    feeds = [(f"F{i}", f"/f{i}.xml") for i in range(8)]
    for i, (_, path) in enumerate(feeds):
        loopback.routes[path] = FeedResource(rss(item(f"r-{i}", f"Story {i}")))
    tables = [loopback.feed(*f) for f in feeds]
    ws.write_config(tables, schedule={"tick": "60s"}, fetch={"concurrency": 2})
    assert ws.fetch().returncode == 0  # scheduled: due again a second later
    wait_until(lambda: ws.query(DUE_NOW) == [(8,)], 10, message="every feed due")
    loopback.clear_log()
    daemon = start_daemon()
    daemon.wait_for(
        lambda: all(requested(loopback, path) for _, path in feeds), 20, "every feed fetched"
    )
    assert daemon.stop() == 0


# -- 2. backoff and recovery --------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_failing_feed_backs_off_and_recovers(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon]
) -> None:
    healthy = FeedResource(rss(item("f-1", "Before the outage")), validators=False)
    route = Switch(healthy)
    loopback.routes["/flaky.xml"] = route
    ws.write_config([loopback.feed("Flaky", "/flaky.xml")], schedule={"max_interval": "4s"})

    daemon = start_daemon()
    daemon.wait_for(lambda: len(post_files(ws)) == 1, 15, "the first post")
    route.handler = status(500)

    def failures() -> list[float]:
        return [at for at, code in route.served if code == 500]

    daemon.wait_for(lambda: len(failures()) >= 4, 30, "4 failed fetches")
    # 1 s, then 2 s, then 4 s (the cap) after the 1st, 2nd and 3rd failure; each +-1 s of
    # whole-second bookkeeping and a 0.3 s tick.
    first, second, third = gaps(failures()[:4])
    assert first <= 2.5 <= third and second <= 3.6, (first, second, third)
    row = feed_row(ws, "Flaky")
    assert row["error_count"] >= 3 and row["last_status"] == "failed"
    assert row["schedule_reason"] == "backoff"

    route.handler = FeedResource(
        rss(item("f-2", "After the outage"), item("f-1", "Before the outage")), validators=False
    )
    daemon.wait_for(lambda: len(post_files(ws)) == 2, 15, "the post after recovery")
    daemon.wait_for(lambda: feed_row(ws, "Flaky")["error_count"] == 0, 5, "error_count back to 0")
    row = feed_row(ws, "Flaky")
    assert row["last_status"] == "ok" and row["disabled_reason"] is None
    assert row["schedule_reason"] == "fixed"
    assert daemon.stop() == 0


# -- 3. 410 Gone --------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_410_disables_the_feed_and_enable_brings_it_back(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon]
) -> None:
    loopback.routes["/clock.xml"] = FeedResource(rss(item("c-1", "Clock")))
    gone = Switch(status(410))
    loopback.routes["/gone.xml"] = gone
    ws.write_config([loopback.feed("Clock", "/clock.xml"), loopback.feed("Gone", "/gone.xml")])

    daemon = start_daemon()
    daemon.wait_for(
        lambda: feed_row(ws, "Gone").get("disabled_reason") == "gone", 15, "Gone disabled"
    )
    ticks = requested(loopback, "/clock.xml")
    daemon.wait_for(
        lambda: requested(loopback, "/clock.xml") >= ticks + 4, 15, "4 more Clock fetches"
    )
    assert requested(loopback, "/gone.xml") == 1
    listing = ws.run("feeds")
    assert listing.returncode == 0, listing.stderr
    (line,) = [ln for ln in listing.stdout.splitlines() if ln.startswith("Gone ")]
    assert "disabled (gone)" in line

    gone.handler = FeedResource(rss(item("g-1", "Not gone after all")))
    enabled = ws.run("enable", "Gone")
    assert enabled.returncode == 0, enabled.stderr

    daemon.wait_for(lambda: requested(loopback, "/gone.xml") >= 2, 10, "Gone fetched again")
    daemon.wait_for(lambda: "Not gone after all" in article_titles(ws), 10, "Gone's article stored")
    row = feed_row(ws, "Gone")
    assert row["disabled_reason"] is None and row["last_status"] == "ok"
    assert daemon.stop() == 0


# -- 4. publisher hints -------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_retry_after_and_ttl_are_respected(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon]
) -> None:
    loopback.routes["/busy.xml"] = in_turn(
        status(429, retry_after="3"), FeedResource(rss(item("b-1", "Busy no more")))
    )
    loopback.routes["/ttl.xml"] = FeedResource(rss(item("t-1", "Hourly-ish"), head="<ttl>1</ttl>"))
    ws.write_config(
        [loopback.feed("Busy", "/busy.xml"), loopback.feed("Ttl", "/ttl.xml")],
        schedule={"max_interval": "10m"},
    )

    daemon = start_daemon()
    daemon.wait_for(lambda: requested(loopback, "/busy.xml") >= 3, 20, "Busy fetched 3 times")

    first, second, third = loopback.requests_for("/busy.xml")[:3]
    # Retry-After: 3 (longer than max_retry_wait, so the feed was deferred) wins over the 1 s
    # interval; afterwards the interval is back.
    assert second.at - first.at >= 2.95, second.at - first.at
    assert third.at - second.at < 2.5, third.at - second.at
    log = ws.query("SELECT status FROM fetch_log ORDER BY id")
    assert ("deferred",) in log and ("failed",) not in log

    # <ttl>1</ttl>: not again within a minute, whatever the 1 s interval says.
    assert requested(loopback, "/ttl.xml") == 1
    row = feed_row(ws, "Ttl")
    wait = parse_time(row["next_check_at"]) - parse_time(row["last_fetch_at"])
    assert wait >= timedelta(seconds=59), wait
    assert row["schedule_reason"] == "publisher hint"
    listing = ws.run("feeds")
    assert listing.returncode == 0, listing.stderr
    (line,) = [ln for ln in listing.stdout.splitlines() if ln.startswith("Ttl ")]
    assert line.endswith("publisher hint")
    assert daemon.stop() == 0


# -- 5. SIGTERM during a fetch ------------------------------------------------------------


@pytest.mark.timeout(60)
def test_sigterm_mid_fetch_exits_0_with_everything_committed(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon]
) -> None:
    arrived = threading.Event()
    slow_feed = FeedResource(rss(item("s-1", "Worth the wait")))

    def slow(request: Request) -> Reply:
        arrived.set()
        time.sleep(1.5)  # the server is slow: the daemon is mid-fetch meanwhile
        return slow_feed(request)

    loopback.routes["/slow.xml"] = slow
    ws.write_config([loopback.feed("Slow", "/slow.xml")])

    daemon = start_daemon()
    daemon.wait_started()
    daemon.wait_for(arrived.is_set, 15, "the slow request")
    daemon.send(signal.SIGTERM)
    assert daemon.proc.wait(timeout=STOP_TIMEOUT) == 0, daemon.log()

    assert "daemon stopped" in daemon.log()
    assert article_titles(ws) == {"Worth the wait"}
    (post,) = post_files(ws)
    assert "Worth the wait" in (ws.posts_dir / post).read_text()
    assert feed_row(ws, "Slow")["last_status"] == "ok"
    assert requested(loopback, "/slow.xml") == 1


# -- 6. SIGHUP ----------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_sighup_adds_and_removes_feeds_and_survives_a_broken_config(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon]
) -> None:
    for path in ("/keep.xml", "/drop.xml", "/add.xml"):
        loopback.routes[path] = FeedResource(rss(item(path, f"From {path}")))
    ws.write_config([loopback.feed("Keep", "/keep.xml"), loopback.feed("Drop", "/drop.xml")])

    daemon = start_daemon()
    daemon.wait_started()
    daemon.wait_for(
        lambda: requested(loopback, "/keep.xml") and requested(loopback, "/drop.xml"),
        15,
        "Keep and Drop fetched",
    )
    ws.write_config([loopback.feed("Keep", "/keep.xml"), loopback.feed("Add", "/add.xml")])
    daemon.send(signal.SIGHUP)
    daemon.wait_for(lambda: "reloaded" in daemon.log(), 10, "the reload")
    daemon.wait_for(lambda: requested(loopback, "/add.xml"), 10, "Add fetched")
    dropped = requested(loopback, "/drop.xml")
    kept = requested(loopback, "/keep.xml")
    daemon.wait_for(lambda: requested(loopback, "/keep.xml") >= kept + 3, 15, "Keep fetched")
    assert requested(loopback, "/drop.xml") == dropped
    assert "From /add.xml" in article_titles(ws)

    ws.config_path.write_text("[schedule\ninterval = ", encoding="utf-8")
    daemon.send(signal.SIGHUP)
    daemon.wait_for(lambda: "reload refused" in daemon.log(), 10, "the refused reload")
    kept, added = requested(loopback, "/keep.xml"), requested(loopback, "/add.xml")
    daemon.wait_for(
        lambda: (
            requested(loopback, "/keep.xml") >= kept + 3
            and requested(loopback, "/add.xml") >= added + 3
        ),
        15,
        "Keep and Add still fetched",
    )
    assert requested(loopback, "/drop.xml") == dropped
    assert daemon.running()
    assert daemon.stop() == 0


# -- 7. restart ---------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_restart_resumes_next_check_times_instead_of_refetching(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon]
) -> None:
    loopback.routes["/clock.xml"] = FeedResource(rss(item("c-1", "Clock")))
    loopback.routes["/hourly.xml"] = FeedResource(rss(item("h-1", "Hourly")))
    ws.write_config(
        [
            loopback.feed("Clock", "/clock.xml"),
            loopback.feed("Hourly", "/hourly.xml", interval="1h"),
        ],
        schedule={"max_interval": "1d"},
    )

    first = start_daemon()
    first.wait_for(lambda: feed_row(ws, "Hourly").get("last_fetch_at"), 15, "Hourly fetched once")
    assert first.stop() == 0
    assert requested(loopback, "/hourly.xml") == 1
    row = feed_row(ws, "Hourly")
    assert parse_time(row["next_check_at"]) - parse_time(row["last_fetch_at"]) >= timedelta(
        minutes=50
    )

    ticks = requested(loopback, "/clock.xml")
    second = start_daemon()
    second.wait_for(lambda: requested(loopback, "/clock.xml") >= ticks + 4, 15, "4 Clock fetches")
    assert requested(loopback, "/hourly.xml") == 1
    assert second.stop() == 0


# -- 8. one daemon per database -----------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_second_daemon_is_refused_while_feeds_and_fetch_still_work(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon]
) -> None:
    loopback.routes["/one.xml"] = FeedResource(rss(item("o-1", "Only one")))
    ws.write_config([loopback.feed("One", "/one.xml")])

    daemon = start_daemon()
    daemon.wait_started()

    second = ws.run("run")
    assert second.returncode == 4, second.stderr
    assert "another aggregator daemon" in second.stderr
    listing = ws.run("feeds")
    assert listing.returncode == 0, listing.stderr
    assert "One" in listing.stdout
    fetched = ws.fetch()
    assert fetched.returncode == 0, fetched.stderr
    assert "Only one" in article_titles(ws)

    assert daemon.running()
    assert daemon.stop() == 0


# -- 9. kill -9 ---------------------------------------------------------------------------


@pytest.mark.timeout(90)
def test_kill_9_then_restart_loses_nothing_and_duplicates_nothing(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon]
) -> None:
    seed = random.randrange(2**32)
    rand = random.Random(seed)
    print(f"seed={seed}")  # shown when the test fails
    names = ("Alpha", "Beta", "Gamma")
    resources = {name: FeedResource(b"") for name in names}
    served: set[str] = set()

    def serve(count: int) -> None:
        for name, resource in resources.items():
            entries = [item(f"{name}-{n}", f"{name} story {n}") for n in range(count)]
            served.update(f"{name}-{n}" for n in range(count))
            resource.body = rss(*reversed(entries))

    for name, resource in resources.items():
        loopback.routes[f"/{name}.xml"] = resource
    ws.write_config([loopback.feed(name, f"/{name}.xml") for name in names])

    # Killed right after the first posts appear.
    serve(6)
    first = start_daemon()
    first.wait_for(lambda: post_files(ws), 15, "the first posts")
    first.kill()

    # Killed again at a random early point: at start, or after the n-th request.
    serve(9)
    loopback.clear_log()
    second = start_daemon()
    after = rand.randrange(0, 4)
    second.wait_for(lambda: len(loopback.requests) >= after, 15, f"{after} requests")
    second.kill()

    # Then a clean run: everything served so far ends up stored once, with one post each.
    serve(12)
    loopback.clear_log()
    third = start_daemon()

    def complete() -> bool:
        return (
            all(requested(loopback, f"/{n}.xml") for n in names)
            and count(ws, "SELECT id FROM articles") == len(served)
            and len(post_files(ws)) == len(served)
        )

    third.wait_for(complete, 30, f"{len(served)} articles and posts")
    assert third.stop() == 0

    assert ws.query("PRAGMA integrity_check") == [("ok",)]
    rows = ws.query("SELECT title, post_path FROM articles")
    assert len(rows) == len(served) == 36
    assert {title for title, _ in rows} == {f"{n} story {i}" for n in names for i in range(12)}
    listing = os.listdir(ws.posts_dir)
    assert not [n for n in listing if n.startswith(TEMP_PREFIX)], listing
    assert sorted(post for _, post in rows) == post_files(ws)
    assert all((ws.posts_dir / post).is_file() for _, post in rows)
    # The killed daemons' parser workers went with them.
    wait_until(lambda: not processes_of(ws), 10, message="no process left behind")


# -- 10. retention ------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_retention_removes_old_articles_and_they_do_not_come_back(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon]
) -> None:
    old = item("old", "From 2020", datetime(2020, 3, 1, 12, 0, tzinfo=UTC))
    recent = item("recent", "From today", datetime.now(UTC) - timedelta(minutes=5))
    fetches = 0

    def document(request: Request) -> Reply:
        # The same entries, but bytes that differ each time: every fetch is parsed again.
        nonlocal fetches
        fetches += 1
        extra = f"<description>fetch {fetches}</description>"
        body = rss(recent, old, head=extra)
        return Reply(200, body, {"Content-Type": "application/rss+xml"})

    loopback.routes["/mixed.xml"] = document
    ws.write_config([loopback.feed("Mixed", "/mixed.xml")], storage={"keep_days": 1})

    daemon = start_daemon()
    daemon.wait_for(lambda: "retention removed articles=1" in daemon.log(), 15, "retention to run")
    daemon.wait_for(
        lambda: article_titles(ws) == {"From today"} and len(post_files(ws)) == 1,
        10,
        "only the recent article and its post",
    )
    (post,) = post_files(ws)
    assert "From today" in (ws.posts_dir / post).read_text()

    parsed = count(ws, "SELECT id FROM fetch_log WHERE status = 'ok'")
    daemon.wait_for(
        lambda: count(ws, "SELECT id FROM fetch_log WHERE status = 'ok'") >= parsed + 3,
        15,
        "3 more parsed fetches",
    )
    assert article_titles(ws) == {"From today"}
    assert post_files(ws) == [post]
    assert daemon.stop() == 0
    assert article_titles(ws) == {"From today"}
    assert post_files(ws) == [post]


# -- 11. health and metrics ---------------------------------------------------------------


@pytest.mark.timeout(60)
def test_healthz_and_metrics_are_served(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon]
) -> None:
    loopback.routes["/one.xml"] = FeedResource(rss(item("o-1", "Measured")))
    port = free_port()
    ws.write_config([loopback.feed("One", "/one.xml")], daemon={"health": f"127.0.0.1:{port}"})

    daemon = start_daemon()
    health = daemon.wait_for(lambda: http_get(f"http://127.0.0.1:{port}/healthz"), 15, "/healthz")
    assert health[0] == 200

    def fetched_metrics() -> str | None:
        reply = http_get(f"http://127.0.0.1:{port}/metrics")
        return reply[1] if reply and 'aggregator_fetches_total{outcome="ok"}' in reply[1] else None

    metrics = daemon.wait_for(fetched_metrics, 15, "a fetch counted in /metrics")
    assert "aggregator_feeds_due " in metrics
    assert "# TYPE aggregator_fetches_total counter" in metrics
    assert daemon.stop() == 0


# -- 12. on_change, at most once per atom_every -------------------------------------------

ON_CHANGE_HOOK = """
import json, sys, time
manifest = json.load(sys.stdin)
with open(sys.argv[1], "a", encoding="utf-8") as f:
    f.write(json.dumps({"at": time.monotonic(), "manifest": manifest}) + "\\n")
"""


@pytest.mark.timeout(60)
def test_on_change_runs_at_most_once_per_atom_every_with_what_changed(
    loopback: LoopbackServer, ws: Workspace, start_daemon: Callable[[], Daemon], tmp_path: Path
) -> None:
    served = 0

    def growing(request: Request) -> Reply:  # a new item on every request
        nonlocal served
        served += 1
        items = [item(f"g-{n}", f"Item {n}") for n in range(served, 0, -1)]
        return Reply(200, rss(*items), {"Content-Type": "application/rss+xml"})

    loopback.routes["/grow.xml"] = growing
    script, calls = tmp_path / "hook.py", tmp_path / "calls.jsonl"
    script.write_text(ON_CHANGE_HOOK, encoding="utf-8")
    ws.write_config(
        [loopback.feed("Grow", "/grow.xml")],
        schedule={"interval": "1s"},
        output={"atom_every": "3s", "on_change": [sys.executable, str(script), str(calls)]},
    )

    daemon = start_daemon()
    daemon.wait_for(
        lambda: calls.exists() and len(calls.read_text().splitlines()) >= 3,
        40,
        "three on_change runs",
    )
    assert daemon.stop() == 0
    runs = [json.loads(line) for line in calls.read_text().splitlines()]
    assert requested(loopback, "/grow.xml") > len(runs)  # fetches outnumber hook runs
    assert all(g >= 2.5 for g in gaps([r["at"] for r in runs])), runs
    added = [p["id"] for r in runs for p in r["manifest"]["added"]]
    assert len(added) == len(set(added))  # each post announced once
    stored = {row[0] for row in query(ws, "SELECT id FROM articles")}
    assert set(added) <= stored and len(added) >= 3
    assert all(Path(p["path"]).exists() for r in runs for p in r["manifest"]["added"])


# -- in process: a stop while a claim or a publishing round is under way --------------------


class FakePipeline:
    """Stands for run.feed.Pipeline in the daemon's own loop: every feed is fetched, OK."""

    class bookkeeping:  # stands for the Bookkeeper instance
        @staticmethod
        async def flush() -> None:
            return None

    async def process_feed(self, feed: Any, state: Any) -> Any:
        from aggregator.models import FeedOutcome, FeedStatus

        return FeedOutcome(feed.name, FeedStatus.OK)

    async def close(self) -> None:
        return None


def test_a_claim_under_way_when_the_daemon_stops_is_drained_before_the_last_publish(
    ws: Workspace,
) -> None:
    """The stop can come while the claim query runs: the feeds it claims are processed and
    waited for before the final publish, not saved after it (their posts were missing until
    the next start; tests/test_multiworker.py saw it once)."""
    from aggregator.config import load_config
    from aggregator.edges.store import open_store
    from aggregator.models import FeedOutcome
    from aggregator.run.daemon import Daemon as DaemonLoop

    ws.write_config([{"name": "A", "url": "http://127.0.0.1:9/a.xml"}])
    config = load_config(ws.config_path)
    processed: list[str] = []

    class Pipeline(FakePipeline):
        async def process_feed(self, feed: Any, state: Any) -> FeedOutcome:
            await asyncio.sleep(0.05)  # a fetch in flight
            processed.append(feed.name)
            return await super().process_feed(feed, state)

    async def go() -> list[str]:
        store = await open_store(config.storage.database)
        try:
            await store.sync_feeds(config.feeds)
            daemon = DaemonLoop(config, store, Pipeline())  # type: ignore[arg-type]
            claim_due = store.claim_due
            drained: list[asyncio.Task[None]] = []

            async def stopped_meanwhile(*args: Any) -> Any:
                claimed = await claim_due(*args)
                daemon._on_stop_signal()  # SIGTERM while the claim was under way
                drained.append(asyncio.create_task(daemon._drain()))
                await asyncio.sleep(0)  # serve() drains as soon as it wakes
                return claimed

            store.claim_due = stopped_meanwhile  # type: ignore[method-assign]
            await daemon._tick()
            await drained[0]
            return list(processed)  # what was done when the drain returned
        finally:
            await store.close()

    assert asyncio.run(go()) == ["A"]


def test_a_publishing_round_under_way_when_the_daemon_stops_finishes_before_the_last_publish(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The stop can come while the publish job's thread writes posts. The scheduler's shutdown
    cancelled the job: its thread went on writing while the final publish wrote the same
    files, and the cancellation was logged as a traceback (CI saw it once)."""
    import aggregator.run.daemon as daemon_module
    from aggregator.config import load_config
    from aggregator.edges.store import open_store
    from aggregator.models import Changes

    ws.write_config([{"name": "A", "url": "http://127.0.0.1:9/a.xml"}])
    config = load_config(ws.config_path)
    steps: list[str] = []
    round_started, release = asyncio.Event(), threading.Event()

    async def publish_posts(
        store: Any, output: Any, repair: bool = False, into: Any = None
    ) -> Changes:
        if repair or round_started.is_set():  # the maintenance job's, or a later round
            return Changes()
        steps.append("round started")
        round_started.set()
        await asyncio.to_thread(release.wait, 20)  # posts being written
        steps.append("round finished")
        return Changes()

    async def publish(store: Any, output: Any, into: Any = None) -> Changes:
        steps.append("publish")
        return Changes()

    monkeypatch.setattr(daemon_module, "publish_posts", publish_posts)
    monkeypatch.setattr(daemon_module, "publish", publish)

    async def go() -> int:
        store = await open_store(config.storage.database)
        try:
            daemon = daemon_module.Daemon(config, store, FakePipeline())  # type: ignore[arg-type]
            serving = asyncio.create_task(daemon.serve())
            await asyncio.wait_for(round_started.wait(), 20)
            daemon._on_stop_signal()  # SIGTERM while the round's thread writes
            for _ in range(20):  # serve() wakes and stops the scheduler meanwhile
                await asyncio.sleep(0)
            release.set()
            return await asyncio.wait_for(serving, 20)
        finally:
            release.set()
            await store.close()

    assert asyncio.run(go()) == 0
    assert steps[-3:] == ["round started", "round finished", "publish"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_maintenance_job_waits_for_a_publishing_round_under_way(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The publish job and the hourly maintenance both publish posts (and make joins); two
    rounds at once could write a post file that the other has just removed. One waits."""
    import aggregator.run.daemon as daemon_module
    from aggregator.config import load_config
    from aggregator.edges.store import open_store
    from aggregator.models import Changes

    ws.write_config([{"name": "A", "url": "http://127.0.0.1:9/a.xml"}])
    config = load_config(ws.config_path)
    steps: list[str] = []

    async def go() -> None:
        release = asyncio.Event()

        async def publish_posts(
            store: Any, output: Any, repair: bool = False, into: Any = None
        ) -> Changes:
            steps.append("maintenance round" if repair else "round started")
            if not repair:
                await release.wait()
                steps.append("round finished")
            return Changes()

        async def publish(store: Any, output: Any, into: Any = None) -> Changes:
            return Changes()  # the takeover's

        monkeypatch.setattr(daemon_module, "publish_posts", publish_posts)
        monkeypatch.setattr(daemon_module, "publish", publish)
        store = await open_store(config.storage.database)
        try:
            daemon = daemon_module.Daemon(config, store, FakePipeline())  # type: ignore[arg-type]
            publishing = asyncio.create_task(daemon._publish())
            until = asyncio.get_running_loop().time() + 20
            while "round started" not in steps:
                assert asyncio.get_running_loop().time() < until, "no round started"
                await asyncio.sleep(0.01)
            maintaining = asyncio.create_task(daemon._maintain())
            for _ in range(20):  # the maintenance job runs as far as it can meanwhile
                await asyncio.sleep(0)
            assert steps == ["round started"]
            release.set()
            await asyncio.wait_for(asyncio.gather(publishing, maintaining), 20)
        finally:
            await store.close()

    asyncio.run(go())
    assert steps == ["round started", "round finished", "maintenance round"]
