"""PostgreSQL store through asyncpg: the same Protocol and behaviour as the SQLite store, for
several workers (machines) sharing one database.

What changes with many workers, and how each is kept safe:

- **Schema.** Created from postgres_schema.sql on first open under an advisory lock (two
  workers starting at once: one creates, the other waits and finds it). A worker refuses a
  newer schema and an older one too: upgrades run only through ``aggregator migrate``, never
  under running workers' feet.
- **Claiming.** ``claim_due`` leases due feeds (``lease_until`` + ``lease_owner``) with
  ``FOR UPDATE SKIP LOCKED``; only the owner's ``save``/``release`` lets a lease go, so a worker
  whose lease expired cannot free the feed from under the worker that took it over.
- **Exactly once.** ``save`` serializes on each incoming article's canonical URL and
  fingerprint with transaction advisory locks before it reads what is known (see ``save``).
- **One publisher.** ``lead_publisher`` holds a session advisory lock on a connection of its
  own; the server drops it with the session when the process dies.

Times are ``timestamptz``, truncated to milliseconds like SQLite's text times, so both stores
give back equal records. No error or log names the database with its password.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any

import asyncpg

from ..config import FeedConfig
from ..dedupe import decide
from ..errors import StoreError
from ..models import (
    Article,
    Decision,
    FeedState,
    FeedUpdate,
    KnownEntries,
    Match,
    Outcome,
    PageResult,
    QueuedPage,
    StoredArticle,
)
from .dsn import display_database, scrub
from .pg_migrations import MIGRATIONS, SCHEMA_VERSION
from .rows import (
    FEED_COLUMNS,
    MAX_PAGE_ATTEMPTS,
    content_values,
    feed_state,
    host,
    pages_to_queue,
    post_names,
    stored_article,
)

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection = PoolConnectionProxy[asyncpg.Record]

POOL_SIZE = 4  # connections per worker; a save holds one for its transaction
COMMAND_TIMEOUT = 60.0  # seconds: a hung server fails the feed instead of hanging the worker
CLOSE_TIMEOUT = 10.0
# Above this many canonical URLs + fingerprints in one save, take the exclusive save lock
# instead of one lock per key: advisory locks fill the server's shared lock table
# (max_locks_per_transaction x max_connections, 6,400 slots by default).
MAX_KEY_LOCKS = 128

_DB_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # e.g. a query on a connection the server has just ended
    OSError,
    TimeoutError,
)

_FEED_COLUMNS = FEED_COLUMNS

_DUE = "f.in_config AND f.enabled AND f.disabled_reason IS NULL"

_ARTICLE_COLUMNS = """
    a.id, f.name, f.url, a.link, a.title, a.author, a.content, a.image,
    coalesce(a.published, a.first_seen),
    greatest(coalesce(a.updated, a.published, a.first_seen),
             CASE WHEN a.changed_at > a.first_seen THEN a.changed_at END),
    a.post_path, f.categories, f.author, a.content_hash
"""


def lock_id(kind: str, value: str) -> int:
    """A 64-bit advisory lock key; ``kind`` keeps URLs, fingerprints and named locks apart."""
    digest = hashlib.blake2b(f"{kind}\0{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_SCHEMA_LOCK = lock_id("lock", "aggregator schema")
_CLAIM_LOCK = lock_id("lock", "aggregator claim")
_SAVE_LOCK = lock_id("lock", "aggregator save")
_PUBLISHER_LOCK = lock_id("lock", "aggregator publisher")


def _same(value: datetime | None) -> datetime | None:
    return value


def _ms(value: datetime | None) -> datetime | None:
    """Millisecond precision, as SQLite stores times: both stores give back equal values."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=value.microsecond // 1000 * 1000)


