"""Several ``aggregator run`` workers on one PostgreSQL database (docs/scaling.md), end to end:
three real daemons, 300 feeds on a loopback server that logs every request, a fresh database.

What it proves, over several intervals:

- no feed is requested twice within one interval (leases: one worker per feed at a time);
- every article is stored once, though syndicated stories appear in 30 feeds each and
  every worker saves them (advisory locks in ``save``), and every stored article has its post;
- a worker SIGKILLed mid-pass leaves leases behind: its feeds are fetched by the others once
  the lease runs out (not before, and within lease + tick);
- SIGKILL the publisher and another worker takes the publisher lock over: new articles keep
  reaching the posts folder and the Atom document.

No fixed sleeps: every wait polls for an event with a deadline.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import asyncpg
import pytest
from feeds import rss, rss_item
from server import LoopbackServer, Reply, Request, Workspace, untraced, wait_until

pytestmark = pytest.mark.slow

FEEDS = 300
GROUPS = 10  # syndicated stories: group g's story of an epoch is in every feed i with i % 10 == g
KEEP = 5  # epochs a story stays in its feed: a fetch lost with a killed worker is served again
INTERVAL = 6.0  # seconds; also the epoch: each fetch of a feed finds new stories
LEASE = 4.0
TICK = 0.5
DELAY = 0.2  # seconds each reply takes: a worker always has requests in flight
WORKERS = 3
# Feeds are checked every interval: clamp(interval +-10 %, min_interval = interval, ...), so two
# requests for one feed are at least INTERVAL apart (plus the reply's delay). Slack for clocks.
SLACK = 0.1
# A lease left by a killed worker: the feed is claimed again at the first tick after it ends.
TAKEOVER = LEASE + TICK + 1.0  # the second of CPU slack: 3 workers on 2 cores
# A request a worker sent just before it was killed can reach the server's log a little later.
IN_FLIGHT = 1.0
STOP_TIMEOUT = 20.0
ATOM = "{http://www.w3.org/2005/Atom}"

Kill = tuple[float, dict[int, float]]  # when (monotonic), and the leases left: feed -> end


# -- the feeds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    feed: int
    at: float  # monotonic, when the request arrived
    links: frozenset[str]


class Syndication:
    """Every feed path; the document depends on the epoch (INTERVAL seconds since start):
    feed i carries its own story and its group's syndicated story (same link, title and text
    in every feed of the group, under the feed's own guid) for each of the last KEEP epochs."""

    def __init__(self, stopping: threading.Event) -> None:
        self.t0 = time.monotonic()
        self._served: list[Served] = []
        self._stopping = stopping
        self._lock = threading.Lock()

    def epoch(self, at: float) -> int:
        return int((at - self.t0) / INTERVAL)

    def __call__(self, request: Request) -> Reply:
        feed = int(request.path.removeprefix("/feed-").removesuffix(".xml"))
        now = self.epoch(request.at)
        stories = [s for e in range(max(0, now - KEEP + 1), now + 1) for s in _stories(feed, e)]
        with self._lock:
            self._served.append(Served(feed, request.at, frozenset(s[2] for s in stories)))
        self._stopping.wait(DELAY)
        return Reply(200, _document(feed, stories), {"Content-Type": "application/rss+xml"})

    def served(self) -> list[Served]:
        with self._lock:
            return list(self._served)

    def links(self) -> set[str]:
        return {link for s in self.served() for link in s.links}

    def passes(self) -> int:
        """How many times every feed has been requested."""
        counts = Counter(s.feed for s in self.served())
        return min(counts.values()) if len(counts) == FEEDS else 0


def _stories(feed: int, epoch: int) -> list[tuple[str, str, str]]:
    """(guid, title, link) of a feed's stories of one epoch."""
    group = feed % GROUPS
    return [
        (
            f"f{feed}-e{epoch}",
            f"Feed {feed} story e{epoch}",
            f"https://f.example.org/{feed}/{epoch}",
        ),
        (
            f"f{feed}-s{group}-e{epoch}",
            f"Syndicated {group} story e{epoch}",
            f"https://wire.example.org/{group}/{epoch}",
        ),
    ]


