"""The stores: schema and migrations, one transaction per feed, indexed lookups. Tests taking
``database`` run against both backends (SQLite and PostgreSQL: the same behaviour); the rest
are SQLite's own (WAL, PRAGMA user_version, query plans). PostgreSQL's own: test_store_postgres.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
from collections.abc import Coroutine, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from aggregator.config import FeedConfig, OutputConfig
from aggregator.edges.store import Store, open_store, queries
from aggregator.edges.store.migrations import SCHEMA_VERSION
from aggregator.edges.store.sqlite import sqlite_sql
from aggregator.errors import StoreError
from aggregator.models import Article, Changes, FeedStatus, FeedUpdate, Outcome
from aggregator.run.publish import publish_posts
from aggregator.steps.normalize import article_id, entry_key
from aggregator.steps.render import filename

NOW = datetime(2026, 1, 1, tzinfo=UTC)
STORE_DIR = Path(__file__).parents[1] / "aggregator" / "edges" / "store"
FEED = FeedConfig(name="A", url="http://127.0.0.1/a.xml", categories=("x",))
OTHER = FeedConfig(name="B", url="http://127.0.0.1/b.xml")


def article(feed: FeedConfig, n: int, content: str = "body") -> Article:
    key = entry_key(f"g{n}", None, "", "")
    return Article(
        id=article_id(feed.name, key),
        feed_name=feed.name,
        entry_key=key,
        canonical_url=f"https://example.com/{n}",
        link=f"https://example.com/{n}",
        title=f"title {n}",
        author=None,
        content=f"<p>{content}</p>",
        image=None,
        published=NOW - timedelta(hours=n),
        updated=None,
        fingerprint=f"fp{n}",
        content_hash=f"{n}-{content}",
    )


T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "aggregator.sqlite3"


def count(database: str, table: str) -> int:
    """Rows in a table, read beside the store (either backend)."""
    if "://" not in database:
        with closing(sqlite3.connect(database)) as db:
            return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    async def pg() -> int:
        import asyncpg

        conn = await asyncpg.connect(database)
        try:
            return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
        finally:
            await conn.close()

    return run(pg())


async def save(store: Store, feed: FeedConfig, articles: list[Article]) -> list[Outcome]:
    states = await store.sync_feeds([FEED, OTHER])
    update = FeedUpdate(feed_id=states[feed.name].id, now=NOW, status=FeedStatus.OK, body_hash="h")
    return [d.outcome for d in await store.save(update, articles)]


async def save_one_merged(database: str) -> None:
    """Two articles of FEED and one entry of OTHER merged into the first (migration tests)."""
    store = await open_store(database)
    try:
        await save(store, FEED, [article(FEED, 1), article(FEED, 2)])
        assert await save(store, OTHER, [article(OTHER, 1)]) == [Outcome.DUPLICATE]
    finally:
        await store.close()


async def states_and_save_again(
    database: str,
) -> tuple[dict[str, tuple[bool, int]], list[Outcome]]:
    """After ``save_one_merged`` and a migration: each feed's (dedupe, duplicates), and the
    outcomes of OTHER's merged entry again with a new one."""
    store = await open_store(database)
    try:
        states = {s.name: (s.dedupe, s.duplicates) for s in await store.feed_states()}
        return states, await save(store, OTHER, [article(OTHER, 1), article(OTHER, 3)])
    finally:
        await store.close()


def test_fresh_database_is_created_at_the_latest_schema_in_wal_mode(db_path: Path) -> None:
    async def go() -> None:
        store = await open_store(str(db_path))
        await store.close()

    run(go())
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


