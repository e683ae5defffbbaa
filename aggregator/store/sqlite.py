"""SQLite store through aiosqlite: WAL, versioned migrations, one transaction per feed."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import os
import sqlite3
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

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
from .migrations import MIGRATIONS, SCHEMA_VERSION
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

_CHUNK = 400  # host parameters per IN (...) query
_BUSY_TIMEOUT_MS = 10_000

_FEED_COLUMNS = FEED_COLUMNS
_NEVER_SCHEDULED = " AND next_check_at IS NULL AND last_fetch_at IS NULL"

_ARTICLE_COLUMNS = """
    a.id, f.name, f.url, a.link, a.title, a.author, a.content, a.image,
    coalesce(a.published, a.first_seen),
    max(coalesce(a.updated, a.published, a.first_seen),
        CASE WHEN a.changed_at > a.first_seen THEN a.changed_at ELSE '' END),
    a.post_path,
    f.categories, f.author
"""


def to_text(value: datetime | None) -> str | None:
    # One fixed width (milliseconds), so that times compare correctly as text in SQL.
    return value.astimezone(UTC).isoformat(timespec="milliseconds") if value else None


def from_text(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _connect(path: str) -> sqlite3.Connection:
    """The database file opened (created if missing), or StoreError naming the cause: SQLite
    itself only says "unable to open database file"."""
    try:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            file = next(
                (p for p in Path(path).parents if p.exists() and not p.is_dir()), Path(path).parent
            )
            raise StoreError(path, f"cannot open the database: {file} is not a folder") from None
        if Path(path).is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a directory, not a database file", path)
        # check_same_thread off: opened in this thread, used only from aiosqlite's one thread.
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except OSError as e:
        raise StoreError(path, f"cannot open the database: {e.strerror or e}") from None
    except sqlite3.Error as e:
        raise StoreError(path, "cannot open the database") from e


class SqliteStore:
    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        self._db = db
        self._path = path
        self._write_lock = asyncio.Lock()
        self._lock_fd: int | None = None
        self._found_version = 0

    @classmethod
    async def open(cls, path: str) -> SqliteStore:
        if path.startswith("sqlite:///"):
            path = path.removeprefix("sqlite://")
        elif "://" in path:
            raise StoreError(path, "unsupported database URL (expected a file path)")
        # The file is opened here, in a short-lived thread, and only then handed to aiosqlite:
        # when aiosqlite's own connect fails, it queues the stop of its worker thread without
        # awaiting it, and that thread, finding the event loop closed by asyncio.run, printed
        # "Exception in thread ... RuntimeError: Event loop is closed" (a few runs in 20).
        connection = await asyncio.to_thread(_connect, path)
        db = aiosqlite.Connection(lambda: connection, iter_chunk_size=64)
        try:
            await db  # starts aiosqlite's thread; handing over an open connection cannot fail
        except BaseException:
            connection.close()
            raise
        store = cls(db, path)
        try:
            await store._prepare()
        except BaseException:
            await db.close()
            raise
        return store

    @classmethod
    async def migrate(cls, path: str) -> tuple[int, int]:
        """``aggregator migrate``: (version found, version now); found 0 = created afresh.
        SQLite upgrades on every open too: one machine, no other worker to surprise."""
        store = await cls.open(path)
        await store.close()
        return store._found_version, SCHEMA_VERSION

    async def close(self) -> None:
        with suppress(sqlite3.Error):
            await self._db.execute("PRAGMA optimize")
        await self._db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)

    # -- schema -------------------------------------------------------------------------

    async def _prepare(self) -> None:
        async with self._errors("prepare"):
            await self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            await self._db.execute("PRAGMA journal_mode = WAL")
            await self._db.execute("PRAGMA synchronous = NORMAL")
            await self._db.execute("PRAGMA foreign_keys = ON")
            version = self._found_version = await self._scalar("PRAGMA user_version")
            if version > SCHEMA_VERSION:
                raise StoreError(
                    self._path,
                    f"database schema {version} is newer than this "
                    f"aggregator understands ({SCHEMA_VERSION}); upgrade aggregator",
                )
            if version == SCHEMA_VERSION:
                return
            fresh = version == 0 and not await self._scalar(
                "SELECT count(*) FROM sqlite_master WHERE name = 'feeds'"
            )
            if fresh:
                schema = resources.files(__package__).joinpath("schema.sql").read_text()
                # One script, one transaction: a killed first run leaves an empty database.
                await self._db.executescript(
                    f"BEGIN IMMEDIATE;\n{schema}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;"
                )
                return
            async with self._transaction():
                for step in range(version, SCHEMA_VERSION):
                    await MIGRATIONS[step](self._db)
                await self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- feeds --------------------------------------------------------------------------

    async def sync_feeds(self, feeds: Sequence[FeedConfig]) -> dict[str, FeedState]:
        async with self._write_lock, self._errors("sync feeds"), self._transaction():
            await self._db.execute("UPDATE feeds SET in_config = 0")
            for f in feeds:
                await self._db.execute(
                    """
                    INSERT INTO feeds (name, config_url, url, categories, author, enabled)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET
                        url = CASE WHEN config_url = excluded.config_url THEN url
                                   ELSE excluded.url END,
                        etag = CASE WHEN config_url = excluded.config_url THEN etag END,
                        last_modified = CASE WHEN config_url = excluded.config_url
                                             THEN last_modified END,
                        url_via = CASE WHEN config_url = excluded.config_url THEN url_via END,
                        body_hash = CASE WHEN config_url = excluded.config_url
                                         THEN body_hash END,
                        config_url = excluded.config_url,
                        categories = excluded.categories,
                        author = excluded.author,
                        enabled = excluded.enabled,
                        in_config = 1
                    """,
                    (
                        f.name,
                        f.url,
                        f.url,
                        json.dumps(list(f.categories), ensure_ascii=False),
                        f.post_author,
                        int(f.enabled),
                    ),
                )
        states = await self.feed_states()
        names = {f.name for f in feeds}
        return {s.name: s for s in states if s.name in names}

    async def feed_states(self) -> list[FeedState]:
        async with self._errors("read feeds"):
            rows = await self._db.execute_fetchall(
                f"""
                SELECT {_FEED_COLUMNS},
                       (SELECT count(*) FROM articles a WHERE a.feed_id = f.id),
                       (SELECT count(*) FROM page_queue q WHERE q.feed_id = f.id)
                FROM feeds f ORDER BY f.name
                """
            )
        return [feed_state(r, from_text, article_count=r[-2], pages_waiting=r[-1]) for r in rows]

    # -- one feed's results -------------------------------------------------------------

    async def save(self, update: FeedUpdate, articles: Sequence[Article]) -> list[Decision]:
        async with self._write_lock, self._errors("save feed results"), self._transaction():
            decisions = decide(articles, await self._known(update.feed_id, articles))
            counts = Counter(d.outcome for d in decisions)
            await self._write_decisions(update, decisions)
            await self._queue_pages(update, decisions)
            await self._update_feed(update)
            await self._db.execute(
                "INSERT INTO fetch_log (feed_id, at, status, http_status, error, new, updated,"
                " duplicate, filtered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    update.feed_id,
                    to_text(update.now),
                    update.status,
                    update.http_status,
                    update.error,
                    counts[Outcome.NEW],
                    counts[Outcome.UPDATED],
                    counts[Outcome.DUPLICATE],
                    update.filtered or 0,
                ),
            )
        return decisions

    async def preview(self, feed_id: int, articles: Sequence[Article]) -> list[Decision]:
        async with self._errors("read known entries"):
            return decide(articles, await self._known(feed_id, articles))

    async def _known(self, feed_id: int, articles: Sequence[Article]) -> KnownEntries:
        by_key: dict[str, Match] = {}
        for chunk in _chunks([a.entry_key for a in articles]):
            rows = await self._db.execute_fetchall(
                f"""
                SELECT e.entry_key, e.article_id, coalesce(f.name, ''),
                       coalesce(a.content_hash, ''), a.canonical_url, coalesce(a.fingerprint, ''),
                   coalesce(a.title, '')
                FROM entries e
                LEFT JOIN articles a ON a.id = e.article_id
                LEFT JOIN feeds f ON f.id = a.feed_id
                WHERE e.feed_id = ? AND e.entry_key IN ({_marks(chunk)})
                """,
                (feed_id, *chunk),
            )
            for r in rows:
                by_key[r[0]] = Match(r[1], r[2], r[3], r[4], r[5], r[6])
        unknown = [a for a in articles if a.entry_key not in by_key]
        urls = {a.canonical_url for a in unknown if a.canonical_url}
        fingerprints = {a.fingerprint for a in unknown if a.fingerprint}
        return KnownEntries(
            by_entry_key=by_key,
            by_canonical_url=await self._matches("canonical_url", urls),
            by_fingerprint=await self._matches("fingerprint", fingerprints),
        )

    async def _matches(self, column: str, values: Iterable[str]) -> dict[str, list[Match]]:
        found: dict[str, list[Match]] = {}
        for chunk in _chunks(sorted(values)):
            rows = await self._db.execute_fetchall(
                f"""
                SELECT a.{column}, a.id, f.name, a.content_hash, a.canonical_url, a.fingerprint,
                       a.title
                FROM articles a JOIN feeds f ON f.id = a.feed_id
                WHERE a.{column} IN ({_marks(chunk)})
                ORDER BY a.first_seen, a.rowid
                """,
                chunk,
            )
            for r in rows:
                found.setdefault(r[0], []).append(Match(r[1], r[2], r[3], r[4], r[5], r[6]))
        return found

    async def _write_decisions(self, update: FeedUpdate, decisions: Sequence[Decision]) -> None:
        now = to_text(update.now)
        new = [d.article for d in decisions if d.outcome is Outcome.NEW]
        names = await self._post_names(new) if new else {}
        await self._many(
            """
            INSERT INTO articles (id, feed_id, canonical_url, fingerprint, content_hash, link,
                title, author, content, image, published, updated, first_seen, changed_at,
                post_path)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                (a.id, update.feed_id, *content_values(a, to_text), now, now, names[a.id])
                for a in new
            ],
        )
        await self._many(
            """
            UPDATE articles SET canonical_url = ?, fingerprint = ?, content_hash = ?, link = ?,
                title = ?, author = ?, content = ?, image = ?, published = ?, updated = ?,
                changed_at = ?
            WHERE id = ?
            """,
            [
                (*content_values(d.article, to_text), now, d.target)
                for d in decisions
                if d.outcome is Outcome.UPDATED
            ],
        )
        # Entries beyond a first fetch's backlog are remembered like deleted articles
        # (tombstones): seen, never stored, never new again.
        await self._many(
            "INSERT OR IGNORE INTO entries (feed_id, entry_key, article_id, first_seen)"
            " VALUES (?, ?, ?, ?)",
            [(update.feed_id, d.article.entry_key, d.target, now) for d in decisions if d.new_key]
            + [(update.feed_id, key, article_id, now) for key, article_id in update.skipped],
        )

    async def _queue_pages(self, update: FeedUpdate, decisions: Sequence[Decision]) -> None:
        await self._many(
            """
            INSERT INTO page_queue (article_id, feed_id, url, media_image, attempts, queued_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (article_id) DO UPDATE SET url = excluded.url,
                media_image = excluded.media_image, attempts = excluded.attempts
            """,
            [
                (article_id, update.feed_id, url, image, attempts, to_text(update.now))
                for article_id, url, image, attempts in pages_to_queue(update, decisions)
            ],
        )

    async def queued_pages(self, feed_id: int, limit: int, before: datetime) -> list[QueuedPage]:
        async with self._errors("read queued pages"):
            rows = await self._db.execute_fetchall(
                "SELECT article_id, url, media_image, attempts FROM page_queue"
                " WHERE feed_id = ? AND queued_at < ? ORDER BY queued_at, article_id LIMIT ?",
                (feed_id, to_text(before), limit),
            )
        return [QueuedPage(r[0], r[1], r[2], r[3]) for r in rows]

    async def finish_pages(self, now: datetime, results: Sequence[PageResult]) -> None:
        async with self._write_lock, self._errors("store fetched pages"), self._transaction():
            await self._many(
                "UPDATE articles SET content = ?, image = coalesce(?, image),"
                " rendered_hash = NULL, changed_at = ? WHERE id = ?",
                [(r.content, r.image, to_text(now), r.article_id) for r in results if r.content],
            )
            await self._many(
                "UPDATE page_queue SET attempts = attempts + 1 WHERE article_id = ?",
                [(r.article_id,) for r in results if r.retry],
            )
            await self._many(
                "DELETE FROM page_queue WHERE article_id = ? AND (NOT ? OR attempts >= ?)",
                [(r.article_id, r.retry, MAX_PAGE_ATTEMPTS) for r in results],
            )

    async def _post_names(self, articles: Sequence[Article]) -> dict[str, str]:
        """Each new article's post file name. The rare clash (same date, slug and 8-hex id
        prefix as a stored article or one in this batch) gets the whole id instead."""
        taken: set[str] = set()
        for chunk in _chunks([a.post_name for a in articles]):
            rows = await self._db.execute_fetchall(
                f"SELECT post_path FROM articles WHERE post_path IN ({_marks(chunk)})", chunk
            )
            taken.update(r[0] for r in rows)
        return post_names(articles, taken)

    async def _update_feed(self, u: FeedUpdate) -> None:
        await self._db.execute(
            """
            UPDATE feeds SET
                url = coalesce(:url, url),
                url_via = CASE WHEN :url IS NULL THEN url_via ELSE :url_via END,
                etag = CASE WHEN :keep THEN etag ELSE :etag END,
                last_modified = CASE WHEN :keep THEN last_modified ELSE :last_modified END,
                body_hash = CASE WHEN :keep THEN body_hash ELSE :body_hash END,
                last_fetch_at = :now, last_status = :status, last_http_status = :http_status,
                last_error = :error,
                error_count = CASE WHEN :failed THEN error_count + 1 ELSE 0 END,
                next_check_at = :next_check_at, check_interval = :check_interval,
                schedule_reason = :schedule_reason,
                entry_gap = coalesce(:entry_gap, entry_gap),
                document_hint = coalesce(:document_hint, document_hint),
                rules_hash = coalesce(:rules_hash, rules_hash),
                filtered = coalesce(:filtered, filtered),
                disabled_reason = coalesce(:disable, disabled_reason),
                lease_until = NULL
            WHERE id = :feed_id
            """,
            {
                "url": u.url,
                "url_via": u.url_via,
                "keep": u.keep_validators,
                "etag": u.etag,
                "last_modified": u.last_modified,
                "body_hash": u.body_hash,
                "now": to_text(u.now),
                "status": u.status,
                "http_status": u.http_status,
                "error": u.error,
                "failed": u.status == "failed",
                "next_check_at": to_text(u.next_check_at),
                "check_interval": u.check_interval,
                "schedule_reason": u.schedule_reason,
                "entry_gap": u.entry_gap,
                "document_hint": u.document_hint,
                "rules_hash": u.rules_hash,
                "filtered": u.filtered,
                "disable": u.disable,
                "feed_id": u.feed_id,
            },
        )

    # -- scheduling (the daemon) ------------------------------------------------------------

    async def claim_due(
        self, now: datetime, limit: int, lease: float, per_host: int
    ) -> list[FeedState]:
        """Lease up to ``limit`` due feeds, at most ``per_host`` in flight per host, oldest
        due first. A lease expires by itself, so a killed worker's feeds come back."""
        if limit <= 0:
            return []
        now_text, until = to_text(now), to_text(now + timedelta(seconds=lease))
        async with self._write_lock, self._errors("claim due feeds"), self._transaction():
            busy = Counter(
                host(r[0])
                for r in await self._db.execute_fetchall(
                    "SELECT url FROM feeds WHERE lease_until > ?", (now_text,)
                )
            )
            rows = await self._db.execute_fetchall(
                f"""
                SELECT {_FEED_COLUMNS} FROM feeds f
                WHERE f.in_config AND f.enabled AND f.disabled_reason IS NULL
                  AND (f.next_check_at IS NULL OR f.next_check_at <= ?)
                  AND (f.lease_until IS NULL OR f.lease_until <= ?)
                ORDER BY f.next_check_at IS NOT NULL, f.next_check_at, f.id
                LIMIT ?
                """,
                (now_text, now_text, limit * 4 + per_host),
            )
            claimed = []
            for r in rows:
                server = host(r[2])
                if busy[server] >= per_host:
                    continue
                busy[server] += 1
                claimed.append(feed_state(r, from_text))
                if len(claimed) == limit:
                    break
            await self._many(
                "UPDATE feeds SET lease_until = ? WHERE id = ?",
                [(until, f.id) for f in claimed],
            )
        return claimed

    async def release(self, feed_ids: Sequence[int]) -> None:
        async with self._write_lock, self._errors("release leases"), self._transaction():
            await self._many(
                "UPDATE feeds SET lease_until = NULL WHERE id = ?", [(i,) for i in feed_ids]
            )

    async def schedule_feeds(
        self, when: Sequence[tuple[str, datetime]], first_only: bool = False
    ) -> None:
        async with self._write_lock, self._errors("schedule feeds"), self._transaction():
            await self._many(
                "UPDATE feeds SET next_check_at = ? WHERE name = ?"
                + (_NEVER_SCHEDULED if first_only else ""),
                [(to_text(at), name) for name, at in when],
            )

    async def set_disabled(self, name: str, reason: str | None) -> bool:
        """Disable (reason) or re-enable (None) a feed by name; False if there is none."""
        async with self._write_lock, self._errors("enable/disable feed"), self._transaction():
            cursor = await self._db.execute(
                "UPDATE feeds SET disabled_reason = ?, error_count = 0,"
                " next_check_at = CASE WHEN ? IS NULL THEN NULL ELSE next_check_at END"
                " WHERE name = ?",
                (reason, reason, name),
            )
            return cursor.rowcount > 0

    async def feed_articles(self, name: str) -> list[tuple[str, str]] | None:
        """(id, post file name) of a feed's articles; None when the store has no such feed."""
        async with self._errors("read a feed's articles"):
            if await self._scalar("SELECT count(*) FROM feeds WHERE name = ?", (name,)) == 0:
                return None
            rows = await self._db.execute_fetchall(
                "SELECT a.id, a.post_path FROM articles a JOIN feeds f ON f.id = a.feed_id"
                " WHERE f.name = ? ORDER BY a.id",
                (name,),
            )
        return [(r[0], r[1]) for r in rows]

    async def delete_feed(self, name: str) -> None:
        """Forget a feed: its articles, entry keys, log and row. Other feeds' sightings of its
        articles (duplicates) are forgotten too and those feeds are read afresh next time, so
        an article they also carry is stored again under them."""
        async with self._write_lock, self._errors("delete feed"), self._transaction():
            feed_id = await self._scalar("SELECT id FROM feeds WHERE name = ?", (name,))
            if feed_id is None:
                return
            owned = "SELECT id FROM articles WHERE feed_id = ?"
            # body_hash '' (not NULL, which means never read: the backlog would apply).
            await self._db.execute(
                "UPDATE feeds SET etag = NULL, last_modified = NULL, body_hash = ''"
                f" WHERE id IN (SELECT feed_id FROM entries WHERE article_id IN ({owned}))"
                " AND id != ?",
                (feed_id, feed_id),
            )
            await self._db.execute(
                f"DELETE FROM entries WHERE article_id IN ({owned}) OR feed_id = ?",
                (feed_id, feed_id),
            )
            for table in ("page_queue", "articles", "fetch_log"):
                await self._db.execute(f"DELETE FROM {table} WHERE feed_id = ?", (feed_id,))
            await self._db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))

    async def expired_articles(self, before: datetime) -> list[tuple[str, str]]:
        """(id, post file name) of articles published (or first seen) before ``before``."""
        async with self._errors("read expired articles"):
            rows = await self._db.execute_fetchall(
                "SELECT id, post_path FROM articles WHERE coalesce(published, first_seen) < ?",
                (to_text(before),),
            )
        return [(r[0], r[1]) for r in rows]

    async def delete_articles(self, article_ids: Sequence[str]) -> None:
        """Delete articles but keep their entry keys (tombstones): an entry still in its feed
        never comes back as new."""
        async with self._write_lock, self._errors("delete articles"), self._transaction():
            await self._many(
                "DELETE FROM page_queue WHERE article_id = ?", [(i,) for i in article_ids]
            )
            await self._many("DELETE FROM articles WHERE id = ?", [(i,) for i in article_ids])

    async def maintain(self, keep_log_days: int = 30, now: datetime | None = None) -> None:
        """Trim the fetch log, checkpoint the WAL, refresh the planner's statistics."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_log_days)
        async with self._write_lock, self._errors("maintenance"):
            async with self._transaction():
                await self._db.execute("DELETE FROM fetch_log WHERE at < ?", (to_text(cutoff),))
            await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            await self._db.execute("PRAGMA optimize")

    def lock_daemon(self) -> None:
        """One daemon per database: an exclusive lock on ``<database>.daemon.lock``, held until
        the process ends (a SIGKILLed daemon releases it with its file descriptors)."""
        lock_path = self._path + ".daemon.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(
                self._path,
                f"another aggregator daemon is running on this database (lock {lock_path})",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    async def lead_publisher(self) -> bool:
        """Always: one daemon per SQLite database (lock_daemon) is its only publisher."""
        return True

    # -- rendering ----------------------------------------------------------------------

    async def pending_posts(self, limit: int) -> list[StoredArticle]:
        async with self._errors("read pending posts"):
            rows = await self._db.execute_fetchall(
                f"""
                SELECT {_ARTICLE_COLUMNS}, a.content_hash FROM articles a
                JOIN feeds f ON f.id = a.feed_id
                WHERE a.rendered_hash IS NOT a.content_hash
                LIMIT ?
                """,
                (limit,),
            )
        return [stored_article(r, from_text) for r in rows]

    async def mark_rendered(self, rendered: Sequence[tuple[str, str]]) -> None:
        async with self._write_lock, self._errors("mark rendered"), self._transaction():
            await self._many(
                "UPDATE articles SET rendered_hash = content_hash"
                " WHERE id = ? AND content_hash = ?",
                rendered,
            )

    async def mark_unrendered(self, article_ids: Sequence[str] | None) -> None:
        async with self._write_lock, self._errors("mark unrendered"), self._transaction():
            if article_ids is None:
                await self._db.execute("UPDATE articles SET rendered_hash = NULL")
            else:
                await self._many(
                    "UPDATE articles SET rendered_hash = NULL WHERE id = ?",
                    [(i,) for i in article_ids],
                )

    async def post_paths(self, after: str = "", limit: int = 5000) -> list[tuple[str, str]]:
        async with self._errors("read post paths"):
            rows = await self._db.execute_fetchall(
                "SELECT id, post_path FROM articles WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            )
        return [(r[0], r[1]) for r in rows]

    async def newest(self, limit: int) -> list[StoredArticle]:
        async with self._errors("read newest articles"):
            rows = await self._db.execute_fetchall(
                f"""
                SELECT {_ARTICLE_COLUMNS}, a.content_hash FROM articles a
                JOIN feeds f ON f.id = a.feed_id
                ORDER BY coalesce(a.published, a.first_seen) DESC, a.id
                LIMIT ?
                """,
                (limit,),
            )
        return [stored_article(r, from_text) for r in rows]

    async def atom_id(self) -> str:
        async with self._write_lock, self._errors("atom id"), self._transaction():
            await self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('atom_id', ?)",
                (f"urn:uuid:{uuid.uuid4()}",),
            )
            value = await self._scalar("SELECT value FROM meta WHERE key = 'atom_id'")
        return str(value)

    # -- plumbing -----------------------------------------------------------------------

    async def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """executemany, skipped when there is nothing to write (each call is a thread hop)."""
        if rows:
            await self._db.executemany(sql, rows)

    async def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        async with self._db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            # After some errors (disk full, I/O) SQLite has rolled back by itself: ROLLBACK
            # then fails, and must not hide the error that ended the transaction.
            with suppress(sqlite3.OperationalError):
                await self._db.execute("ROLLBACK")
            raise
        await self._db.execute("COMMIT")

    @asynccontextmanager
    async def _errors(self, action: str) -> AsyncIterator[None]:
        """sqlite3 errors become StoreError naming the database and what failed."""
        try:
            yield
        except sqlite3.Error as e:
            raise StoreError(self._path, f"{action} failed: {e}") from e


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _marks(chunk: Sequence[str]) -> str:
    return ",".join("?" * len(chunk))
