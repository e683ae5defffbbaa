"""Daemon throughput by worker count: ``python -m bench.workers [--feeds 2000] [--workers 1,2,4]``.

One corpus (bench/corpus.py: N feeds x 20 items, generation 2 = a fifth of the feeds with 3 new
items), served by nginx on 127.0.0.1 (bench/server.py), and ``aggregator run`` daemons side by
side: 1 on SQLite, then 1, 2 and 4 workers sharing one PostgreSQL database. Each setup gets a
fresh data folder (and database) and three passes with its workers running:

- pass 1: every feed due at once, every article new;
- pass 2: due again, nothing changed (conditional GETs: 304);
- pass 3: due again, generation 2 served.

A pass is timed from making every feed due until every feed was fetched once and every post was
written (the publisher's share). The workers claim with a 0.05 s tick, so the timing measures
the machine rather than the tick (see docs/scaling.md: a worker claims at most ``concurrency``
feeds per tick). PostgreSQL runs a throwaway cluster with the durability it ships with (fsync,
synchronous_commit, full_page_writes on) and pg_stat_statements, whose counts give the
statements and transactions (BEGINs) per feed. CPU seconds are the workers' process trees
(parser processes included) and the PostgreSQL server's (every backend, ended ones too); what
the rest of the machine used meanwhile is reported as noise, and each pass first waits (up to
QUIET_WAIT) for the machine to be nearly idle. N = 2000 takes about 6 minutes on 2 cores.

Prints a Markdown table and writes docs/scaling.json. Nothing talks to any address but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import asyncpg

from aggregator.config import load_config
from aggregator.edges.store import Store, open_store

from .corpus import generate
from .measure import process_tree
from .server import CorpusServer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "tests"))  # the throwaway cluster the tests use
from pgcluster import find_bin_dir, throwaway_cluster  # noqa: E402

CONCURRENCY = 32  # per worker, the default
TICK = "0.05s"
PASS_TIMEOUT = 600.0
POLL = 0.1
QUIET_WAIT = 300.0  # seconds to wait for the machine to calm down before each pass
QUIET_CORES = 0.25  # "quiet": other processes busy less than this many cores
# Durable as deployed (the tests' cluster runs without fsync); pg_stat_statements counts.
PG_SETTINGS = "-c shared_preload_libraries=pg_stat_statements"
_CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    backend: str
    workers: int
    run: str
    feeds: int
    new_articles: int
    wall: float
    fetched: float  # seconds until every feed was fetched and stored (posts may still be due)
    worker_cpu: float
    main_cpu: float  # the part in the workers' main processes (one event loop each)
    db_cpu: float  # the PostgreSQL server's; 0 for SQLite (inside the worker)
    other_cpu: float  # the rest of the machine: nginx, the bench, anything else (noise)
    statements: int  # executed by the workers (pg_stat_statements), 0 for SQLite
    transactions: int  # BEGIN ... COMMIT blocks among them

    @property
    def feeds_per_s(self) -> float:
        return self.feeds / self.wall

    @property
    def cpu_ms_per_feed(self) -> float:
        """Workers' and PostgreSQL's CPU per feed: unlike wall time, barely moved by other
        load on the machine."""
        return (self.worker_cpu + self.db_cpu) / self.feeds * 1000

    def per_feed(self, n: int) -> str:
        return f"{n / self.feeds:.1f}" if n else "—"


# -- CPU from /proc ---------------------------------------------------------------------------


def process_cpu(pid: int, reaped: bool = True) -> float:
    """CPU seconds of one process, with its reaped children's unless ``reaped`` is False."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11 : 15 if reaped else 13]) / _CLK_TCK


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine (/proc/stat): what the measured processes do not
    account for is the server, the bench itself, and anything else running (noise)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields)
    return (user + nice + system + irq + softirq + steal) / _CLK_TCK


def tree_cpu(root: int) -> float:
    """CPU seconds of a process tree: each process's own time and its reaped children's (a
    backend that ended is counted in the postmaster's)."""
    return sum(process_cpu(pid) for pid in process_tree(root))


# -- one setup: a backend, N workers ------------------------------------------------------------