class _HoldStops(logging.Filter):
    """Holds aiosqlite's worker thread just before it runs a connection's stop, until the test
    lets it go: the race a failed open used to lose a few times in 20 (the stop was queued, not
    awaited, and the thread called back into a loop asyncio.run had closed) lost every time."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()

    def filter(self, record: logging.LogRecord) -> bool:
        if "close_and_stop" in record.getMessage():
            self.go.wait(timeout=10)
        return False


@pytest.mark.parametrize(
    ("where", "cause"),
    [("db.sqlite3", "is a directory"), ("file/db.sqlite3", "is not a folder")],
    ids=["a-folder", "under-a-file"],
)
def test_a_database_that_cannot_be_opened_leaves_no_thread_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, cause: str
) -> None:
    (tmp_path / "db.sqlite3").mkdir()
    (tmp_path / "file").write_text("a file, not a folder")
    died: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: died.append(args.exc_value))
    hold = _HoldStops()
    aiosqlite_log = logging.getLogger("aiosqlite")
    monkeypatch.setattr(aiosqlite_log, "level", logging.DEBUG)
    aiosqlite_log.addFilter(hold)
    try:
        before = set(threading.enumerate())
        loop = asyncio.new_event_loop()
        with pytest.raises(StoreError, match=cause) as info:
            loop.run_until_complete(open_store(str(tmp_path / where)))
        loop.close()  # at once, as asyncio.run does
        hold.go.set()
        for thread in set(threading.enumerate()) - before:
            thread.join(timeout=10)
            assert not thread.is_alive(), f"{thread.name} outlived the failed open"
    finally:
        hold.go.set()
        aiosqlite_log.removeFilter(hold)
    assert str(tmp_path / where) in str(info.value)
    assert died == [], "a thread died after the open failed"


def test_a_newer_schema_is_refused_with_a_clear_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(db_path)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this aggregator"):
        run(open_store(str(db_path)))


# What undoes each step on today's schema (SQLite drops columns and tables).
_UNDO = {
    7: ("DROP TABLE story_joins",),
    6: ("ALTER TABLE feeds DROP COLUMN read_entries",),
    5: (
        "DROP TABLE near_keys",
        "DROP INDEX articles_seq",
        "ALTER TABLE articles DROP COLUMN seq",
        "ALTER TABLE articles DROP COLUMN revision",
        "ALTER TABLE feeds DROP COLUMN duplicates",
        "ALTER TABLE feeds DROP COLUMN dedupe",
    ),
    4: ("ALTER TABLE feeds DROP COLUMN lease_owner",),
    3: ("ALTER TABLE feeds DROP COLUMN url_via", "DROP TABLE page_queue"),
    2: (
        "ALTER TABLE feeds DROP COLUMN rules_hash",
        "ALTER TABLE feeds DROP COLUMN filtered",
        "ALTER TABLE fetch_log DROP COLUMN filtered",
    ),
}


def downgrade(db_path: Path, version: int) -> None:
    with closing(sqlite3.connect(db_path)) as db:
        for step in range(SCHEMA_VERSION, version, -1):
            for statement in _UNDO[step]:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {version}")
        db.commit()


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6])
def test_an_older_database_is_migrated_keeping_its_rows(db_path: Path, version: int) -> None:
    """Older versions are made from today's schema by undoing the steps since."""
    assert set(_UNDO) == set(range(2, SCHEMA_VERSION + 1))

    async def fill() -> None:
        store = await open_store(str(db_path))
        assert await save(store, FEED, [article(FEED, 1)]) == [Outcome.NEW]
        await store.close()

    run(fill())
    downgrade(db_path, version)

    async def reopen() -> list[Outcome]:
        store = await open_store(str(db_path))
        try:
            states = {s.name: s for s in await store.feed_states()}
            assert states["A"].article_count == 1 and states["A"].rules_hash == ""
            assert states["A"].pages_waiting == 0 and states["A"].url_via is None
            return await save(store, FEED, [article(FEED, 1), article(FEED, 2)])
        finally:
            await store.close()

    assert run(reopen()) == [Outcome.UNCHANGED, Outcome.NEW]
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_migration_to_3_forgets_links_that_identify_no_article(db_path: Path) -> None:
    """Links stored before a link had to be a per-article one: a site's front page, or a link
    several articles share, no longer makes another feed's entry a duplicate."""
    links = {
        "a": "https://pod.example/",
        "b": "https://pod.example:8443/",
        "c": "https://pod.example/show",
        "d": "https://pod.example/show",
        "e": "https://pod.example/story?id=1",
    }

    async def fill() -> None:
        store = await open_store(str(db_path))
        await store.sync_feeds([FEED])
        await store.close()

    run(fill())
    with closing(sqlite3.connect(db_path)) as db:
        for key, link in links.items():
            db.execute(
                "INSERT INTO articles (id, feed_id, canonical_url, fingerprint, content_hash,"
                " title, content, first_seen, changed_at, post_path)"
                " VALUES (?, 1, ?, ?, 'h', 't', 'c', '2024', '2024', ?)",
                (key, link, key, f"{key}.md"),
            )
        db.commit()
    downgrade(db_path, 2)
    run(fill())  # opening migrates
    with closing(sqlite3.connect(db_path)) as db:
        rows = dict(db.execute("SELECT id, canonical_url FROM articles"))
    assert rows == {"a": None, "b": None, "c": None, "d": None, "e": links["e"]}