class PostgresStore:
    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], url: str) -> None:
        self._pool = pool
        self._url = url
        self._name = display_database(url)
        # Leases name their worker: only the owner releases them (see release).
        self._worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._leader: asyncpg.Connection[asyncpg.Record] | None = None
        self._leading = False
        self._found_version = 0

    @classmethod
    async def open(cls, url: str, *, migrate: bool = False) -> PostgresStore:
        """Connect and check the schema: a fresh database is created at SCHEMA_VERSION; a
        newer schema is refused, and so is an older one unless ``migrate`` (``aggregator
        migrate``): many workers share the database and none upgrades it on its own."""
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                command_timeout=COMMAND_TIMEOUT,
                server_settings={"application_name": "aggregator"},
            )
        except (*_DB_ERRORS, ValueError) as e:
            # Not "from e": the cause's text would be printed unscrubbed.
            raise StoreError(display_database(url), scrub(f"cannot connect: {e}", url)) from None
        store = cls(pool, url)
        try:
            store._found_version = await store._prepare(migrate)
        except BaseException:
            await pool.close()
            raise
        return store

    @classmethod
    async def migrate(cls, url: str) -> tuple[int, int]:
        """``aggregator migrate``: (version found, version now); found 0 = created afresh."""
        store = await cls.open(url, migrate=True)
        await store.close()
        return store._found_version, SCHEMA_VERSION

    async def close(self) -> None:
        if self._leader is not None:
            with suppress(*_DB_ERRORS):
                await self._leader.close(timeout=5)
            self._leader = None
            self._leading = False
        try:
            await asyncio.wait_for(self._pool.close(), CLOSE_TIMEOUT)
        except TimeoutError:  # a connection still busy: the server rolls its work back
            self._pool.terminate()

    # -- schema -------------------------------------------------------------------------

    async def _prepare(self, migrate: bool) -> int:
        async with self._transaction("prepare") as conn:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
            version = await self._stored_version(conn)
            if version is None:
                schema = resources.files(__package__).joinpath("postgres_schema.sql").read_text()
                await conn.execute(schema)
                await conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', $1)",
                    str(SCHEMA_VERSION),
                )
                return 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    self._name,
                    f"database schema {version} is newer than this "
                    f"aggregator understands ({SCHEMA_VERSION}); upgrade aggregator",
                )
            if version < SCHEMA_VERSION:
                if not migrate:
                    raise StoreError(
                        self._name,
                        f"database schema {version} is older than this aggregator's "
                        f"({SCHEMA_VERSION}): stop the workers and run `aggregator migrate`",
                    )
                for step in range(version, SCHEMA_VERSION):
                    await MIGRATIONS[step](conn)
                await conn.execute(
                    "UPDATE meta SET value = $1 WHERE key = 'schema_version'", str(SCHEMA_VERSION)
                )
            return version

    async def _stored_version(self, conn: Connection) -> int | None:
        """The schema version; None for an empty database (refusing one that holds other
        tables named like ours: it is not an aggregator database)."""
        if await conn.fetchval("SELECT to_regclass('meta') IS NULL"):
            if await conn.fetchval("SELECT to_regclass('feeds') IS NOT NULL"):
                raise StoreError(self._name, "has a feeds table but no meta: not aggregator's")
            return None
        value = await conn.fetchval("SELECT value FROM meta WHERE key = 'schema_version'")
        if value is None or not str(value).isdigit():
            raise StoreError(self._name, "no schema_version in table meta: not aggregator's")
        return int(value)

    # -- feeds --------------------------------------------------------------------------

    async def sync_feeds(self, feeds: Sequence[FeedConfig]) -> dict[str, FeedState]:
        """As SQLite's; rows that already match the config are left unwritten, so that many
        workers starting with one config do not rewrite every feed row."""
        async with self._transaction("sync feeds") as conn:
            await conn.execute(
                "UPDATE feeds SET in_config = FALSE WHERE in_config AND NOT name = ANY($1)",
                [f.name for f in feeds],
            )
            await conn.executemany(
                """
                INSERT INTO feeds AS f (name, config_url, url, categories, author, enabled)
                VALUES ($1, $2, $2, $3, $4, $5)
                ON CONFLICT (name) DO UPDATE SET
                    url = CASE WHEN f.config_url = excluded.config_url THEN f.url
                               ELSE excluded.url END,
                    etag = CASE WHEN f.config_url = excluded.config_url THEN f.etag END,
                    last_modified = CASE WHEN f.config_url = excluded.config_url
                                         THEN f.last_modified END,
                    url_via = CASE WHEN f.config_url = excluded.config_url THEN f.url_via END,
                    body_hash = CASE WHEN f.config_url = excluded.config_url
                                     THEN f.body_hash END,
                    config_url = excluded.config_url,
                    categories = excluded.categories,
                    author = excluded.author,
                    enabled = excluded.enabled,
                    in_config = TRUE
                WHERE (f.config_url, f.categories, f.author, f.enabled, f.in_config)
                      IS DISTINCT FROM
                      (excluded.config_url, excluded.categories, excluded.author,
                       excluded.enabled, TRUE)
                """,
                [
                    (
                        f.name,
                        f.url,
                        json.dumps(list(f.categories), ensure_ascii=False),
                        f.post_author,
                        f.enabled,
                    )
                    for f in feeds
                ],
            )
        states = await self.feed_states()
        names = {f.name for f in feeds}
        return {s.name: s for s in states if s.name in names}

    async def feed_states(self) -> list[FeedState]:
        async with self._connection("read feeds") as conn:
            rows = await conn.fetch(
                f"""
                SELECT {_FEED_COLUMNS},
                       (SELECT count(*) FROM articles a WHERE a.feed_id = f.id),
                       (SELECT count(*) FROM page_queue q WHERE q.feed_id = f.id)
                FROM feeds f ORDER BY f.name
                """
            )
        return [feed_state(r, _same, article_count=r[-2], pages_waiting=r[-1]) for r in rows]

    # -- one feed's results -------------------------------------------------------------

    async def save(self, update: FeedUpdate, articles: Sequence[Article]) -> list[Decision]:
        """Decide and write one feed's results in one transaction, exactly once across workers.

        ``decide`` reads what is known, then the transaction writes: two workers saving the
        same syndicated article (different feeds, same canonical URL or fingerprint) at the
        same moment would both read "unknown" and both insert it. A canonical URL cannot be a
        UNIQUE column (one feed may carry several entries sharing a link: podcasts), so each
        key is serialized instead, in this order:

        1. the feed's row ``FOR UPDATE``: one save per feed at a time (its entry keys and its
           own articles are then stable, and article ids, UUID5 of feed and entry, cannot race);
        2. its entry keys are read; for the articles they do not find (only those are matched
           across feeds), ``pg_advisory_xact_lock`` on a 64-bit hash of each canonical URL and
           fingerprint, sorted so that two saves never wait on each other in a cycle. Every
           save also holds the save lock shared; a batch of more than MAX_KEY_LOCKS keys takes
           it exclusive instead (the lock table is finite), which excludes every other save;
        3. only then the cross-feed matches are read. In READ COMMITTED each statement sees
           what committed before it began, so the second of two racing saves waits for the
           first to commit and then finds its article: one NEW, one DUPLICATE.

        The constraints back this up: ``entries (feed_id, entry_key)`` and ``articles (id)``
        are primary keys written with ``ON CONFLICT DO NOTHING``.
        """
        async with self._transaction("save feed results") as conn:
            await conn.execute("SELECT 1 FROM feeds WHERE id = $1 FOR UPDATE", update.feed_id)
            by_key = await self._known_keys(conn, update.feed_id, articles)
            unknown = [a for a in articles if a.entry_key not in by_key]
            await self._lock_keys(conn, unknown)
            known = await self._known(conn, by_key, unknown)
            decisions = decide(articles, known)
            counts = Counter(d.outcome for d in decisions)
            await self._write_decisions(conn, update, decisions)
            await self._queue_pages(conn, update, decisions)
            await self._update_feed(conn, update)
            await conn.execute(
                "INSERT INTO fetch_log (feed_id, at, status, http_status, error, new, updated,"
                " duplicate, filtered) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                update.feed_id,
                _ms(update.now),
                update.status,
                update.http_status,
                update.error,
                counts[Outcome.NEW],
                counts[Outcome.UPDATED],
                counts[Outcome.DUPLICATE],
                update.filtered or 0,
            )
        return decisions

    async def preview(self, feed_id: int, articles: Sequence[Article]) -> list[Decision]:
        async with self._connection("read known entries") as conn:
            by_key = await self._known_keys(conn, feed_id, articles)
            unknown = [a for a in articles if a.entry_key not in by_key]
            return decide(articles, await self._known(conn, by_key, unknown))

    async def _lock_keys(self, conn: Connection, articles: Sequence[Article]) -> None:
        keys = {lock_id("url", a.canonical_url) for a in articles if a.canonical_url}
        keys |= {lock_id("fingerprint", a.fingerprint) for a in articles if a.fingerprint}
        if len(keys) > MAX_KEY_LOCKS:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _SAVE_LOCK)
            return
        await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", _SAVE_LOCK)
        if keys:
            # unnest yields the array in order: the locks are taken in sorted order.
            await conn.execute(
                "SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k",
                sorted(keys),
            )

    async def _known_keys(
        self, conn: Connection, feed_id: int, articles: Sequence[Article]
    ) -> dict[str, Match]:
        rows = await conn.fetch(
            """
            SELECT e.entry_key, e.article_id, coalesce(f.name, ''),
                   coalesce(a.content_hash, ''), a.canonical_url, coalesce(a.fingerprint, ''),
                   coalesce(a.title, '')
            FROM entries e
            LEFT JOIN articles a ON a.id = e.article_id
            LEFT JOIN feeds f ON f.id = a.feed_id
            WHERE e.feed_id = $1 AND e.entry_key = ANY($2::text[])
            """,
            feed_id,
            [a.entry_key for a in articles],
        )
        return {r[0]: Match(r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows}

    async def _known(
        self, conn: Connection, by_key: dict[str, Match], unknown: Sequence[Article]
    ) -> KnownEntries:
        urls = {a.canonical_url for a in unknown if a.canonical_url}
        fingerprints = {a.fingerprint for a in unknown if a.fingerprint}
        return KnownEntries(
            by_entry_key=by_key,
            by_canonical_url=await self._matches(conn, "canonical_url", urls),
            by_fingerprint=await self._matches(conn, "fingerprint", fingerprints),
        )

    async def _matches(
        self, conn: Connection, column: str, values: Iterable[str]
    ) -> dict[str, list[Match]]:
        wanted = sorted(values)
        if not wanted:
            return {}
        rows = await conn.fetch(
            f"""
            SELECT a.{column}, a.id, f.name, a.content_hash, a.canonical_url, a.fingerprint,
                       a.title
            FROM articles a JOIN feeds f ON f.id = a.feed_id
            WHERE a.{column} = ANY($1::text[])
            ORDER BY a.first_seen, a.seq
            """,
            wanted,
        )
        found: dict[str, list[Match]] = {}
        for r in rows:
            found.setdefault(r[0], []).append(Match(r[1], r[2], r[3], r[4], r[5], r[6]))
        return found

    async def _write_decisions(
        self, conn: Connection, update: FeedUpdate, decisions: Sequence[Decision]
    ) -> None:
        now = _ms(update.now)
        new = [d.article for d in decisions if d.outcome is Outcome.NEW]
        names = await self._post_names(conn, new) if new else {}
        await _many(
            conn,
            """
            INSERT INTO articles (id, feed_id, canonical_url, fingerprint, content_hash, link,
                title, author, content, image, published, updated, first_seen, changed_at,
                post_path)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
            ON CONFLICT (id) DO NOTHING
            """,
            [(a.id, update.feed_id, *content_values(a, _ms), now, now, names[a.id]) for a in new],
        )
        # By id: row locks in one order everywhere (mark_rendered too), so no deadlock.
        updated = [d for d in decisions if d.outcome is Outcome.UPDATED]
        updates = sorted(updated, key=lambda d: d.target)  # stable: the last change still wins
        await _many(
            conn,
            """
            UPDATE articles SET canonical_url = $1, fingerprint = $2, content_hash = $3,
                link = $4, title = $5, author = $6, content = $7, image = $8, published = $9,
                updated = $10, changed_at = $11
            WHERE id = $12
            """,
            [(*content_values(d.article, _ms), now, d.target) for d in updates],
        )
        # Entries beyond a first fetch's backlog are remembered like deleted articles
        # (tombstones): seen, never stored, never new again.
        await _many(
            conn,
            "INSERT INTO entries (feed_id, entry_key, article_id, first_seen)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            [(update.feed_id, d.article.entry_key, d.target, now) for d in decisions if d.new_key]
            + [(update.feed_id, key, article_id, now) for key, article_id in update.skipped],
        )

    async def _queue_pages(
        self, conn: Connection, update: FeedUpdate, decisions: Sequence[Decision]
    ) -> None:
        await _many(
            conn,
            """
            INSERT INTO page_queue (article_id, feed_id, url, media_image, attempts, queued_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (article_id) DO UPDATE SET url = excluded.url,
                media_image = excluded.media_image, attempts = excluded.attempts
            """,
            [
                (article_id, update.feed_id, url, image, attempts, _ms(update.now))
                for article_id, url, image, attempts in sorted(
                    pages_to_queue(update, decisions), key=lambda row: row[0]
                )
            ],
        )

    async def queued_pages(self, feed_id: int, limit: int, before: datetime) -> list[QueuedPage]:
        async with self._connection("read queued pages") as conn:
            rows = await conn.fetch(
                "SELECT article_id, url, media_image, attempts FROM page_queue"
                " WHERE feed_id = $1 AND queued_at < $2 ORDER BY queued_at, article_id LIMIT $3",
                feed_id,
                _ms(before),
                limit,
            )
        return [QueuedPage(r[0], r[1], r[2], r[3]) for r in rows]

    async def finish_pages(self, now: datetime, results: Sequence[PageResult]) -> None:
        ordered = sorted(results, key=lambda r: r.article_id)  # row locks in id order
        async with self._transaction("store fetched pages") as conn:
            await _many(
                conn,
                "UPDATE articles SET content = $1, image = coalesce($2, image),"
                " rendered_hash = NULL, changed_at = $3 WHERE id = $4",
                [(r.content, r.image, _ms(now), r.article_id) for r in ordered if r.content],
            )
            await _many(
                conn,
                "UPDATE page_queue SET attempts = attempts + 1 WHERE article_id = $1",
                [(r.article_id,) for r in ordered if r.retry],
            )
            await _many(
                conn,
                "DELETE FROM page_queue WHERE article_id = $1 AND (NOT $2 OR attempts >= $3)",
                [(r.article_id, r.retry, MAX_PAGE_ATTEMPTS) for r in ordered],
            )

    async def _post_names(self, conn: Connection, articles: Sequence[Article]) -> dict[str, str]:
        """Each new article's post file name. The rare clash (same date, slug and 8-hex id
        prefix as a stored article or one in this batch) gets the whole id instead."""
        rows = await conn.fetch(
            "SELECT post_path FROM articles WHERE post_path = ANY($1::text[])",
            [a.post_name for a in articles],
        )
        return post_names(articles, {r[0] for r in rows})

    async def _update_feed(self, conn: Connection, u: FeedUpdate) -> None:
        await conn.execute(
            """
            UPDATE feeds SET
                url = coalesce($2, url),
                url_via = CASE WHEN $2::text IS NULL THEN url_via ELSE $21 END,
                etag = CASE WHEN $3 THEN etag ELSE $4 END,
                last_modified = CASE WHEN $3 THEN last_modified ELSE $5 END,
                body_hash = CASE WHEN $3 THEN body_hash ELSE $6 END,
                last_fetch_at = $7, last_status = $8, last_http_status = $9, last_error = $10,
                error_count = CASE WHEN $11 THEN error_count + 1 ELSE 0 END,
                next_check_at = $12, check_interval = $13, schedule_reason = $14,
                entry_gap = coalesce($15, entry_gap),
                document_hint = coalesce($16, document_hint),
                rules_hash = coalesce($17, rules_hash),
                filtered = coalesce($18, filtered),
                disabled_reason = coalesce($19, disabled_reason),
                lease_until = CASE WHEN lease_owner = $20 THEN NULL ELSE lease_until END,
                lease_owner = CASE WHEN lease_owner = $20 THEN NULL ELSE lease_owner END
            WHERE id = $1
            """,
            u.feed_id,
            u.url,
            u.keep_validators,
            u.etag,
            u.last_modified,
            u.body_hash,
            _ms(u.now),
            u.status,
            u.http_status,
            u.error,
            u.status == "failed",
            _ms(u.next_check_at),
            u.check_interval,
            u.schedule_reason,
            u.entry_gap,
            u.document_hint,
            u.rules_hash,
            u.filtered,
            u.disable,
            self._worker,
            u.url_via,
        )

    # -- scheduling (the daemons) -----------------------------------------------------------

    async def claim_due(
        self, now: datetime, limit: int, lease: float, per_host: int
    ) -> list[FeedState]:
        """Lease up to ``limit`` due feeds, oldest due first, to this worker.

        A lease is ``lease_until`` + ``lease_owner`` in the feed's row, committed: no other
        worker claims the feed until it is released or expires (a SIGKILLed worker's feeds
        come back after ``[schedule] lease``). ``FOR UPDATE SKIP LOCKED`` keeps a claim from
        waiting on rows a save or a config sync holds.

        Per-host politeness is one budget shared by all workers: a host never has more than
        ``per_host`` live leases in the whole database, however many workers run (the global
        bound is ``per_host``, not workers x per_host). Claims take a transaction advisory lock,
        so two workers never count the same free slot; a claim is three short statements per
        tick per worker. Leases are timed by the workers' clocks (``now``): keep them in sync
        (NTP), well within the lease.
        """
        if limit <= 0:
            return []
        until = _ms(now + timedelta(seconds=lease))
        now = now.astimezone(UTC).replace(microsecond=now.microsecond // 1000 * 1000)
        async with self._transaction("claim due feeds") as conn:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _CLAIM_LOCK)
            busy = Counter(
                host(r[0])
                for r in await conn.fetch("SELECT url FROM feeds WHERE lease_until > $1", now)
            )
            rows = await conn.fetch(
                f"""
                SELECT {_FEED_COLUMNS} FROM feeds f
                WHERE {_DUE}
                  AND (f.next_check_at IS NULL OR f.next_check_at <= $1)
                  AND (f.lease_until IS NULL OR f.lease_until <= $1)
                ORDER BY f.next_check_at NULLS FIRST, f.id
                LIMIT $2
                FOR UPDATE SKIP LOCKED
                """,
                now,
                limit * 4 + per_host,
            )
            claimed = []
            for r in rows:
                server = host(r[2])
                if busy[server] >= per_host:
                    continue
                busy[server] += 1
                claimed.append(feed_state(r, _same))
                if len(claimed) == limit:
                    break
            if claimed:
                await conn.execute(
                    "UPDATE feeds SET lease_until = $1, lease_owner = $2 WHERE id = ANY($3)",
                    until,
                    self._worker,
                    [f.id for f in claimed],
                )
        return claimed

    async def release(self, feed_ids: Sequence[int]) -> None:
        """Let this worker's leases go; another worker's (a feed taken over after this one's
        lease expired) are left alone."""
        async with self._transaction("release leases") as conn:
            await conn.execute(
                "UPDATE feeds SET lease_until = NULL, lease_owner = NULL"
                " WHERE id = ANY($1) AND lease_owner = $2",
                list(feed_ids),
                self._worker,
            )

    async def schedule_feeds(
        self, when: Sequence[tuple[str, datetime]], first_only: bool = False
    ) -> None:
        async with self._transaction("schedule feeds") as conn:
            await _many(
                conn,
                "UPDATE feeds SET next_check_at = $1 WHERE name = $2"
                + (" AND next_check_at IS NULL AND last_fetch_at IS NULL" if first_only else ""),
                [(_ms(at), name) for name, at in when],
            )

    async def set_disabled(self, name: str, reason: str | None) -> bool:
        async with self._transaction("enable/disable feed") as conn:
            status = await conn.execute(
                "UPDATE feeds SET disabled_reason = $1, error_count = 0,"
                " next_check_at = CASE WHEN $1::text IS NULL THEN NULL ELSE next_check_at END"
                " WHERE name = $2",
                reason,
                name,
            )
        return _rowcount(status) > 0

    async def feed_articles(self, name: str) -> list[tuple[str, str]] | None:
        async with self._connection("read a feed's articles") as conn:
            if await conn.fetchval("SELECT id FROM feeds WHERE name = $1", name) is None:
                return None
            rows = await conn.fetch(
                "SELECT a.id, a.post_path FROM articles a JOIN feeds f ON f.id = a.feed_id"
                " WHERE f.name = $1 ORDER BY a.id",
                name,
            )
        return [(r[0], r[1]) for r in rows]

    async def delete_feed(self, name: str) -> None:
        """As SQLite's: the feed, its articles, entry keys and log; other feeds' sightings of
        its articles are forgotten and those feeds read afresh next time."""
        async with self._transaction("delete feed") as conn:
            feed_id = await conn.fetchval("SELECT id FROM feeds WHERE name = $1", name)
            if feed_id is None:
                return
            owned = "SELECT id FROM articles WHERE feed_id = $1"
            await conn.execute(
                "UPDATE feeds SET etag = NULL, last_modified = NULL, body_hash = ''"
                f" WHERE id IN (SELECT feed_id FROM entries WHERE article_id IN ({owned}))"
                " AND id != $1",
                feed_id,
            )
            await conn.execute(
                f"DELETE FROM entries WHERE article_id IN ({owned}) OR feed_id = $1", feed_id
            )
            for table in ("page_queue", "articles", "fetch_log"):
                await conn.execute(f"DELETE FROM {table} WHERE feed_id = $1", feed_id)
            await conn.execute("DELETE FROM feeds WHERE id = $1", feed_id)

    async def expired_articles(self, before: datetime) -> list[tuple[str, str]]:
        async with self._connection("read expired articles") as conn:
            rows = await conn.fetch(
                "SELECT id, post_path FROM articles WHERE coalesce(published, first_seen) < $1",
                _ms(before),
            )
        return [(r[0], r[1]) for r in rows]

    async def delete_articles(self, article_ids: Sequence[str]) -> None:
        """Delete articles but keep their entry keys (tombstones)."""
        async with self._transaction("delete articles") as conn:
            await conn.execute(
                "DELETE FROM page_queue WHERE article_id = ANY($1)", sorted(article_ids)
            )
            await conn.execute("DELETE FROM articles WHERE id = ANY($1)", sorted(article_ids))

    async def maintain(self, keep_log_days: int = 30, now: datetime | None = None) -> None:
        """Trim the fetch log (autovacuum does the rest)."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_log_days)
        async with self._transaction("maintenance") as conn:
            await conn.execute("DELETE FROM fetch_log WHERE at < $1", _ms(cutoff))

    def lock_daemon(self) -> None:
        """Several daemons on one PostgreSQL database are the point: nothing to refuse (leases
        share the feeds out, ``lead_publisher`` elects the one that writes the outputs)."""

    async def lead_publisher(self) -> bool:
        """True while this store is the one publisher: a session advisory lock held on a
        connection of its own, kept across calls. Call it before each publishing round; it is
        cheap (one query). The server drops the lock with the session when the process dies
        (or its connection breaks), and the next worker to ask takes over. ``close`` resigns."""
        async with self._errors("elect the publisher"):
            if self._leader is not None:
                try:
                    return await self._hold_or_try_lead()
                except _DB_ERRORS:
                    # The session is gone, and its lock with it: ask again on a new one.
                    self._leader.terminate()
                    self._leader, self._leading = None, False
            self._leader = await asyncpg.connect(
                self._url, server_settings={"application_name": "aggregator publisher"}
            )
            return await self._hold_or_try_lead()

    async def _hold_or_try_lead(self) -> bool:
        assert self._leader is not None
        if self._leading:
            await self._leader.execute("SELECT 1", timeout=10)  # the session, hence the lock
            return True
        self._leading = bool(
            await self._leader.fetchval("SELECT pg_try_advisory_lock($1)", _PUBLISHER_LOCK)
        )
        return self._leading

    # -- rendering ----------------------------------------------------------------------

    async def pending_posts(self, limit: int) -> list[StoredArticle]:
        async with self._connection("read pending posts") as conn:
            rows = await conn.fetch(
                f"""
                SELECT {_ARTICLE_COLUMNS} FROM articles a
                JOIN feeds f ON f.id = a.feed_id
                WHERE a.rendered_hash IS DISTINCT FROM a.content_hash
                ORDER BY a.id
                LIMIT $1
                """,
                limit,
            )
        return [stored_article(r, _same) for r in rows]

    async def mark_rendered(self, rendered: Sequence[tuple[str, str]]) -> None:
        async with self._transaction("mark rendered") as conn:
            await _many(
                conn,
                "UPDATE articles SET rendered_hash = content_hash"
                " WHERE id = $1 AND content_hash = $2",
                sorted(rendered),
            )

    async def mark_unrendered(self, article_ids: Sequence[str] | None) -> None:
        async with self._transaction("mark unrendered") as conn:
            if article_ids is None:
                await conn.execute("UPDATE articles SET rendered_hash = NULL")
            else:
                await conn.execute(
                    "UPDATE articles SET rendered_hash = NULL WHERE id = ANY($1)",
                    sorted(article_ids),
                )

    async def post_paths(self, after: str = "", limit: int = 5000) -> list[tuple[str, str]]:
        async with self._connection("read post paths") as conn:
            rows = await conn.fetch(
                "SELECT id, post_path FROM articles WHERE id > $1 ORDER BY id LIMIT $2",
                after,
                limit,
            )
        return [(r[0], r[1]) for r in rows]

    async def newest(self, limit: int) -> list[StoredArticle]:
        async with self._connection("read newest articles") as conn:
            rows = await conn.fetch(
                f"""
                SELECT {_ARTICLE_COLUMNS} FROM articles a
                JOIN feeds f ON f.id = a.feed_id
                ORDER BY coalesce(a.published, a.first_seen) DESC, a.id
                LIMIT $1
                """,
                limit,
            )
        return [stored_article(r, _same) for r in rows]

    async def atom_id(self) -> str:
        async with self._transaction("atom id") as conn:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('atom_id', $1) ON CONFLICT DO NOTHING",
                f"urn:uuid:{uuid.uuid4()}",
            )
            value = await conn.fetchval("SELECT value FROM meta WHERE key = 'atom_id'")
        return str(value)

    # -- plumbing -----------------------------------------------------------------------

    @asynccontextmanager
    async def _connection(self, action: str) -> AsyncIterator[Connection]:
        async with self._errors(action), self._pool.acquire() as conn:
            yield conn

    @asynccontextmanager
    async def _transaction(self, action: str) -> AsyncIterator[Connection]:
        async with self._errors(action), self._pool.acquire() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def _errors(self, action: str) -> AsyncIterator[None]:
        """asyncpg and connection errors become StoreError naming the database (password
        masked) and what failed."""
        try:
            yield
        except _DB_ERRORS as e:
            message = f"{action} failed: {e}"
            clean = scrub(message, self._url)
            # A cause is printed after the message: keep it only when it shows no password.
            raise StoreError(self._name, clean) from (e if clean == message else None)


async def _many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        await conn.executemany(sql, rows)


def _rowcount(status: str) -> int:
    """The row count of a command status such as ``UPDATE 3``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0