def write_config(folder: Path, urls: Sequence[str], workers: int) -> Path:
    feeds = "\n".join(
        f'[[feeds]]\nname = "feed-{i}"\nurl = "{u}"\ncategories = ["bench"]\n'
        for i, u in enumerate(urls)
    )
    # One host serves the corpus: the per-host budget, shared by all workers, must not be what
    # limits them (real feeds spread over many hosts).
    config = folder / "config.toml"
    config.write_text(
        f'[storage]\ndatabase = "{folder / "db.sqlite3"}"\n'
        f'[output]\nposts_dir = "{folder / "posts"}"\natom_path = "{folder / "atom.xml"}"\n'
        f"[fetch]\nconcurrency = {CONCURRENCY}\nper_host = {CONCURRENCY * workers}\n"
        f'[schedule]\ninterval = "1h"\nadaptive = false\ntick = "{TICK}"\n\n{feeds}',
        encoding="utf-8",
    )
    return config


class Probe:
    """What the bench reads from the database while the workers run."""

    def __init__(self, database: str, admin: str | None) -> None:
        self.database = database
        self.admin = admin
        self.postgres = "://" in database
        self._conn: asyncpg.Connection[asyncpg.Record] | None = None
        self._admin: asyncpg.Connection[asyncpg.Record] | None = None

    async def __aenter__(self) -> Probe:
        if self.postgres:
            # As the superuser: the workers' statements are told apart by their role.
            self._conn = await asyncpg.connect(superuser(self.database))
            self._admin = await asyncpg.connect(self.admin)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for conn in (self._conn, self._admin):
            if conn is not None:
                await conn.close()

    async def _value(self, postgres: str, sqlite: str, *args: Any) -> Any:
        if self._conn is not None:
            return await self._conn.fetchval(postgres, *args)
        with closing(sqlite3.connect(self.database, timeout=30)) as db:
            return db.execute(sqlite, args).fetchone()[0]

    async def fetched_since(self, since: datetime) -> int:
        return int(
            await self._value(
                "SELECT count(*) FROM feeds WHERE last_fetch_at >= $1",
                "SELECT count(*) FROM feeds WHERE last_fetch_at >= ?",
                since if self.postgres else since.isoformat(timespec="milliseconds"),
            )
        )

    async def pending_posts(self) -> int:
        return int(
            await self._value(
                "SELECT count(*) FROM articles WHERE rendered_hash IS DISTINCT FROM content_hash",
                "SELECT count(*) FROM articles WHERE rendered_hash IS NOT content_hash",
            )
        )

    async def articles(self) -> int:
        return int(
            await self._value("SELECT count(*) FROM articles", "SELECT count(*) FROM articles")
        )

    async def statements(self) -> list[tuple[int, str]]:
        """(calls, query) the workers ran: pg_stat_statements, up to date at once (unlike
        pg_stat_database, flushed every second or so); not the bench's own queries, which run
        as the superuser (the workers connect as ``bench``). A row of an executemany batch
        counts as one call, though the batch is one round trip."""
        if self._admin is None:
            return []
        rows = await self._admin.fetch(
            "SELECT calls, query FROM pg_stat_statements s"
            " JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid"
            " WHERE r.rolname = 'bench' AND d.datname = $1 ORDER BY calls DESC",
            self.database.rsplit("/", 1)[1],
        )
        return [(int(r[0]), " ".join(r[1].split())) for r in rows]

    async def counters(self) -> tuple[int, int]:
        """Statements and transactions (BEGIN) so far."""
        rows = await self.statements()
        begins = sum(calls for calls, query in rows if query.upper().startswith("BEGIN"))
        return sum(calls for calls, _ in rows), begins