def test_migration_to_5_numbers_articles_and_counts_the_duplicates_already_merged(
    db_path: Path,
) -> None:
    """Articles get their number in insertion order (new ones follow), feeds their dedupe
    flag and the count of their entries already merged into another feed's article."""

    run(save_one_merged(str(db_path)))
    downgrade(db_path, 4)
    states, outcomes = run(states_and_save_again(str(db_path)))
    assert states == {"A": (True, 0), "B": (True, 1)}
    assert outcomes == [Outcome.UNCHANGED, Outcome.NEW]
    with closing(sqlite3.connect(db_path)) as db:
        numbers = db.execute("SELECT seq FROM articles ORDER BY rowid").fetchall()
    assert numbers == [(1,), (2,), (3,)]


def test_save_decides_and_counts_in_one_transaction(database: str) -> None:
    async def go() -> tuple[list[Outcome], list[Outcome], list[Outcome]]:
        store = await open_store(database)
        try:
            first = await save(store, FEED, [article(FEED, 1), article(FEED, 2)])
            again = await save(store, FEED, [article(FEED, 1), article(FEED, 2, "changed")])
            syndicated = await save(store, OTHER, [article(OTHER, 1)])  # same URL and fingerprint
            return first, again, syndicated
        finally:
            await store.close()

    first, again, syndicated = run(go())
    assert first == [Outcome.NEW, Outcome.NEW]
    assert again == [Outcome.UNCHANGED, Outcome.UPDATED]
    assert syndicated == [Outcome.DUPLICATE]
    assert count(database, "articles") == 2
    assert count(database, "entries") == 3


