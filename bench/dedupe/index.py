"""``python -m bench.dedupe.index [--articles 1000000] [--postgres]``: the LSH band table at a
million articles.

A table of rows ``(key, article_id)``, 24 per article (``similar.Signature.all_keys``), filled
with random signed 64-bit keys (band keys are hashes) in bulk, in three layouts:

- ``without-rowid``: PRIMARY KEY (key, article_id) WITHOUT ROWID, article_id TEXT (a UUID);
- ``rowid+index``: a plain table and an index on key, article_id TEXT;
- ``integer-id``: WITHOUT ROWID with an INTEGER article number instead of the UUID.

Then per layout: the file size; adding articles one feed at a time (20 per transaction) to
the full table; and the lookup a store would make for one incoming article, its 24 keys:

    SELECT article_id, count(*) AS n FROM bands WHERE key IN (?, ... 24)
    GROUP BY article_id ORDER BY n DESC LIMIT 8

for articles just added (hits) and for new texts (misses). SQLite figures are CPU time (it
works in this process; the machine is shared), with the file in the page cache (warm).
``--postgres`` runs the same on a throwaway PostgreSQL cluster (tests/pgcluster.py, durable
settings), bigint keys, a btree on (key, article_id); its figures are wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

KEYS = 24
ADDED = 10_000  # articles added to the full table, then looked up
PER_TRANSACTION = 20  # a feed's new items in one pass
LOOKUPS = 2_000
ROOT = Path(__file__).resolve().parents[2]

_LAYOUTS = {
    "without-rowid": (
        "CREATE TABLE bands (key INTEGER NOT NULL, article_id TEXT NOT NULL,"
        " PRIMARY KEY (key, article_id)) WITHOUT ROWID",
        "",
    ),
    "rowid+index": (
        "CREATE TABLE bands (key INTEGER NOT NULL, article_id TEXT NOT NULL)",
        "CREATE INDEX bands_key ON bands (key)",
    ),
    "integer-id": (
        "CREATE TABLE bands (key INTEGER NOT NULL, article_id INTEGER NOT NULL,"
        " PRIMARY KEY (key, article_id)) WITHOUT ROWID",
        "",
    ),
}
# A feed's new articles at once: the rows come back with their key, matched in Python.
_FEED_LOOKUP = "SELECT key, article_id FROM bands WHERE key IN ({})"
_LOOKUP = (
    "SELECT article_id, count(*) AS n FROM bands WHERE key IN ({})"
    " GROUP BY article_id ORDER BY n DESC LIMIT 8"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dedupe.index")
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--layouts", default=",".join(_LAYOUTS))
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args(argv)
    print(f"{args.articles:,} articles x {KEYS} keys; SQLite {sqlite3.sqlite_version}\n")
    print(
        "| store | layout | fill s | size MB | bytes/article | add µs/article "
        "| lookup hit µs p50 (p95) | lookup miss µs p50 (p95) | µs/article, 20 per query |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bands-", dir="/tmp") as folder:
        for layout in args.layouts.split(","):
            print(_sqlite(Path(folder) / f"{layout}.db", layout, args.articles), flush=True)
    if args.postgres:
        print(asyncio.run(_postgres(args.articles)), flush=True)
    return 0


def _article_id(layout: str, n: int) -> str | int:
    return n if layout == "integer-id" else f"{n:08x}-0000-5000-8000-{n:012x}"


def _sqlite(path: Path, layout: str, articles: int) -> str:
    create, index = _LAYOUTS[layout]
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    started = time.perf_counter()
    _fill(db, create, index, layout, articles)
    fill = time.perf_counter() - started
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    rng = random.Random(18)
    added = [(_article_id(layout, articles + i), _keys(rng)) for i in range(ADDED)]
    batches = range(0, ADDED, PER_TRANSACTION)
    add = sum(_insert(db, added[i : i + PER_TRANSACTION]) for i in batches) / ADDED
    hits = [keys for _, keys in rng.sample(added, LOOKUPS)]
    misses = [_keys(rng) for _ in range(LOOKUPS)]
    hit = _lookups(
        lambda keys: db.execute(_LOOKUP.format(",".join("?" * KEYS)), keys).fetchall(), hits
    )
    miss = _lookups(
        lambda keys: db.execute(_LOOKUP.format(",".join("?" * KEYS)), keys).fetchall(), misses
    )
    feed = _per_feed(misses)
    per_feed = _lookups(
        lambda keys: db.execute(_FEED_LOOKUP.format(",".join("?" * len(keys))), keys).fetchall(),
        feed,
    )
    db.close()
    return (
        f"| SQLite | {layout} | {fill:.0f} | {size / 1e6:.0f} | {size / articles:.0f} | "
        f"{add:.0f} | {hit[0]:.0f} ({hit[1]:.0f}) | {miss[0]:.0f} ({miss[1]:.0f}) | "
        f"{per_feed[0] / PER_TRANSACTION:.0f} |"
    )


def _fill(db: sqlite3.Connection, create: str, index: str, layout: str, articles: int) -> None:
    """Random keys generated by SQLite itself, sorted once (bulk load), then indexed."""
    db.execute(create)
    article = (
        "x / 24"
        if layout == "integer-id"
        else "printf('%08x-0000-5000-8000-%012x', x / 24, x / 24)"
    )
    db.execute("BEGIN")
    db.execute(
        f"INSERT INTO bands SELECT random(), {article} FROM ("
        " WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < ?)"
        " SELECT x FROM c) ORDER BY 1, 2",
        (articles * KEYS - 1,),
    )
    if index:
        db.execute(index)
    db.execute("COMMIT")


def _per_feed(key_sets: Sequence[list[int]]) -> list[list[int]]:
    """The keys of ``PER_TRANSACTION`` articles in one list: one query for a feed's pass."""
    return [
        [key for keys in key_sets[i : i + PER_TRANSACTION] for key in keys]
        for i in range(0, len(key_sets), PER_TRANSACTION)
    ]