class Workers:
    """N ``aggregator run`` processes on one config; logs under the setup's folder."""

    def __init__(self, config: Path, n: int, env: dict[str, str]) -> None:
        self.logs: list[Path] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        self._files: list[IO[bytes]] = []
        for i in range(n):
            log = config.parent / f"worker-{i}.log"
            file = log.open("wb")
            self.logs.append(log)
            self._files.append(file)
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "aggregator", "--config", str(config), "run"],
                    cwd=config.parent,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=file,
                    stderr=subprocess.STDOUT,
                )
            )

    async def started(self) -> None:
        deadline = time.monotonic() + 60
        while not all("daemon started" in p.read_text(errors="replace") for p in self.logs):
            for proc, log in zip(self.procs, self.logs, strict=True):
                if proc.poll() is not None:
                    raise RuntimeError(f"a worker exited:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
            await asyncio.sleep(POLL)

    def cpu(self) -> tuple[float, float]:
        """CPU seconds of the workers with their parser processes, and of their main processes
        alone (the event loop: fetching, storing, publishing)."""
        total = sum(tree_cpu(p.pid) for p in self.procs)
        return total, sum(process_cpu(p.pid, reaped=False) for p in self.procs)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in self._files:
            f.close()


@dataclass(frozen=True)
class Cluster:
    admin: str  # the superuser's URL
    postmaster: int  # pid: the server's CPU is its process tree's


@dataclass(frozen=True)
class Setup:
    backend: str  # sqlite, postgresql
    workers: int
    database: str = ""  # PostgreSQL: the workers' URL; SQLite: a file in the setup's folder
    cluster: Cluster | None = None

    @property
    def label(self) -> str:
        return f"{self.backend} x{self.workers}"


async def run_setup(
    work: Path, urls: Sequence[str], server: CorpusServer, setup: Setup
) -> tuple[list[Row], list[tuple[int, str]]]:
    """Three passes; also the statements the workers ran in them, with calls (PostgreSQL)."""
    folder = work / f"{setup.backend}-{setup.workers}"
    folder.mkdir()
    config_path = write_config(folder, urls, setup.workers)
    config = load_config(config_path)
    env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}
    env.pop("AGGREGATOR_DATABASE_URL", None)
    database = setup.database or str(config.storage.database)
    if setup.database:
        env["AGGREGATOR_DATABASE_URL"] = setup.database
    names = [f.name for f in config.feeds]
    # As the superuser: pg_stat_statements tells the workers' statements by their role.
    store = await open_store(superuser(database))
    try:
        # Nothing due until a pass starts (a fresh start would spread first fetches over 30 s).
        await store.sync_feeds(config.feeds)
        await make_due(store, names, timedelta(days=1))
        workers = Workers(config_path, setup.workers, env)
        try:
            await workers.started()
            async with Probe(database, setup.cluster.admin if setup.cluster else None) as probe:
                rows, before = [], await probe.statements()
                for run, gen in (("pass 1", 1), ("pass 2", 1), ("pass 3", 2)):
                    server.serve(gen)
                    rows.append(await one_pass(setup, run, store, probe, workers, names))
                return rows, since(before, await probe.statements())
        finally:
            workers.stop()
    finally:
        await store.close()


def superuser(database: str) -> str:
    return database.replace("bench@", "postgres@", 1)


def since(before: list[tuple[int, str]], after: list[tuple[int, str]]) -> list[tuple[int, str]]:
    calls = dict((q, c) for c, q in before)
    grown = [(c - calls.get(q, 0), q) for c, q in after]
    return sorted(((c, q) for c, q in grown if c), reverse=True)


async def make_due(store: Store, names: Sequence[str], after: timedelta) -> None:
    at = datetime.now(UTC) + after
    await store.schedule_feeds([(name, at) for name in names])


async def quiet(label: str) -> None:
    """Wait (up to QUIET_WAIT) until the rest of the machine is nearly idle: the host is
    shared, and other work inflates wall times (the "other CPU s" column shows what remained)."""
    deadline = time.monotonic() + QUIET_WAIT
    while time.monotonic() < deadline:
        busy = machine_cpu()
        await asyncio.sleep(2)
        if (machine_cpu() - busy) / 2 < QUIET_CORES:
            return
    print(f"  {label}: the machine is busy; measuring anyway", file=sys.stderr)