def test_a_failed_save_leaves_nothing_behind(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def go() -> None:
        store = await open_store(database)
        try:

            async def broken(*args: object) -> None:
                if "://" not in database:
                    raise sqlite3.OperationalError("database or disk is full")
                import asyncpg

                raise asyncpg.DiskFullError("could not extend file: disk is full")

            monkeypatch.setattr(store, "_update_feed", broken)
            with pytest.raises(StoreError, match="disk is full"):
                await save(store, FEED, [article(FEED, 1)])
        finally:
            await store.close()

    run(go())
    assert count(database, "articles") == 0


def test_a_write_cancelled_while_it_waits_for_the_lock_leaves_no_transaction_open(
    db_path: Path,
) -> None:
    """A daemon stopping cancels its jobs: a write cancelled while its BEGIN waits for another
    process's lock still runs whole in aiosqlite's thread (committed, or rolled back). The
    next write works (it failed with "cannot start a transaction within a transaction" when a
    transaction was a hop per statement)."""

    async def go() -> bool:
        store = await open_store(str(db_path))
        try:
            await store.sync_feeds([FEED])
            with closing(sqlite3.connect(db_path, isolation_level=None)) as other:
                other.execute("BEGIN IMMEDIATE")  # another process writing
                write = asyncio.create_task(store.set_disabled(FEED.name, "paused"))
                await asyncio.sleep(0)  # the task has queued its BEGIN, which now waits
                write.cancel()
                other.execute("ROLLBACK")
                with pytest.raises(asyncio.CancelledError):
                    await write
            return await store.set_disabled(FEED.name, "gone")
        finally:
            await store.close()

    assert run(go())
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("SELECT disabled_reason FROM feeds").fetchall() == [("gone",)]


def test_a_sqlite_transaction_is_one_hop_to_the_database_thread(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save of three articles is one call on aiosqlite's thread (it was 14, each waiting for
    the event loop between statements); its statements all ran (three articles stored)."""
    import aiosqlite

    hops = 0
    execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal hops
        hops += 1
        return await execute(self, fn, *args, **kwargs)

    async def go() -> list[Outcome]:
        store = await open_store(str(db_path))
        try:
            states = await store.sync_feeds([FEED])
            update = FeedUpdate(feed_id=states[FEED.name].id, now=NOW, status=FeedStatus.OK)
            monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
            decisions = await store.save(update, [article(FEED, n) for n in range(3)])
            monkeypatch.undo()
            return [d.outcome for d in decisions]
        finally:
            await store.close()

    assert run(go()) == [Outcome.NEW] * 3
    assert hops == 1
    assert count(str(db_path), "articles") == 3


def test_a_transaction_whose_work_waits_for_anything_else_is_refused_and_rolled_back(
    db_path: Path,
) -> None:
    """SQLite runs a transaction whole on its connection's thread: work that awaits something
    besides its session could not go on there. It fails, naming the cause, and writes nothing."""

    async def go() -> None:
        store = await open_store(str(db_path))
        try:
            await store.sync_feeds([FEED])

            async def wanders(db: Any) -> None:
                await db.execute(queries.SET_DISABLED, "paused", FEED.name)
                await asyncio.sleep(0)

            with pytest.raises(RuntimeError, match="waited for something other than the database"):
                await store._db.transaction("wander", wanders)
            assert await store.set_disabled(FEED.name, None)  # the next one works
        finally:
            await store.close()

    run(go())
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("SELECT disabled_reason FROM feeds").fetchall() == [(None,)]


def test_a_transaction_right_after_a_pragma_that_returns_rows_commits(db_path: Path) -> None:
    """Queued back to back on aiosqlite's thread: a PRAGMA's row left in a cursor (until the
    event loop took the result) kept its statement open, and the transaction after it failed
    with "cannot commit transaction - SQL statements in progress" (a daemon's tick, 1 in 3)."""

    async def go() -> list[bool]:
        store = await open_store(str(db_path))
        try:
            await store.sync_feeds([FEED])
            return [
                await store.set_disabled(FEED.name, "paused"),
                *await asyncio.gather(
                    *(
                        step
                        for _ in range(5)
                        for step in (store._db.tidy(), store.set_disabled(FEED.name, None))
                    )
                ),
            ]
        finally:
            await store.close()

    assert run(go()) == [True] + [None, True] * 5


def test_post_paths_page_by_name_and_a_missing_post_is_queued_again_by_name(
    database: str,
) -> None:
    """What the closing publish pages through to find post files that went missing (by
    name: the unique index answers alone), and how it queues them again."""

    async def go() -> tuple[list[str], list[str], list[str]]:
        store = await open_store(database)
        try:
            await save(store, FEED, [article(FEED, n) for n in range(3)])
            pending = await store.pending_posts(10)
            await store.mark_rendered([(a.id, a.content_hash, a.revision) for a in pending])
            first = await store.post_paths(limit=2)
            pages = first + await store.post_paths(after=first[-1], limit=2)
            assert await store.pending_posts(10) == []
            await store.mark_unrendered([pages[1]])
            again = [a.post_path for a in await store.pending_posts(10)]
            return pages, sorted(a.post_path for a in pending), again
        finally:
            await store.close()

    pages, names, again = run(go())
    assert pages == names and len(names) == 3
    assert again == [names[1]]


def test_post_name_clash_gets_the_whole_id(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two new articles whose names clash (as if date, slug and id prefix were equal)."""
    monkeypatch.setattr(filename, "post_filename", lambda *args: "2026-01-01-same.md")

    async def go() -> list[str]:
        store = await open_store(database)
        try:
            await save(store, FEED, [article(FEED, 1), article(FEED, 2)])
            return await store.post_paths()
        finally:
            await store.close()

    names = sorted(run(go()))
    assert len(set(names)) == 2
    assert "2026-01-01-same.md" in names
    assert next(n for n in names if n != "2026-01-01-same.md").startswith("2026-01-01-same-")


# -- several workers on one database (two stores = two connections or pools) -------------


def feeds_on_hosts(n: int, hosts: int) -> list[FeedConfig]:
    return [FeedConfig(name=f"f{i:02}", url=f"http://h{i % hosts}.example/{i}") for i in range(n)]


async def claim_all(
    store: Store, at: datetime, *, limit: int = 4, lease: float = 60.0, per_host: int = 100
) -> set[str]:
    return {s.name for s in await store.claim_due(at, limit, lease, per_host)}


def test_a_daemon_holding_the_database_alone_lets_a_killed_ones_leases_go(
    database: str,
) -> None:
    """SQLite: one daemon per database, so the leases found when it takes the lock are a
    killed daemon's and go at once. PostgreSQL: another worker's leases stay its own."""
    feeds = feeds_on_hosts(3, hosts=3)

    async def go() -> set[str]:
        killed = await open_store(database)
        await killed.sync_feeds(feeds)
        assert await claim_all(killed, NOW, lease=3600.0) == {f.name for f in feeds}
        await killed.close()  # no release: as if killed
        daemon = await open_store(database)
        try:
            await daemon.lock_daemon()
            return await claim_all(daemon, NOW + timedelta(seconds=1), lease=3600.0)
        finally:
            await daemon.close()

    claimed = run(go())
    alone = not database.startswith("postgresql")
    assert claimed == ({f.name for f in feeds} if alone else set())


def test_two_workers_claiming_at_once_never_get_the_same_feed(database: str) -> None:
    feeds = feeds_on_hosts(30, hosts=30)

    async def go() -> list[set[str]]:
        one, two = await open_store(database), await open_store(database)
        try:
            await one.sync_feeds(feeds)
            claims: list[set[str]] = []
            while True:
                got = await asyncio.gather(claim_all(one, NOW), claim_all(two, NOW))
                if not any(got):
                    return claims
                claims += got
        finally:
            await one.close()
            await two.close()

    claims = run(go())
    claimed = [name for c in claims for name in c]
    assert sorted(claimed) == sorted(f.name for f in feeds)  # each exactly once


def test_an_expired_lease_is_taken_over_by_another_worker(database: str) -> None:
    async def go() -> tuple[set[str], set[str], set[str]]:
        one, two = await open_store(database), await open_store(database)
        try:
            await one.sync_feeds(feeds_on_hosts(3, hosts=3))
            first = await claim_all(one, NOW, lease=60.0)
            while_held = await claim_all(two, NOW + timedelta(seconds=59))
            after = await claim_all(two, NOW + timedelta(seconds=61))
            return first, while_held, after
        finally:
            await one.close()
            await two.close()

    first, while_held, after = run(go())
    assert first == after == {"f00", "f01", "f02"}
    assert while_held == set()


def test_an_expired_lease_stays_with_the_worker_that_took_it_over(database: str) -> None:
    """The first worker comes back late (its lease expired, the feed was claimed again): its
    save and its release must not free the feed under the second worker."""

    async def go() -> set[str]:
        one, two = await open_store(database), await open_store(database)
        try:
            states = await one.sync_feeds(feeds_on_hosts(1, hosts=1))
            feed_id = states["f00"].id
            assert await claim_all(one, NOW, lease=60.0) == {"f00"}
            assert await claim_all(two, NOW + timedelta(seconds=61), lease=60.0) == {"f00"}
            late = NOW + timedelta(seconds=62)
            await one.save(FeedUpdate(feed_id=feed_id, now=late, status=FeedStatus.OK), [])
            await one.release([feed_id])
            three = await open_store(database)
            try:
                return await claim_all(three, late)  # two's lease still holds
            finally:
                await three.close()
        finally:
            await one.close()
            await two.close()

    assert run(go()) == set()


def test_first_fetch_spreading_never_reschedules_what_another_worker_set(database: str) -> None:
    """Workers starting together each spread the first fetches; the second must not move a
    feed the first already scheduled (or fetched), while changed intervals always apply."""
    early, late = NOW + timedelta(seconds=5), NOW + timedelta(minutes=9)

    async def go() -> list[dict[str, datetime | None]]:
        one, two = await open_store(database), await open_store(database)
        try:
            await one.sync_feeds(feeds_on_hosts(2, hosts=2))
            await one.schedule_feeds([("f00", early)], first_only=True)
            await two.schedule_feeds([("f00", late), ("f01", late)], first_only=True)
            spread = {s.name: s.next_check_at for s in await two.feed_states()}
            await two.schedule_feeds([("f00", NOW)])  # a changed interval: always
            return [spread, {s.name: s.next_check_at for s in await two.feed_states()}]
        finally:
            await one.close()
            await two.close()

    spread, changed = run(go())
    assert spread == {"f00": early, "f01": late}
    assert changed == {"f00": NOW, "f01": late}


def test_per_host_is_one_budget_shared_by_all_workers(database: str) -> None:
    async def go() -> list[int]:
        one, two = await open_store(database), await open_store(database)
        try:
            await one.sync_feeds(feeds_on_hosts(6, hosts=1))
            a = await claim_all(one, NOW, per_host=2)
            b = await claim_all(two, NOW, per_host=2)
            await one.release([s.id for s in await one.feed_states() if s.name in a][:1])
            c = await claim_all(two, NOW, per_host=2)
            return [len(a), len(b), len(c)]
        finally:
            await one.close()
            await two.close()

    assert run(go()) == [2, 0, 1]


def test_two_workers_saving_one_syndicated_article_at_once_store_it_once(
    database: str,
) -> None:
    """Feeds A and B carry the same articles (canonical URL and fingerprint); two workers save
    them at the same moment: exactly one NEW and one DUPLICATE each time."""

    async def go() -> list[list[Outcome]]:
        one, two = await open_store(database), await open_store(database)
        try:
            ids = {name: s.id for name, s in (await one.sync_feeds([FEED, OTHER])).items()}

            async def save_one(store: Store, feed: FeedConfig, n: int) -> Outcome:
                update = FeedUpdate(feed_id=ids[feed.name], now=NOW, status=FeedStatus.OK)
                a = article(feed, n)
                [decision] = await store.save(update, [a])
                return decision.outcome

            rounds = []
            for n in range(12):
                got = await asyncio.gather(save_one(one, FEED, n), save_one(two, OTHER, n))
                rounds.append(sorted(got, key=lambda o: o.value))
            return rounds
        finally:
            await one.close()
            await two.close()

    rounds = run(go())
    assert all(r == [Outcome.DUPLICATE, Outcome.NEW] for r in rounds), rounds
    assert count(database, "articles") == 12
    assert count(database, "entries") == 24


@pytest.fixture
def plan_db() -> Iterator[sqlite3.Connection]:
    schema = (STORE_DIR / "schema.sql").read_text(encoding="utf-8")
    db = sqlite3.connect(":memory:")
    db.executescript(schema)
    yield db
    db.close()


def lookups(dialect: queries.Dialect) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """The store's per-feed lookups as it runs them, each with parameters (a list for ANY)."""
    keys = ["a", "b"]
    bands = [-(2**63), 2**63 - 1]
    return {
        "fingerprint": (dialect.matches_by_fingerprint, (keys, 1)),
        "canonical url": (dialect.matches_by_url, (keys, 1)),
        "near-duplicate candidates": (queries.NEAR_HOLDERS, (bands, 1)),
        "near-duplicate texts": (queries.NEAR_TEXTS, (keys,)),
        "band key insert": (queries.SQLITE.insert_near_keys, (bands[0], "a")),
        "band keys by article": (queries.UNINDEX_ARTICLES, (keys,)),
        "new article's number": (dialect.insert_article, ("a", 1, *[None] * 13)),
        "entry keys": (queries.KNOWN_KEYS, (1, keys)),
        "post names": (queries.TAKEN_POST_NAMES, (keys,)),
        "pending posts": (queries.PENDING_POSTS, (10,)),
        "articles by id": (queries.DELETE_ARTICLES, (keys,)),
        "queued pages by id": (queries.UNQUEUE_PAGES, (keys,)),
        "joined articles": (queries.JOINING, (keys,)),
        "an entry moving": (queries.MOVE_ENTRY, ("a", 1, "k")),
        "band keys moving": (queries.MOVE_NEAR_KEYS, ("a", "b")),
        **{
            f"a joined article's rows ({n})": (sql, ("a",))
            for n, sql in enumerate(queries.JOINED_ARTICLE)
        },
        "a joined article's feed": (queries.MORE_DUPLICATES, (1, 1)),
    }


@pytest.mark.parametrize("lookup", sorted(lookups(queries.SQLITE)))
def test_per_feed_lookups_use_an_index_not_a_scan(plan_db: sqlite3.Connection, lookup: str) -> None:
    """A scan here makes every feed's pass proportional to the whole store: quadratic. (The
    list parameter itself, json_each, is scanned: it is the batch, not the store.)"""
    query, params = lookups(queries.SQLITE)[lookup]
    args = [json.dumps(p) if isinstance(p, list) else p for p in params]
    plan = plan_db.execute("EXPLAIN QUERY PLAN " + sqlite_sql(query), args)
    steps = [row[3] for row in plan]
    full_scans = [
        s
        for s in steps
        if s.startswith("SCAN")
        and "USING" not in s
        and not s.startswith("SCAN json_each")
        and "VIRTUAL TABLE" not in s  # json_each under an alias
    ]
    assert not full_scans, steps


@pytest.mark.parametrize("on_change", [(), ("true",)], ids=["counted", "listed"])
def test_publishing_lists_the_posts_it_wrote_only_for_an_on_change_command(
    tmp_path: Path, on_change: tuple[str, ...]
) -> None:
    """The (article id, post file) pairs are on_change's manifest; without a command a pass
    keeps only their counts (a first pass of 38,000 posts held ~6 MB of pairs to its end)."""
    output = OutputConfig(
        posts_dir=tmp_path / "posts", atom_path=tmp_path / "atom.xml", on_change=on_change
    )

    async def go() -> Changes:
        store = await open_store(str(tmp_path / "db.sqlite3"))
        try:
            await save(store, FEED, [article(FEED, n) for n in range(3)])
            return await publish_posts(store, output)
        finally:
            await store.close()

    changes = run(go())
    assert (changes.added_count, changes.updated_count, bool(changes)) == (3, 0, True)
    written = sorted(p.name for p in output.posts_dir.iterdir())
    assert len(written) == 3
    assert sorted(name for _, name in changes.added) == (written if on_change else [])
    total = Changes()  # a pass's or a daemon's running total
    total.merge(changes)
    assert (total.added_count, len(total.added)) == (3, 3 if on_change else 0)
