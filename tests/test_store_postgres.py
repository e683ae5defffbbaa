"""PostgreSQL's own store behaviour: schema versions and ``aggregator migrate``, the one
publisher, the large-batch save lock, passwords kept out of messages, query plans. Shared
behaviour (both backends) is in test_store.py."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg
import pytest
from test_store import (
    FEED,
    NOW,
    OTHER,
    article,
    count,
    lookups,
    save,
    save_one_merged,
    states_and_save_again,
)

from aggregator.edges.store import dsn, migrate_store, open_store, queries
from aggregator.edges.store import postgres as pg
from aggregator.errors import StoreError
from aggregator.models import FeedStatus, FeedUpdate, Outcome, StoryJoin

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def sql(url: str, query: str, *args: object) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


def test_workers_starting_at_once_on_an_empty_database_create_it_once(postgres_url: str) -> None:
    async def go() -> None:
        stores = await asyncio.gather(*(open_store(postgres_url) for _ in range(3)))
        for store in stores:
            await store.close()

    run(go())
    version = run(sql(postgres_url, "SELECT value FROM meta WHERE key = 'schema_version'"))
    assert version == str(pg.SCHEMA_VERSION)


def test_a_newer_schema_is_refused_with_a_clear_error(postgres_url: str) -> None:
    run(migrate_store(postgres_url))
    newer = str(pg.SCHEMA_VERSION + 1)
    run(sql(postgres_url, "UPDATE meta SET value = $1 WHERE key = 'schema_version'", newer))
    with pytest.raises(StoreError, match="newer than this aggregator"):
        run(open_store(postgres_url))
    with pytest.raises(StoreError, match="newer than this aggregator"):
        run(migrate_store(postgres_url))


def test_an_older_schema_is_refused_until_aggregator_migrate(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers never upgrade a shared database on their own; ``migrate`` does, keeping rows."""
    assert run(migrate_store(postgres_url)) == (0, pg.SCHEMA_VERSION)  # created

    async def fill() -> None:
        store = await open_store(postgres_url)
        try:
            assert await save(store, FEED, [article(FEED, 1)]) == [Outcome.NEW]
        finally:
            await store.close()

    run(fill())

    async def step(conn: Any) -> None:
        await conn.execute("ALTER TABLE feeds ADD COLUMN next_step TEXT")

    monkeypatch.setattr(pg, "SCHEMA_VERSION", pg.SCHEMA_VERSION + 1)
    monkeypatch.setattr(pg, "MIGRATIONS", {pg.SCHEMA_VERSION - 1: step})
    with pytest.raises(StoreError, match=r"older than this aggregator's.*aggregator migrate"):
        run(open_store(postgres_url))
    assert run(migrate_store(postgres_url)) == (pg.SCHEMA_VERSION - 1, pg.SCHEMA_VERSION)
    assert run(migrate_store(postgres_url)) == (pg.SCHEMA_VERSION, pg.SCHEMA_VERSION)
    assert count(postgres_url, "articles") == 1
    assert run(sql(postgres_url, "SELECT count(next_step) FROM feeds")) == 0


# What undoes each step on today's schema.
_UNDO = {
    5: ("DROP TABLE story_joins",),
    4: ("ALTER TABLE feeds DROP COLUMN read_entries",),
    3: (
        "DROP TABLE near_keys",
        "DROP INDEX articles_seq",
        "ALTER TABLE articles DROP COLUMN revision",
        "ALTER TABLE feeds DROP COLUMN dedupe",
        "ALTER TABLE feeds DROP COLUMN duplicates",
    ),
    2: ("ALTER TABLE feeds DROP COLUMN url_via", "DROP TABLE page_queue"),
}


async def pg_downgrade(conn: Any, version: int) -> None:
    for step in range(pg.SCHEMA_VERSION, version, -1):
        for statement in _UNDO[step]:
            await conn.execute(statement)
    await conn.execute("UPDATE meta SET value = $1 WHERE key = 'schema_version'", str(version))


