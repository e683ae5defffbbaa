"""I/O: the store's feeds and their schedule: the config's feeds, the daemons' leases, and
forgetting a feed. A mixin of ``Store`` (core.py)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from ...config import FeedConfig
from ...models import FeedState
from . import queries as q
from .adapter import Database, Session
from .rows import Row, feed_state, host


class FeedsMixin:
    _db: Database
    _worker: str  # names this store's leases: only it lets them go

    async def sync_feeds(self, feeds: Sequence[FeedConfig]) -> dict[str, FeedState]:
        """Make the feeds table match the config (by name); returns the configured feeds.
        Rows that already match are left unwritten (many workers start with one config)."""

        async def sync(db: Session) -> None:
            await db.execute(q.UNLIST_FEEDS, [f.name for f in feeds])
            await db.executemany(
                q.UPSERT_FEED,
                [
                    (
                        f.name,
                        f.url,
                        json.dumps(list(f.categories), ensure_ascii=False),
                        f.post_author,
                        f.enabled,
                        f.dedupe,
                    )
                    for f in feeds
                ],
            )

        await self._db.transaction("sync feeds", sync)
        states = await self.feed_states()
        names = {f.name for f in feeds}
        return {s.name: s for s in states if s.name in names}

    async def feed_states(self) -> list[FeedState]:
        """Every feed the store knows, configured or not, with its article count."""
        async with self._db.read("read feeds") as db:
            rows = await db.fetch(q.FEED_STATES)
        to_time = self._db.to_time
        return [feed_state(r, to_time, article_count=r[-2], pages_waiting=r[-1]) for r in rows]

    # -- the daemons' schedule: due feeds are claimed with a lease that expires by itself --

    async def claim_due(
        self, now: datetime, limit: int, lease: float, per_host: int
    ) -> list[FeedState]:
        """Lease up to ``limit`` due feeds, oldest due first, to this worker.

        A lease is ``lease_until`` + ``lease_owner`` in the feed's row, committed: no other
        worker claims the feed until it is released or expires (a SIGKILLed worker's feeds
        come back after ``[schedule] lease``). On PostgreSQL the due rows are taken ``FOR
        UPDATE SKIP LOCKED``, so a claim does not wait on rows a save or a config sync holds.

        Per-host politeness is one budget shared by all workers: a host never has more than
        ``per_host`` live leases in the whole database, however many workers run (the global
        bound is ``per_host``, not workers x per_host). One claim at a time counts the free
        slots (``Database.lock_claims``: PostgreSQL's transaction advisory lock; SQLite's one
        writer), so two workers never count the same slot; a claim is three short statements
        per tick per worker. Leases are timed by the workers' clocks (``now``): keep them in
        sync (NTP), well within the lease.
        """
        if limit <= 0:
            return []

        async def claim(db: Session) -> list[FeedState]:
            await self._db.lock_claims(db)
            busy = Counter(host(r[0]) for r in await db.fetch(q.LEASED_URLS, now))
            due = await db.fetch(self._db.dialect.due_feeds, now, limit * 4 + per_host)
            claimed = [feed_state(r, self._db.to_time) for r in by_host(due, busy, limit, per_host)]
            if claimed:
                until = now + timedelta(seconds=lease)
                await db.execute(q.LEASE, until, self._worker, [f.id for f in claimed])
            return claimed

        return await self._db.transaction("claim due feeds", claim)

    async def release(self, feed_ids: Sequence[int]) -> None:
        """Let this worker's leases go; another worker's (a feed taken over after this one's
        lease expired) are left alone."""
        ids = list(feed_ids)
        await self._db.transaction(
            "release leases", lambda db: db.execute(q.RELEASE, ids, self._worker)
        )

    async def schedule_feeds(
        self, when: Sequence[tuple[str, datetime]], first_only: bool = False
    ) -> None:
        """Set next check times by feed name. ``first_only``: only for feeds never scheduled
        nor fetched (workers starting together must not re-spread what another fetched)."""
        sql = q.SCHEDULE_FIRST if first_only else q.SCHEDULE
        rows = [(at, name) for name, at in when]
        await self._db.transaction("schedule feeds", lambda db: db.executemany(sql, rows))

    async def set_disabled(self, name: str, reason: str | None) -> bool:
        """Disable (reason) or re-enable (None) a feed by name; False if there is none."""
        changed = await self._db.transaction(
            "enable/disable feed", lambda db: db.execute(q.SET_DISABLED, reason, name)
        )
        return changed > 0

    async def read_entries(self, feed_id: int) -> dict[str, str]:
        """What the feed's last document was read into: entry digest -> entry key
        (``Reading.known``)."""
        async with self._db.read("read a feed's last entries") as db:
            stored = await db.fetchval(q.READ_ENTRIES, feed_id)
        return dict(json.loads(stored)) if stored else {}

    async def feed_articles(self, name: str) -> list[tuple[str, str]] | None:
        """(id, post file name) of a feed's articles; None when there is no such feed."""
        async with self._db.read("read a feed's articles") as db:
            if await db.fetchval(q.FEED_ID, name) is None:
                return None
            rows = await db.fetch(q.FEED_ARTICLES, name)
        return [(r[0], r[1]) for r in rows]

    async def delete_feed(self, name: str) -> None:
        """Forget a feed (``aggregator prune``): its articles, entry keys, log and row. Other
        feeds' sightings of its articles (duplicates) are forgotten too and those feeds are
        read afresh next time, so an article they also carry is stored again under them."""

        async def forget(db: Session) -> None:
            feed_id = await db.fetchval(q.FEED_ID, name)
            if feed_id is None:
                return
            for statement in q.FORGET_FEED:
                await db.execute(statement, feed_id)

        await self._db.transaction("delete feed", forget)


def by_host(rows: Sequence[Row], busy: Counter[str], limit: int, per_host: int) -> list[Row]:
    """Pure: up to ``limit`` of the due feed rows (queries.FEED_COLUMNS, oldest due first),
    at most ``per_host`` in flight per host counting the leases ``busy`` already holds."""
    chosen = []
    for r in rows:
        server = host(r[2])
        if busy[server] >= per_host:
            continue
        busy[server] += 1
        chosen.append(r)
        if len(chosen) == limit:
            break
    return chosen
