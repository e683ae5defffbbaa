"""``python -m bench.dedupe.million [--articles 1000000]``: the store's own schema (schema.sql)
and statements (queries.py) at a million articles, SQLite.

Fills ``articles`` (small texts: the band table is what is measured) over 2,000 feeds and
``near_keys`` with 24 random keys per article, in bulk. Then, as ``Store.save`` runs them
for a feed's pass of 20 new signed articles inside one transaction:

- the lookup (``NEAR_HOLDERS``, the 480 keys of the batch), for new texts (no holder) and for
  copies of stored articles (their 24 keys held);
- writing the batch's rows (``Dialect.insert_near_keys``, sorted by key), commit included (it
  writes the pages the rows dirtied);
- deleting 20 articles' rows (``UNINDEX_ARTICLES``, retention), commit included.

CPU time of this process (SQLite works in it), with the file in the page cache.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aggregator.edges.store import queries as q
from aggregator.edges.store.sqlite import sqlite_sql

KEYS = 24
BATCH = 20
ROUNDS = 200
SCHEMA = Path(__file__).resolve().parents[2] / "aggregator" / "edges" / "store" / "schema.sql"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dedupe.million")
    parser.add_argument("--articles", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="million-", dir="/tmp") as folder:
        db = sqlite3.connect(Path(folder) / "db.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA wal_autocheckpoint = 10000")
        started = time.perf_counter()
        _fill(db, args.articles)
        fill = time.perf_counter() - started
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = Path(folder, "db.sqlite3").stat().st_size
        rows = db.execute("SELECT count(*) FROM near_keys").fetchone()[0]
        pages = (
            db.execute(
                "SELECT count(*) FROM dbstat WHERE name IN ('near_keys', 'near_keys_article')"
            ).fetchone()[0]
            if _has_dbstat(db)
            else None
        )
        rng = random.Random(18)
        print(
            f"{args.articles:,} articles, {rows:,} band key rows; database {size / 1e6:.0f} MB"
            + (f" ({pages * 4096 / 1e6:.0f} MB of it the band table)" if pages else "")
            + f"; filled in {fill:.0f} s; SQLite {sqlite3.sqlite_version}\n"
        )
        print("| per batch of 20 articles | µs p50 | µs p95 | µs per article |")
        print("|---|---:|---:|---:|")
        print(_row("lookup, new texts", _lookups(db, rng, hits=False)))
        print(_row("lookup, copies of stored articles", _lookups(db, rng, hits=True)))
        print(_row("write the rows, commit", _writes(db, rng, args.articles)))
        print(_row("delete 20 articles' rows, commit", _deletes(db, rng, args.articles)))
        db.close()
    return 0


def _has_dbstat(db: sqlite3.Connection) -> bool:
    try:
        db.execute("SELECT 1 FROM dbstat LIMIT 1")
    except sqlite3.OperationalError:
        return False
    return True


def _fill(db: sqlite3.Connection, articles: int) -> None:
    db.executescript(SCHEMA.read_text(encoding="utf-8"))
    db.execute("BEGIN")
    db.execute(
        "INSERT INTO feeds (name, config_url, url, author)"
        " SELECT 'f' || x, 'http://h/' || x, 'http://h/' || x, 'a' FROM ("
        " WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000)"
        " SELECT x FROM c)"
    )
    db.execute(
        "INSERT INTO articles (id, feed_id, fingerprint, content_hash, title, content,"
        " first_seen, changed_at, post_path, seq)"
        " SELECT printf('%08x-0000-5000-8000-%012x', x, x), 1 + x % 2000, 'fp' || x, 'h',"
        " 't', 'text of article ' || x, '2026-01-01', '2026-01-01', x || '.md', x FROM ("
        " WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)"
        " SELECT x FROM c)",
        (articles,),
    )
    db.execute(
        "INSERT INTO near_keys SELECT random(), 1 + x / 24 FROM ("
        " WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < ?)"
        " SELECT x FROM c) ORDER BY 1, 2 ON CONFLICT DO NOTHING",
        (articles * KEYS - 1,),
    )
    db.execute("COMMIT")


def _keys(rng: random.Random) -> list[int]:
    return [rng.getrandbits(64) - (1 << 63) for _ in range(KEYS)]


def _lookups(db: sqlite3.Connection, rng: random.Random, hits: bool) -> list[float]:
    sql = sqlite_sql(q.NEAR_HOLDERS)
    held = "SELECT key FROM near_keys WHERE key > ? ORDER BY key LIMIT ?"
    times = []
    for _ in range(ROUNDS):
        keys = [k for _ in range(BATCH) for k in _keys(rng)]
        if hits:  # as many stored keys: every incoming article a copy of a stored one
            keys = [r[0] for r in db.execute(held, (keys[0], BATCH * KEYS))]
        times.append(_cpu(lambda k=keys: db.execute(sql, (json.dumps(sorted(k)), 1)).fetchall()))
    return times


def _writes(db: sqlite3.Connection, rng: random.Random, articles: int) -> list[float]:
    insert = sqlite_sql(q.SQLITE.insert_near_keys)
    times = []
    for _ in range(ROUNDS):
        ids = [f"{x:08x}-0000-5000-8000-{x:012x}" for x in rng.sample(range(1, articles), BATCH)]

        def write(ids: list[str] = ids) -> None:
            db.execute("BEGIN")
            rows = sorted((k, i) for i in ids for k in _keys(rng))
            db.executemany(insert, rows)
            db.execute("COMMIT")

        times.append(_cpu(write))
    return times


def _deletes(db: sqlite3.Connection, rng: random.Random, articles: int) -> list[float]:
    unindex = sqlite_sql(q.UNINDEX_ARTICLES)
    times = []
    for _ in range(ROUNDS):
        ids = [f"{x:08x}-0000-5000-8000-{x:012x}" for x in rng.sample(range(1, articles), BATCH)]

        def delete(ids: list[str] = ids) -> None:
            db.execute("BEGIN")
            db.execute(unindex, (json.dumps(ids),))
            db.execute("COMMIT")

        times.append(_cpu(delete))
    return times


def _cpu(work: Callable[[], object]) -> float:
    started = time.process_time_ns()
    work()
    return (time.process_time_ns() - started) / 1000


def _row(label: str, times: list[float]) -> str:
    times.sort()
    p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
    return f"| {label} | {p50:.0f} | {p95:.0f} | {p50 / BATCH:.0f} |"


if __name__ == "__main__":
    raise SystemExit(main())