def test_migration_to_2_keeps_rows_and_forgets_links_that_identify_no_article(
    postgres_url: str,
) -> None:
    """Version 1 is made from today's schema by undoing the steps since; ``migrate`` brings
    it back: the page queue and feeds.url_via exist, a site's front page and a link several
    articles share are no longer an identity."""
    assert set(_UNDO) == set(range(2, pg.SCHEMA_VERSION + 1))

    async def fill() -> None:
        store = await open_store(postgres_url)
        try:
            await save(store, FEED, [article(FEED, 1), article(FEED, 2), article(FEED, 3)])
        finally:
            await store.close()

    run(fill())

    async def downgrade() -> None:
        conn = await asyncpg.connect(postgres_url)
        try:
            ids = [r[0] for r in await conn.fetch("SELECT id FROM articles ORDER BY id")]
            links = ["https://pod.example/", "https://pod.example/s", "https://pod.example/s"]
            for article_id, link in zip(ids, links, strict=True):
                await conn.execute(
                    "UPDATE articles SET canonical_url = $1 WHERE id = $2", link, article_id
                )
            await pg_downgrade(conn, 1)
        finally:
            await conn.close()

    run(downgrade())
    assert run(migrate_store(postgres_url)) == (1, pg.SCHEMA_VERSION)
    assert count(postgres_url, "articles") == 3
    assert run(sql(postgres_url, "SELECT count(canonical_url) FROM articles")) == 0
    assert run(sql(postgres_url, "SELECT count(*) FROM page_queue")) == 0
    assert run(sql(postgres_url, "SELECT count(url_via) FROM feeds")) == 0


def test_migration_to_3_counts_the_duplicates_already_merged(postgres_url: str) -> None:
    run(save_one_merged(postgres_url))

    async def downgrade() -> None:
        conn = await asyncpg.connect(postgres_url)
        try:
            await pg_downgrade(conn, 2)
        finally:
            await conn.close()

    run(downgrade())
    assert run(migrate_store(postgres_url)) == (2, pg.SCHEMA_VERSION)
    states, outcomes = run(states_and_save_again(postgres_url))
    assert states == {"A": (True, 0), "B": (True, 1)}
    assert outcomes == [Outcome.UNCHANGED, Outcome.NEW]


def test_one_publisher_at_a_time_and_another_takes_over(postgres_url: str) -> None:
    async def go() -> list[bool]:
        one, two = await open_store(postgres_url), await open_store(postgres_url)
        three = await open_store(postgres_url)
        try:
            await one.lock_daemon()
            await two.lock_daemon()  # several daemons on PostgreSQL: nothing refused
            seen = [await one.lead_publisher(), await two.lead_publisher()]
            seen.append(await one.lead_publisher())  # still leading
            await one.close()  # resigns
            seen += [await two.lead_publisher(), await three.lead_publisher()]
            # The leader's process dies: the server ends its session, and its lock.
            await sql(
                postgres_url,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'aggregator publisher'",
            )
            seen += [await three.lead_publisher(), await two.lead_publisher()]
            return seen
        finally:
            await two.close()
            await three.close()

    # one leads; two waits; one resigns, two leads; two is gone, three leads (two lost it).
    assert run(go()) == [True, False, True, True, False, True, False]


def test_a_large_batch_takes_the_exclusive_save_lock_and_stays_exact(postgres_url: str) -> None:
    many = pg.MAX_KEY_LOCKS  # two keys per article: well past the per-key limit

    async def go() -> list[list[Outcome]]:
        one, two = await open_store(postgres_url), await open_store(postgres_url)
        try:
            states = await one.sync_feeds([FEED, OTHER])

            async def save_all(store: Any, feed: Any, n: int) -> list[Outcome]:
                update = FeedUpdate(feed_id=states[feed.name].id, now=NOW, status=FeedStatus.OK)
                articles = [article(feed, i) for i in range(n)]
                return [d.outcome for d in await store.save(update, articles)]

            return list(await asyncio.gather(save_all(one, FEED, many), save_all(two, OTHER, 2)))
        finally:
            await one.close()
            await two.close()

    big, small = run(go())
    assert big.count(Outcome.NEW) + small.count(Outcome.NEW) == many
    assert count(postgres_url, "articles") == many