def _document(feed: int, stories: Sequence[tuple[str, str, str]]) -> bytes:
    """Feed i's document: (guid, title, link) stories, the newest first."""
    items = [
        rss_item(guid, title, link, f"<p>{title}, told at length.</p>")
        for guid, title, link in reversed(stories)
    ]
    return rss(*items, title=f"Feed {feed}", link=f"https://f.example.org/{feed}/")


# -- the database ---------------------------------------------------------------------------


def sql(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def tcp_ports(pid: int, remote_port: int) -> set[int]:
    """Local ports of a process's TCP connections to ``remote_port`` (Linux /proc): its
    database sessions show them in pg_stat_activity.client_port."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(OSError):
            if (m := re.fullmatch(r"socket:\[(\d+)\]", os.readlink(fd))) is not None:
                inodes.add(m[1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            remote = int(fields[2].rsplit(":", 1)[1], 16)
            if fields[9] in inodes and remote == remote_port:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


# -- the workers ------------------------------------------------------------------------------


class Worker:
    """One ``aggregator run`` subprocess with the database URL in its environment (as a
    systemd EnvironmentFile gives it); stdout and stderr go to a log file."""

    def __init__(self, ws: Workspace, url: str, log_path: Path) -> None:
        self.log_path = log_path
        self.url = url
        # Untraced: leases of LEASE seconds are timed for workers at full speed.
        env = untraced({k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"})
        env["AGGREGATOR_DATABASE_URL"] = url
        self._log: IO[bytes] = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "--config", str(ws.config_path), "run"],
            cwd=ws.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def running(self) -> bool:
        return self.proc.poll() is None

    def publishing(self) -> bool:
        return "publishing from this worker" in self.log()

    def leases(self) -> list[asyncpg.Record]:
        """(name, lease_until) of the feeds this worker holds: lease owners are
        host:pid:random."""
        return sql(
            self.url,
            "SELECT name, lease_until FROM feeds WHERE lease_owner LIKE $1"
            " AND lease_until IS NOT NULL",
            f"%:{self.pid}:%",
        )

    def kill(self) -> Kill:
        """SIGKILL mid-pass; returns when (monotonic) and the leases it left: feed -> the
        monotonic time the lease ends. Waits until the server has ended the worker's sessions,
        so that nothing it sent is still being committed when the leases are read."""
        ports = tcp_ports(self.pid, urlsplit(self.url).port or 5432)
        assert ports, "no database connection found for the worker"
        self.proc.kill()
        killed, wall = time.monotonic(), datetime.now(UTC)
        self.proc.wait(timeout=STOP_TIMEOUT)
        self._log.close()
        # Ports are reused at once on loopback: only sessions older than the kill are its.
        wait_until(
            lambda: (
                not sql(
                    self.url,
                    "SELECT 1 FROM pg_stat_activity WHERE client_port = ANY($1::int[])"
                    " AND backend_start < $2",
                    sorted(ports),
                    wall,
                )
            ),
            10,
            "the killed worker's database sessions to end",
        )
        offset = time.time() - time.monotonic()
        leases = {
            int(r["name"].removeprefix("feed-")): r["lease_until"].timestamp() - offset
            for r in self.leases()
        }
        return killed, leases

    def stop(self) -> int:
        try:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout=STOP_TIMEOUT)
        finally:
            self._log.close()


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """The test's workers; any still running at its end are killed."""
    started: list[Worker] = []
    yield started
    for worker in started:
        if worker.running():
            worker.proc.kill()
            worker.proc.wait(timeout=STOP_TIMEOUT)
        worker._log.close()


# -- reading what happened --------------------------------------------------------------------


def requests_by_feed(served: Sequence[Served]) -> dict[int, list[float]]:
    times: dict[int, list[float]] = defaultdict(list)
    for s in sorted(served, key=lambda s: s.at):
        times[s.feed].append(s.at)
    return times


def atom_titles(path: Path) -> set[str]:
    if not path.exists():
        return set()
    root = ET.parse(path).getroot()
    return {e.findtext(f"{ATOM}title") or "" for e in root.iter(f"{ATOM}entry")}


def published_since(ws: Workspace, url: str, since: datetime) -> list[str]:
    """Titles of articles first seen after ``since`` that are both posts and in the Atom."""
    rows = sql(url, "SELECT title, post_path FROM articles WHERE first_seen > $1", since)
    in_atom = atom_titles(ws.atom_path)
    return [r["title"] for r in rows if r["title"] in in_atom and (ws.posts_dir / r[1]).exists()]


def refetch(at: Sequence[float], killed: float, until: float) -> float | None:
    """The first request for a feed once a killed worker's lease on it ended."""
    return next((t for t in at if t > killed and t >= until - SLACK), None)


def check_takeover(
    times: dict[int, list[float]], killed: float, leases: dict[int, float]
) -> list[str]:
    """Each feed a killed worker held is fetched again once its lease ends, within a tick, and
    not before: between the kill and the lease's end only requests the dead worker had sent
    (logged by the server up to IN_FLIGHT later) may show."""
    problems = []
    for feed, until in leases.items():
        stray = [t for t in times[feed] if killed + IN_FLIGHT < t < until - SLACK]
        again = refetch(times[feed], killed, until)
        if stray:
            problems.append(
                f"feed-{feed}: fetched {stray[0] - killed:.2f}s after the kill, "
                f"its lease ending {until - killed:.2f}s after it"
            )
        if again is None:
            problems.append(f"feed-{feed}: not fetched again after the kill")
        elif again > until + TAKEOVER - LEASE:
            problems.append(
                f"feed-{feed}: lease ended {until - killed:.2f}s after the kill, fetched again"
                f" {again - killed:.2f}s after it"
            )
    return problems


def refetched(served: Sequence[Served], kill: Kill) -> bool:
    killed, leases = kill
    times = requests_by_feed(served)
    return all(refetch(times[feed], killed, until) for feed, until in leases.items())


def late(kill: Kill, times: dict[int, list[float]]) -> float:
    """How long after its lease ended the slowest of a killed worker's feeds was fetched."""
    killed, leases = kill
    return max((refetch(times[f], killed, until) or until) - until for f, until in leases.items())


def check_rhythm(times: dict[int, list[float]], kills: Sequence[Kill]) -> tuple[list[str], float]:
    """No feed requested twice within an interval, but for a fetch lost with a killed worker
    (its feed is fetched again when the lease ends: check_takeover). Also the shortest gap."""
    problems, shortest = [], float("inf")
    for feed, at in times.items():
        for a, b in pairwise(at):
            if any(
                feed in leases and a < killed + IN_FLIGHT and b > killed for killed, leases in kills
            ):
                continue
            shortest = min(shortest, b - a)
            if b - a < INTERVAL + DELAY - SLACK:
                problems.append(f"feed-{feed}: requested {b - a:.2f}s apart")
    return problems, shortest


# -- the test -----------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_three_workers_share_feeds_survive_kills_and_store_each_article_once(
    loopback: LoopbackServer, ws: Workspace, postgres_url: str, workers: list[Worker]
) -> None:
    began = time.monotonic()
    feeds = Syndication(loopback.stopping)
    for i in range(FEEDS):
        loopback.routes[f"/feed-{i}.xml"] = feeds
    ws.write_config(
        [{"name": f"feed-{i}", "url": loopback.url(f"/feed-{i}.xml")} for i in range(FEEDS)],
        output={"atom_every": "1s", "atom_limit": 400},
        fetch={"retries": 0, "timeout": "10s", "concurrency": 16, "per_host": 48},
        schedule={
            "interval": f"{INTERVAL:g}s",
            "min_interval": f"{INTERVAL:g}s",
            "adaptive": False,
            "tick": f"{TICK:g}s",
            "lease": f"{LEASE:g}s",
        },
        daemon={"grace": "10s"},
    )
    workers += [Worker(ws, postgres_url, ws.root / f"worker-{n}.log") for n in range(WORKERS)]

    def started() -> bool:
        for w in workers:
            assert w.running(), f"worker {w.pid} exited:\n{w.log()[-3000:]}"
        return all("daemon started" in w.log() for w in workers)

    wait_until(started, 30, "three workers to start")
    publishers = [w for w in workers if w.publishing()]
    assert len(publishers) == 1, [w.log()[-2000:] for w in workers]
    publisher = publishers[0]

    wait_until(lambda: feeds.passes() >= 2, 4 * INTERVAL + 10, "two passes over every feed")
    shares = [w.log().count("fetched feed=") for w in workers]
    assert all(shares), f"a worker fetched nothing: {shares}"
    t_passes = time.monotonic()

    # SIGKILL a worker that is not the publisher while it holds leases.
    victim = next(w for w in workers if w is not publisher)
    wait_until(lambda: len(victim.leases()) >= 3, 2 * INTERVAL, "the victim to hold leases")
    first_kill = victim.kill()
    assert first_kill[1], "the killed worker left no lease behind"
    wait_until(
        lambda: refetched(feeds.served(), first_kill),
        TAKEOVER + 5,
        "the killed worker's feeds to be fetched by the others",
    )
    t_first = time.monotonic()

    # SIGKILL the publisher while it holds leases: the last worker takes publishing over.
    wait_until(lambda: len(publisher.leases()) >= 1, 2 * INTERVAL, "the publisher's leases")
    offset = time.time() - time.monotonic()
    second_kill = publisher.kill()
    killed_at = datetime.fromtimestamp(second_kill[0] + offset).astimezone()
    last = next(w for w in workers if w.running())
    wait_until(last.publishing, 10, "the last worker to take publishing over")
    fresh = wait_until(
        lambda: published_since(ws, postgres_url, killed_at),
        2 * INTERVAL + 5,
        "articles first seen after the publisher died in the posts folder and the Atom",
    )
    t_fresh = time.monotonic()
    wait_until(
        lambda: refetched(feeds.served(), second_kill),
        TAKEOVER + 5,
        "the publisher's feeds to be fetched by the last worker",
    )
    t_second = time.monotonic()
    assert last.stop() == 0, last.log()[-3000:]
    t_stopped = time.monotonic()

    # -- what the server saw
    served = feeds.served()
    times = requests_by_feed(served)
    kills = [first_kill, second_kill]
    problems, shortest = check_rhythm(times, kills)
    problems += check_takeover(times, *first_kill) + check_takeover(times, *second_kill)
    assert not problems, problems[:20]

    # -- what the database holds: each story served is one article, decided new once
    rows = sql(postgres_url, "SELECT link, post_path FROM articles")
    links = [r["link"] for r in rows]
    assert not [link for link, n in Counter(links).items() if n > 1], "stored twice"
    assert set(links) == feeds.links()
    [(new,)] = sql(postgres_url, "SELECT sum(new) FROM fetch_log")
    assert new == len(rows)
    syndicated = sql(
        postgres_url,
        "SELECT a.link, count(*) FROM entries e JOIN articles a ON a.id = e.article_id"
        " WHERE a.link LIKE 'https://wire.%' GROUP BY a.link",
    )
    assert syndicated and max(r[1] for r in syndicated) == FEEDS // GROUPS

    # -- the outputs: one post per article, nothing half-written
    posts = sorted(p.name for p in ws.posts_dir.iterdir())
    assert posts == sorted(r["post_path"] for r in rows)
    assert atom_titles(ws.atom_path)

    print(
        f"fetches_per_worker={shares} requests={len(served)} articles={len(rows)}"
        f" published_after_publisher_kill={len(fresh)} in {t_fresh - second_kill[0]:.1f}s"
        f" leases_left={len(first_kill[1])}+{len(second_kill[1])} shortest_gap={shortest:.2f}s"
        f" lease_end_to_refetch<={late(first_kill, times):.2f}s,{late(second_kill, times):.2f}s"
        f" two_passes={t_passes - began:.1f}s first_kill_recovered={t_first - began:.1f}s"
        f" second_kill_recovered={t_second - began:.1f}s stopped={t_stopped - began:.1f}s"
    )