def _keys(rng: random.Random) -> list[int]:
    return [rng.getrandbits(64) - (1 << 63) for _ in range(KEYS)]


def _insert(db: sqlite3.Connection, batch: Sequence[tuple[str | int, list[int]]]) -> float:
    """µs for the rows of one feed's pass inside its transaction: the store commits that
    transaction anyway, so the commit is not counted."""
    db.execute("BEGIN")
    started = time.process_time()
    db.executemany(
        "INSERT INTO bands (key, article_id) VALUES (?, ?)",
        [(key, article) for article, keys in batch for key in keys],
    )
    spent = time.process_time() - started
    db.execute("COMMIT")
    return spent * 1e6


def _lookups(
    lookup: Callable[[list[int]], object], key_sets: Sequence[list[int]]
) -> tuple[float, float]:
    """CPU µs (SQLite works in this process; the machine may be busy with others)."""
    times = []
    for keys in key_sets:
        started = time.process_time_ns()
        lookup(keys)
        times.append((time.process_time_ns() - started) / 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


async def _postgres(articles: int) -> str:
    import asyncpg

    sys.path.insert(0, str(ROOT / "tests"))
    from pgcluster import create_database, find_bin_dir, throwaway_cluster

    bin_dir = find_bin_dir()
    if bin_dir is None:
        return "| PostgreSQL | (not installed) | | | | | | | |"
    with throwaway_cluster(bin_dir, settings="") as admin:
        url = await create_database(admin, "bands")
        db = await asyncpg.connect(url)
        try:
            return await _postgres_run(db, articles)
        finally:
            await db.close()


async def _postgres_run(db: object, articles: int) -> str:
    import asyncpg

    assert isinstance(db, asyncpg.Connection)
    started = time.perf_counter()
    await db.execute("CREATE TABLE bands (key bigint NOT NULL, article_id text NOT NULL)")
    await db.execute(
        "INSERT INTO bands SELECT (random() * 18446744073709551615 - 9223372036854775808)::numeric"
        "::bigint, lpad(to_hex(x / 24), 8, '0') || '-0000-5000-8000-' || lpad(to_hex(x / 24), 12,"
        " '0') FROM generate_series(0, $1::bigint - 1) AS x",
        articles * KEYS,
    )
    await db.execute("ALTER TABLE bands ADD PRIMARY KEY (key, article_id)")
    await db.execute("VACUUM ANALYZE bands")
    fill = time.perf_counter() - started
    size = await db.fetchval("SELECT pg_total_relation_size('bands')")
    rng = random.Random(18)
    added = [(_article_id("without-rowid", articles + i), _keys(rng)) for i in range(ADDED)]
    spent = 0.0
    for i in range(0, ADDED, PER_TRANSACTION):
        rows = [(k, a) for a, keys in added[i : i + PER_TRANSACTION] for k in keys]
        async with db.transaction():
            started = time.perf_counter()
            await db.executemany("INSERT INTO bands (key, article_id) VALUES ($1, $2)", rows)
            spent += time.perf_counter() - started
    add = spent * 1e6 / ADDED
    query = (
        "SELECT article_id, count(*) AS n FROM bands WHERE key = ANY($1::bigint[])"
        " GROUP BY article_id ORDER BY n DESC LIMIT 8"
    )
    statement = await db.prepare(query)
    hits = [keys for _, keys in rng.sample(added, LOOKUPS)]
    misses = [_keys(rng) for _ in range(LOOKUPS)]
    hit = await _async_lookups(statement, hits)
    miss = await _async_lookups(statement, misses)
    feed = _per_feed(misses)
    by_feed = await db.prepare("SELECT key, article_id FROM bands WHERE key = ANY($1::bigint[])")
    per_feed = await _async_lookups(by_feed, feed)
    return (
        f"| PostgreSQL | btree (key, article_id) | {fill:.0f} | {size / 1e6:.0f} | "
        f"{size / articles:.0f} | {add:.0f} | {hit[0]:.0f} ({hit[1]:.0f}) | "
        f"{miss[0]:.0f} ({miss[1]:.0f}) | {per_feed[0] / PER_TRANSACTION:.0f} |"
    )


async def _async_lookups(statement: object, key_sets: Sequence[list[int]]) -> tuple[float, float]:
    times = []
    for keys in key_sets:
        started = time.perf_counter()
        await statement.fetch(keys)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1e6)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


if __name__ == "__main__":
    raise SystemExit(main())