def test_errors_never_show_the_database_password() -> None:
    url = "postgresql://worker:s3cr%40t@127.0.0.1:1/aggregator?password=s3cr%40t"
    with pytest.raises(StoreError) as caught:
        run(open_store(url))
    text = str(caught.value)
    assert "cannot connect" in text and "s3cr" not in text
    assert text.startswith("postgresql://worker:***@127.0.0.1:1/aggregator?password=***")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        (
            "postgres://u@h/db?password=pw&sslmode=require",
            "postgres://u@h/db?password=***&sslmode=require",
        ),
        ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),
        ("postgresql://h/db", "postgresql://h/db"),
        ("/srv/data/aggregator.sqlite3", "/srv/data/aggregator.sqlite3"),
    ],
)
def test_display_database_masks_passwords(url: str, shown: str) -> None:
    assert dsn.display_database(url) == shown
    assert dsn.scrub(f"failed for {url}", url) == f"failed for {shown}"


def pg_lookups() -> dict[str, tuple[str, tuple[Any, ...]]]:
    due = {"due": (queries.POSTGRES.due_feeds, (NOW, 10))}  # the partial index feeds_due
    return lookups(queries.POSTGRES) | due


@pytest.mark.parametrize("lookup", sorted(pg_lookups()))
def test_per_feed_lookups_use_an_index_not_a_scan(postgres_url: str, lookup: str) -> None:
    """As on SQLite: a scan here makes every feed's pass proportional to the whole store."""
    query, args = pg_lookups()[lookup]

    async def plan() -> str:
        store = await open_store(postgres_url)
        await store.close()
        conn = await asyncpg.connect(postgres_url)
        try:
            await conn.execute("SET enable_seqscan = off")  # tiny tables: only if no index
            rows = await conn.fetch("EXPLAIN " + query, *args)
            return "\n".join(r[0] for r in rows)
        finally:
            await conn.close()

    steps = run(plan())
    assert "Seq Scan" not in steps, steps


def test_a_join_waits_for_the_saves_in_flight(postgres_url: str) -> None:
    """``join_articles`` takes the save lock exclusive: while a save holds it shared (from
    its key locks to its commit), the join waits, so no save maps a copy to the article
    being joined; then it is made."""

    async def go() -> tuple[bool, list[StoryJoin]]:
        store = await open_store(postgres_url)
        saving = await asyncpg.connect(postgres_url)
        try:
            await save(store, FEED, [article(FEED, 1)])
            await save(store, OTHER, [article(OTHER, 2)])
            joining = StoryJoin(article(OTHER, 2).id, article(FEED, 1).id, "b.md")
            async with saving.transaction():
                await saving.execute("SELECT pg_advisory_xact_lock_shared($1)", pg._SAVE_LOCK)
                join = asyncio.create_task(store.join_articles([joining], NOW))
                await wait_for_a_waiting_advisory_lock(postgres_url)
                waited = not join.done()
            return waited, await asyncio.wait_for(join, 10)
        finally:
            await saving.close()
            await store.close()

    waited, made = run(go())
    assert waited and len(made) == 1
    assert count(postgres_url, "articles") == 1 and count(postgres_url, "entries") == 2


async def wait_for_a_waiting_advisory_lock(url: str, deadline: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    until = loop.time() + deadline
    query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    while not await sql(url, query):
        assert loop.time() < until, "the join never asked for the save lock"
        await asyncio.sleep(0.02)
