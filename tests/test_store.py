"""The SQLite store: schema and migrations, one transaction per feed, indexed lookups."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Coroutine, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from aggregator.config import FeedConfig
from aggregator.errors import StoreError
from aggregator.models import Article, FeedUpdate, Outcome
from aggregator.normalize import article_id, entry_key
from aggregator.store.migrations import SCHEMA_VERSION
from aggregator.store.sqlite import SqliteStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)
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
        post_name=f"2026-01-01-title-{n}.md",
    )


T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "aggregator.sqlite3"


async def save(store: SqliteStore, feed: FeedConfig, articles: list[Article]) -> list[Outcome]:
    states = await store.sync_feeds([FEED, OTHER])
    update = FeedUpdate(feed_id=states[feed.name].id, now=NOW, status="ok", body_hash="h")
    return [d.outcome for d in await store.save(update, articles)]


def test_fresh_database_is_created_at_the_latest_schema_in_wal_mode(db_path: Path) -> None:
    async def go() -> None:
        store = await SqliteStore.open(str(db_path))
        await store.close()

    run(go())
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_newer_schema_is_refused_with_a_clear_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(db_path)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this aggregator"):
        run(SqliteStore.open(str(db_path)))


def test_save_decides_and_counts_in_one_transaction(db_path: Path) -> None:
    async def go() -> tuple[list[Outcome], list[Outcome], list[Outcome]]:
        store = await SqliteStore.open(str(db_path))
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
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 2
        assert db.execute("SELECT count(*) FROM entries").fetchone()[0] == 3


def test_a_failed_save_leaves_nothing_behind(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def go() -> None:
        store = await SqliteStore.open(str(db_path))
        try:

            async def broken(*args: object) -> None:
                raise sqlite3.OperationalError("database or disk is full")

            monkeypatch.setattr(store, "_update_feed", broken)
            with pytest.raises(StoreError, match="disk is full"):
                await save(store, FEED, [article(FEED, 1)])
        finally:
            await store.close()

    run(go())
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 0


def test_post_name_clash_gets_the_whole_id(db_path: Path) -> None:
    async def go() -> list[str]:
        store = await SqliteStore.open(str(db_path))
        try:
            a, b = article(FEED, 1), article(FEED, 2)
            b = Article(
                **{**{f: getattr(b, f) for f in b.__dataclass_fields__}, "post_name": a.post_name}
            )
            await save(store, FEED, [a, b])
            return [name for _, name in await store.post_paths()]
        finally:
            await store.close()

    names = sorted(run(go()))
    assert len(set(names)) == 2
    assert any(len(n) > len("2026-01-01-title-1.md") + 30 for n in names)


@pytest.fixture
def plan_db() -> Iterator[sqlite3.Connection]:
    schema = (Path(__file__).parents[1] / "aggregator" / "store" / "schema.sql").read_text()
    db = sqlite3.connect(":memory:")
    db.executescript(schema)
    yield db
    db.close()


@pytest.mark.parametrize(
    "query",
    [
        "SELECT a.id FROM articles a JOIN feeds f ON f.id = a.feed_id"
        " WHERE a.fingerprint IN (?, ?)",
        "SELECT a.id FROM articles a JOIN feeds f ON f.id = a.feed_id"
        " WHERE a.canonical_url IN (?, ?)",
        "SELECT e.article_id FROM entries e WHERE e.feed_id = ? AND e.entry_key IN (?, ?)",
        "SELECT post_path FROM articles WHERE post_path IN (?, ?)",
        "SELECT a.id FROM articles a WHERE a.rendered_hash IS NOT a.content_hash LIMIT 10",
    ],
    ids=["fingerprint", "canonical url", "entry keys", "post names", "pending posts"],
)
def test_per_feed_lookups_use_an_index_not_a_scan(plan_db: sqlite3.Connection, query: str) -> None:
    """A scan here makes every feed's pass proportional to the whole store: quadratic."""
    params = (1, 2, 3)[: query.count("?")]
    steps = [row[3] for row in plan_db.execute("EXPLAIN QUERY PLAN " + query, params)]
    full_scans = [s for s in steps if s.startswith("SCAN") and "USING" not in s]
    assert not full_scans, steps
