"""I/O: the store's articles, entries and full-text page queue: one feed's results saved
exactly once, the queue's pages, retention. A mixin of ``Store`` (core.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from ...models import (
    Article,
    Decision,
    FeedUpdate,
    KnownEntries,
    Match,
    Outcome,
    PageResult,
    QueuedPage,
)
from ...steps.dedupe import decide
from ...steps.render.filename import post_name, post_names
from . import queries as q
from .adapter import Database, Session
from .rows import (
    MAX_PAGE_ATTEMPTS,
    content_values,
    feed_update_values,
    fetch_log_values,
    match,
    pages_to_queue,
)


class ArticlesMixin:
    _db: Database
    _worker: str  # names this store's leases: only it lets them go

    async def save(self, update: FeedUpdate, articles: Sequence[Article]) -> list[Decision]:
        """Decide and write one feed's results in one transaction, exactly once across workers.

        ``decide`` reads what is known, then the transaction writes: two workers saving the
        same syndicated article (different feeds, same canonical URL or fingerprint) at the
        same moment would both read "unknown" and both insert it. A canonical URL cannot be a
        UNIQUE column (one feed may carry several entries sharing a link: podcasts), so each
        key is serialized instead, in this order:

        1. ``lock_feed``: one save per feed at a time (its entry keys and its own articles are
           then stable, and article ids, UUID5 of feed and entry, cannot race);
        2. its entry keys are read; for the articles they do not find (only those are matched
           across feeds), ``lock_keys`` on each canonical URL and fingerprint;
        3. only then the cross-feed matches are read. The second of two racing saves waits for
           the first to commit and then finds its article: one NEW, one DUPLICATE.

        SQLite lets one writer in at a time, so its hooks do nothing; PostgreSQL's (row lock,
        advisory locks) are in postgres.py. The constraints back this up: ``entries (feed_id,
        entry_key)`` and ``articles (id)`` are primary keys written with ``ON CONFLICT DO
        NOTHING``.
        """
        async with self._db.write("save feed results") as db:
            await self._db.lock_feed(db, update.feed_id)
            by_key = await self._known_keys(db, update.feed_id, articles)
            unknown = [a for a in articles if a.entry_key not in by_key]
            await self._db.lock_keys(db, unknown)
            decisions = decide(articles, await self._known(db, by_key, unknown))
            await self._write_decisions(db, update, decisions)
            await self._queue_pages(db, update, decisions)
            await self._update_feed(db, update)
            await self._log_fetch(db, update, decisions)
        return decisions

    async def preview(self, feed_id: int, articles: Sequence[Article]) -> list[Decision]:
        """The decisions ``save`` would make now, writing nothing (full text crawls only the
        articles that would be added or updated)."""
        async with self._db.read("read known entries") as db:
            by_key = await self._known_keys(db, feed_id, articles)
            unknown = [a for a in articles if a.entry_key not in by_key]
            return decide(articles, await self._known(db, by_key, unknown))

    async def _known_keys(
        self, db: Session, feed_id: int, articles: Sequence[Article]
    ) -> dict[str, Match]:
        rows = await db.fetch(q.KNOWN_KEYS, feed_id, [a.entry_key for a in articles])
        return {r[0]: match(r) for r in rows}

    async def _known(
        self, db: Session, by_key: dict[str, Match], unknown: Sequence[Article]
    ) -> KnownEntries:
        """``by_key`` and the stored articles that the ``unknown`` ones may duplicate."""
        urls = {a.canonical_url for a in unknown if a.canonical_url}
        fingerprints = {a.fingerprint for a in unknown if a.fingerprint}
        return KnownEntries(
            by_entry_key=by_key,
            by_canonical_url=await _matches(db, self._db.dialect.matches_by_url, urls),
            by_fingerprint=await _matches(
                db, self._db.dialect.matches_by_fingerprint, fingerprints
            ),
        )

    async def _write_decisions(
        self, db: Session, update: FeedUpdate, decisions: Sequence[Decision]
    ) -> None:
        now = update.now
        new = [d.article for d in decisions if d.outcome is Outcome.NEW]
        names = await _post_names(db, new, now) if new else {}
        await db.executemany(
            q.INSERT_ARTICLE,
            [(a.id, update.feed_id, *content_values(a), now, now, names[a.id]) for a in new],
        )
        # By id: row locks in one order everywhere (mark_rendered too), so no deadlock.
        updated = [d for d in decisions if d.outcome is Outcome.UPDATED]
        updates = sorted(updated, key=lambda d: d.target)  # stable: the last change still wins
        await db.executemany(
            q.UPDATE_ARTICLE, [(*content_values(d.article), now, d.target) for d in updates]
        )
        # Entries beyond a first fetch's backlog are remembered like deleted articles
        # (tombstones): seen, never stored, never new again.
        await db.executemany(
            q.INSERT_ENTRY,
            [(update.feed_id, d.article.entry_key, d.target, now) for d in decisions if d.new_key]
            + [(update.feed_id, key, article_id, now) for key, article_id in update.skipped],
        )

    async def _queue_pages(
        self, db: Session, update: FeedUpdate, decisions: Sequence[Decision]
    ) -> None:
        wanted = sorted(pages_to_queue(update, decisions), key=lambda row: row[0])  # by id
        await db.executemany(
            q.QUEUE_PAGE,
            [
                (article_id, update.feed_id, url, image, attempts, update.now)
                for article_id, url, image, attempts in wanted
            ],
        )

    async def _update_feed(self, db: Session, u: FeedUpdate) -> None:
        await db.execute(q.UPDATE_FEED, *feed_update_values(u, self._worker))

    async def _log_fetch(
        self, db: Session, update: FeedUpdate, decisions: Sequence[Decision]
    ) -> None:
        await db.execute(q.LOG_FETCH, *fetch_log_values(update, decisions))

    async def record_checks(self, updates: Sequence[FeedUpdate]) -> None:
        """The bookkeeping of feeds whose pass stored nothing (not modified, failed,
        deferred), many in one transaction (run/bookkeeping.py); by feed id, the order every
        writer locks feed rows in."""
        ordered = sorted(updates, key=lambda u: u.feed_id)
        async with self._db.write("record feed checks") as db:
            await db.executemany(
                q.UPDATE_FEED, [feed_update_values(u, self._worker) for u in ordered]
            )
            await db.executemany(q.LOG_FETCH, [fetch_log_values(u, ()) for u in ordered])

    # -- the full-text page queue ---------------------------------------------------------

    async def queued_pages(self, feed_id: int, limit: int, before: datetime) -> list[QueuedPage]:
        """A feed's full-text pages queued before ``before``, oldest first (see
        FeedUpdate.pages_wanted)."""
        async with self._db.read("read queued pages") as db:
            rows = await db.fetch(q.QUEUED_PAGES, feed_id, before, limit)
        return [QueuedPage(r[0], r[1], r[2], r[3]) for r in rows]

    async def finish_pages(self, now: datetime, results: Sequence[PageResult]) -> None:
        """Fetched pages' content replaces their articles' (the posts are written again); a
        failure to retry stays queued up to MAX_PAGE_ATTEMPTS, any other leaves the queue."""
        ordered = sorted(results, key=lambda r: r.article_id)  # row locks in id order
        async with self._db.write("store fetched pages") as db:
            await db.executemany(
                q.PAGE_CONTENT,
                [(r.content, r.image, now, r.article_id) for r in ordered if r.content],
            )
            await db.executemany(q.PAGE_RETRIED, [(r.article_id,) for r in ordered if r.retry])
            await db.executemany(
                q.PAGE_DONE, [(r.article_id, r.retry, MAX_PAGE_ATTEMPTS) for r in ordered]
            )

    # -- retention -------------------------------------------------------------------------

    async def expired_articles(self, before: datetime) -> list[tuple[str, str]]:
        """(id, post file name) of articles published (or first seen) before ``before``."""
        async with self._db.read("read expired articles") as db:
            rows = await db.fetch(q.EXPIRED_ARTICLES, before)
        return [(r[0], r[1]) for r in rows]

    async def delete_articles(self, article_ids: Sequence[str]) -> None:
        """Delete articles but keep their entry keys (tombstones): an entry still in its feed
        never comes back as new."""
        ids = sorted(article_ids)
        async with self._db.write("delete articles") as db:
            await db.execute(q.UNQUEUE_PAGES, ids)
            await db.execute(q.DELETE_ARTICLES, ids)


async def _matches(db: Session, sql: str, values: Iterable[str]) -> dict[str, list[Match]]:
    """Stored articles by the canonical URL or fingerprint (``sql``) they have, oldest first."""
    wanted = sorted(values)
    if not wanted:
        return {}
    found: dict[str, list[Match]] = {}
    for r in await db.fetch(sql, wanted):
        found.setdefault(r[0], []).append(match(r))
    return found


async def _post_names(db: Session, articles: Sequence[Article], now: datetime) -> dict[str, str]:
    """Each new article's post file name (a rare clash gets the whole id: post_names)."""
    wanted = [post_name(a, now) for a in articles]
    rows = await db.fetch(q.TAKEN_POST_NAMES, wanted)
    return post_names(articles, now, (r[0] for r in rows))