async def one_pass(
    setup: Setup, run: str, store: Store, probe: Probe, workers: Workers, names: Sequence[str]
) -> Row:
    """Every feed due now; done when each was fetched since and no post is pending."""
    postmaster = setup.cluster.postmaster if setup.cluster else None
    await quiet(f"{setup.label} {run}")
    articles, counters = await probe.articles(), await probe.counters()
    cpu, db_cpu = workers.cpu(), tree_cpu(postmaster) if postmaster else 0.0
    busy = machine_cpu()
    now = datetime.now(UTC)
    since = now.replace(microsecond=now.microsecond // 1000 * 1000)  # stored in milliseconds
    started = time.monotonic()
    await make_due(store, names, timedelta(0))
    fetched = None
    while fetched is None or await probe.pending_posts():
        if fetched is None and await probe.fetched_since(since) == len(names):
            fetched = time.monotonic() - started
            continue
        if time.monotonic() > started + PASS_TIMEOUT:
            raise RuntimeError(f"{setup.label} {run}: not done in {PASS_TIMEOUT:g}s")
        await asyncio.sleep(POLL)
    wall = time.monotonic() - started
    after, used = await probe.counters(), workers.cpu()
    db_used = (tree_cpu(postmaster) - db_cpu) if postmaster else 0.0
    row = Row(
        setup.backend,
        setup.workers,
        run,
        len(names),
        await probe.articles() - articles,
        wall,
        fetched,
        used[0] - cpu[0],
        used[1] - cpu[1],
        db_used,
        machine_cpu() - busy - (used[0] - cpu[0]) - db_used,
        after[0] - counters[0],
        after[1] - counters[1],
    )
    print(f"  {setup.label} {run}: {wall:.1f}s", file=sys.stderr)
    return row


# -- the cluster ----------------------------------------------------------------------------------


@contextmanager
def postgres() -> Iterator[Cluster]:
    """A throwaway cluster with pg_stat_statements and a ``bench`` role for the workers."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed (no initdb and pg_ctl)")
    with throwaway_cluster(bin_dir, PG_SETTINGS) as admin:

        async def prepare() -> int:
            conn = await asyncpg.connect(admin)
            try:
                await conn.execute("CREATE EXTENSION pg_stat_statements")
                await conn.execute("CREATE ROLE bench LOGIN SUPERUSER")
                data = await conn.fetchval("SHOW data_directory")
            finally:
                await conn.close()
            return int((Path(data) / "postmaster.pid").read_text().split()[0])

        yield Cluster(admin, asyncio.run(prepare()))


async def create_database(admin: str, name: str) -> str:
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" OWNER bench')
    finally:
        await conn.close()
    base = admin.rsplit("/", 1)[0].replace("postgres@", "bench@", 1)
    return f"{base}/{name}"


# -- report ---------------------------------------------------------------------------------------


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| backend | workers | run | wall s | feeds/s | new articles | worker CPU s "
        "| of it main process | PostgreSQL CPU s | CPU ms / feed | other CPU s | statements / feed "
        "| transactions / feed |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.backend} | {r.workers} | {r.run} | {r.wall:.1f} "
            f"| {r.feeds_per_s:.0f} "
            f"| {r.new_articles} | {r.worker_cpu:.1f} | {r.main_cpu:.1f} | "
            + (f"{r.db_cpu:.1f}" if r.backend == "postgresql" else "—")
            + f" | {r.cpu_ms_per_feed:.1f} | {r.other_cpu:.1f}"
            + f" | {r.per_feed(r.statements)} | {r.per_feed(r.transactions)} |"
        )
    return "\n".join(lines)


def environment() -> str:
    pg = find_bin_dir()
    version = (
        subprocess.run([str(pg / "postgres"), "--version"], capture_output=True, text=True)
        .stdout.strip()
        .removeprefix("postgres (PostgreSQL) ")
        if pg
        else "?"
    )
    return (
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} "
        f"cores, PostgreSQL {version}, SQLite {sqlite3.sqlite_version}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.workers")
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4", help="PostgreSQL worker counts")
    parser.add_argument("--out", type=Path, default=DOCS / "scaling.json")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",") if n.strip()]

    work = Path(tempfile.mkdtemp(prefix="aggregator-bench-workers-"))
    work.chmod(0o755)  # nginx workers run as an unprivileged user and must read the corpus
    rows: list[Row] = []
    statements: dict[str, list[tuple[int, str]]] = {}
    try:
        info = generate(work / "corpus", args.feeds)
        print(f"corpus: {info}", file=sys.stderr)
        with CorpusServer(work / "corpus") as server, postgres() as cluster:
            urls = server.urls(args.feeds)
            setups = [Setup("sqlite", 1)] + [
                Setup(
                    "postgresql", n, asyncio.run(create_database(cluster.admin, f"w{n}")), cluster
                )
                for n in counts
            ]
            for setup in setups:
                done, statements[setup.label] = asyncio.run(run_setup(work, urls, server, setup))
                rows += done
            server_name = server.name
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(table(rows))
    args.out.write_text(
        json.dumps(
            {
                "environment": environment(),
                "server": server_name,
                "corpus": info,
                "concurrency": CONCURRENCY,
                "tick": TICK,
                "rows": [
                    asdict(r)
                    | {
                        "feeds_per_s": round(r.feeds_per_s, 1),
                        "cpu_ms_per_feed": round(r.cpu_ms_per_feed, 2),
                    }
                    for r in rows
                ],
                # Over the three passes (3 x feeds): what the workers asked PostgreSQL.
                "statements": {k: v[:40] for k, v in statements.items() if v},
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
