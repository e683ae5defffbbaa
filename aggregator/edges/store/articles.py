"""I/O: the store's articles, entries and full-text page queue: one feed's results saved
exactly once, the queue's pages, retention. A mixin of ``Store`` (core.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import groupby
from typing import Any

from ...models import (
    Article,
    Decision,
    FeedUpdate,
    KnownEntries,
    Match,
    Outcome,
    PageResult,
    QueuedPage,
    StoryJoin,
)
from ...steps.dedupe import (
    Stored,
    decide,
    merge_near_duplicates,
    near_candidates,
    still_fuller,
)
from ...steps.normalize import plain_text
from ...steps.render.filename import post_name, post_names
from ...steps.similar import Thresholds
from . import queries as q
from .adapter import Database, Session
from .queries import Dialect
from .rows import (
    MAX_PAGE_ATTEMPTS,
    content_values,
    feed_update_values,
    fetch_log_values,
    match,
    pages_to_queue,
)

# Articles a band key is kept for: a key that more distinct articles share is boilerplate (a
# site's standard lead), which proposes only look-alikes and would make every lookup long.
MAX_ARTICLES_PER_KEY = 64


class ArticlesMixin:
    _db: Database
    _worker: str  # names this store's leases: only it lets them go

    async def save(
        self, update: FeedUpdate, articles: Sequence[Article], near: Thresholds | None = None
    ) -> list[Decision]:
        """Decide and write one feed's results in one transaction, exactly once across workers.
        ``near``: the near-duplicate thresholds ([dedupe]); None: near-duplicates are off.

        ``decide`` reads what is known, then the transaction writes: two workers saving the
        same syndicated article (different feeds, same canonical URL or fingerprint) at the
        same moment would both read "unknown" and both insert it. A canonical URL cannot be a
        UNIQUE column (one feed may carry several entries sharing a link: podcasts), so each
        key is serialized instead, in this order:

        1. ``lock_feed``: one save per feed at a time (its entry keys and its own articles are
           then stable, and article ids, UUID5 of feed and entry, cannot race);
        2. its entry keys are read; for the articles they do not find (only those are matched
           across feeds), ``lock_keys`` on each canonical URL and fingerprint, and on each
           band key of their signatures;
        3. only then the cross-feed matches are read, and the band keys' stored holders. The
           second of two racing saves waits for the first to commit and then finds its
           article: one NEW, one DUPLICATE.

        Near-duplicates are exact the same way: two texts are compared only when they share a
        band key (that is how a lookup finds one from the other), and two saves whose articles
        share one take its lock in turn, so the second finds the first's article and keys.
        More locks than ``MAX_KEY_LOCKS`` (24 band keys per signed article: a first fetch)
        take the exclusive save lock instead.

        SQLite lets one writer in at a time, so its hooks do nothing; PostgreSQL's (row lock,
        advisory locks) are in postgres.py. The constraints back this up: ``entries (feed_id,
        entry_key)`` and ``articles (id)`` are primary keys written with ``ON CONFLICT DO
        NOTHING``.
        """
        return await self._db.transaction(
            "save feed results", lambda db: self._save(db, update, articles, near)
        )

    async def _save(
        self,
        db: Session,
        update: FeedUpdate,
        articles: Sequence[Article],
        near: Thresholds | None,
    ) -> list[Decision]:
        await self._db.lock_feed(db, update.feed_id)
        by_key = await self._known_keys(db, update.feed_id, articles)
        unknown = [a for a in articles if a.entry_key not in by_key]
        await self._db.lock_keys(db, unknown)
        decisions, held = await self._decide(db, update.feed_id, articles, by_key, near)
        await self._write_decisions(db, update, decisions)
        await _write_near_keys(db, self._db.dialect, decisions, held)
        await db.executemany(
            q.QUEUE_JOIN,
            [(a, d.target, a == d.text_from) for d in decisions for a in d.absorbs],
        )
        await self._queue_pages(db, update, decisions)
        duplicates = sum(d.outcome is Outcome.DUPLICATE for d in decisions)
        await self._update_feed(db, update, duplicates)
        await self._log_fetch(db, update, decisions)
        return decisions

    async def preview(
        self, feed_id: int, articles: Sequence[Article], near: Thresholds | None = None
    ) -> list[Decision]:
        """The decisions ``save`` would make now, writing nothing (full text crawls only the
        articles that would be added or updated)."""
        async with self._db.read("read known entries") as db:
            by_key = await self._known_keys(db, feed_id, articles)
            decisions, _ = await self._decide(db, feed_id, articles, by_key, near)
            return decisions

    async def _decide(
        self,
        db: Session,
        feed_id: int,
        articles: Sequence[Article],
        by_key: dict[str, Match],
        near: Thresholds | None,
    ) -> tuple[list[Decision], _Held]:
        """By entry key, link and fingerprint (``decide``), then the articles still new by
        their texts' similarity to stored articles of other feeds; and what the band key
        lookup found (for the keys' rows)."""
        unknown = [a for a in articles if a.entry_key not in by_key]
        decisions = decide(articles, await self._known(db, feed_id, by_key, unknown))
        signed = [d.article for d in decisions if d.outcome is Outcome.NEW and d.article.signature]
        if near is None or not signed:
            return decisions, _Held()
        held = _Held(looked_up={a.id for a in signed})
        holders: dict[int, list[str]] = {}
        origins: dict[str, tuple[int, int]] = {}  # article -> feed, seq
        keys = sorted({key for a in signed for key in a.signature})
        for r in await db.fetch(q.NEAR_HOLDERS, keys, feed_id):  # key, article, eligible, ...
            held.articles[r[0]] += 1
            if r[2]:
                holders.setdefault(r[0], []).append(r[1])
                origins[r[1]] = (r[3], r[4])
        candidates = {
            a.id: found for a in signed if (found := near_candidates(a.signature, holders))
        }
        if not candidates:
            return decisions, held
        ids = sorted({article_id for found in candidates.values() for article_id in found})
        stored = {
            r[0]: Stored(plain_text(r[1]), *origins[r[0]])
            for r in await db.fetch(q.NEAR_TEXTS, ids)
        }
        return merge_near_duplicates(decisions, candidates, stored, near), held

    async def _known_keys(
        self, db: Session, feed_id: int, articles: Sequence[Article]
    ) -> dict[str, Match]:
        rows = await db.fetch(q.KNOWN_KEYS, feed_id, [a.entry_key for a in articles])
        return {r[0]: match(r) for r in rows}

    async def _known(
        self, db: Session, feed_id: int, by_key: dict[str, Match], unknown: Sequence[Article]
    ) -> KnownEntries:
        """``by_key`` and the stored articles that the ``unknown`` ones may duplicate: the
        feed's own, and other feeds' unless either feed has ``dedupe = false``."""
        urls = {a.canonical_url for a in unknown if a.canonical_url}
        fingerprints = {a.fingerprint for a in unknown if a.fingerprint}
        dialect = self._db.dialect
        return KnownEntries(
            by_entry_key=by_key,
            by_canonical_url=await _matches(db, dialect.matches_by_url, urls, feed_id),
            by_fingerprint=await _matches(
                db, dialect.matches_by_fingerprint, fingerprints, feed_id
            ),
        )

    async def _write_decisions(
        self, db: Session, update: FeedUpdate, decisions: Sequence[Decision]
    ) -> None:
        now = update.now
        new = [d.article for d in decisions if d.outcome is Outcome.NEW]
        names = await _post_names(db, new, now) if new else {}
        await db.executemany(
            self._db.dialect.insert_article,
            [(a.id, update.feed_id, *content_values(a), now, now, names[a.id]) for a in new],
        )
        await _write_changes(db, decisions, now)
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

    async def _update_feed(self, db: Session, u: FeedUpdate, duplicates: int) -> None:
        await db.execute(q.UPDATE_FEED, *feed_update_values(u, self._worker, duplicates))

    async def _log_fetch(
        self, db: Session, update: FeedUpdate, decisions: Sequence[Decision]
    ) -> None:
        await db.execute(q.LOG_FETCH, *fetch_log_values(update, decisions))

    async def record_checks(self, updates: Sequence[FeedUpdate]) -> None:
        """The bookkeeping of feeds whose pass stored nothing (not modified, failed,
        deferred), many in one transaction (run/bookkeeping.py); by feed id, the order every
        writer locks feed rows in."""
        ordered = sorted(updates, key=lambda u: u.feed_id)

        async def record(db: Session) -> None:
            await db.executemany(
                q.UPDATE_FEED, [feed_update_values(u, self._worker) for u in ordered]
            )
            await db.executemany(q.LOG_FETCH, [fetch_log_values(u, ()) for u in ordered])

        await self._db.transaction("record feed checks", record)

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

        async def finish(db: Session) -> None:
            await db.executemany(
                q.PAGE_CONTENT,
                [(r.content, r.image, now, r.article_id) for r in ordered if r.content],
            )
            await db.executemany(q.PAGE_RETRIED, [(r.article_id,) for r in ordered if r.retry])
            await db.executemany(
                q.PAGE_DONE, [(r.article_id, r.retry, MAX_PAGE_ATTEMPTS) for r in ordered]
            )

        await self._db.transaction("store fetched pages", finish)

    # -- joins ---------------------------------------------------------------------------

    async def pending_joins(self) -> list[StoryJoin]:
        """Stored articles found to be another's story (``Decision.absorbs``), to be joined
        once the publisher has removed their posts."""
        async with self._db.read("read pending joins") as db:
            rows = await db.fetch(q.PENDING_JOINS)
        return [StoryJoin(r[0], r[1], r[2], bool(r[3])) for r in rows]

    async def join_articles(self, joins: Sequence[StoryJoin], now: datetime) -> list[StoryJoin]:
        """Each article joins the one it is the story of, in one transaction: its entries
        (its own feed's and its duplicates') and band keys move there, it is deleted, and its
        feed counts its own entries as duplicates now. A join no longer allowed is refused:
        an article gone, a feed that opted out of merging, or a feed with an entry in both
        (within a feed, entries are one story only by their keys). An article that joins one
        already joined goes where that one went (a chain follows only joins made). Articles
        whose posts the publisher removed and that stay are queued to be written again. An
        article that ``gives_text`` gives the other its content (changed ``now``). The joins
        made, with the article each went into."""

        async def join(db: Session) -> list[StoryJoin]:
            # Lock order as a save's: its feed's row, then the save lock (exclusive here: no
            # save maps a copy to an article being joined meanwhile).
            ids = [j.article_id for j in joins]
            for feed_id in sorted({r[1] for r in await db.fetch(q.JOINING, ids)}):
                await self._db.lock_feed(db, feed_id)
            await self._db.lock_saves(db)
            went: dict[str, str] = {}  # joined article -> the article it went into
            made = []
            for j in joins:
                into = _destination(j.into_id, went)
                if into != j.article_id and await _join(db, j, into, now):
                    went[j.article_id] = into
                    made.append(replace(j, into_id=into))
                    # Joins queued into it since the publisher read them go on to ``into``.
                    await db.execute(q.REDIRECT_JOINS, j.article_id, into)
            await db.execute(q.MARK_UNRENDERED, [i for i in ids if i not in went])
            await db.execute(q.UNQUEUE_JOINS, ids)
            return made

        return await self._db.transaction("join articles", join)

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

        async def delete(db: Session) -> None:
            await db.execute(q.UNQUEUE_PAGES, ids)
            await db.execute(q.UNINDEX_ARTICLES, ids)
            await db.execute(q.DELETE_ARTICLES, ids)

        await self._db.transaction("delete articles", delete)


async def _matches(
    db: Session, sql: str, values: Iterable[str], feed_id: int
) -> dict[str, list[Match]]:
    """Stored articles by the canonical URL or fingerprint (``sql``) they have that feed
    ``feed_id`` may match, oldest first."""
    wanted = sorted(values)
    if not wanted:
        return {}
    found: dict[str, list[Match]] = {}
    for r in await db.fetch(sql, wanted, feed_id):
        found.setdefault(r[0], []).append(match(r))
    return found


@dataclass(slots=True)
class _Held:
    """What save's band key lookup found: how many stored articles hold each key, for the
    articles it looked up (signed, new by the other rules)."""

    looked_up: set[str] = field(default_factory=set)
    articles: Counter[int] = field(default_factory=Counter)


async def _write_near_keys(
    db: Session, dialect: Dialect, decisions: Sequence[Decision], held: _Held
) -> None:
    """The band keys of the articles looked up (``_near_keys``), sorted by key: the b-tree is
    walked in order."""
    rows = sorted(_near_keys(decisions, held))
    if not rows:
        return
    if dialect.near_keys_as_arrays:
        await db.execute(dialect.insert_near_keys, [r[0] for r in rows], [r[1] for r in rows])
    else:
        await db.executemany(dialect.insert_near_keys, rows)


def _near_keys(decisions: Sequence[Decision], held: _Held) -> list[tuple[int, str]]:
    """(key, article id): a new article's keys, and a merged copy's for the article it joined
    (its later copies may resemble it more). A key that MAX_ARTICLES_PER_KEY articles hold,
    stored or earlier in the batch, takes no more."""
    wanted: dict[tuple[int, str], None] = {}
    batch: Counter[int] = Counter()
    for d in decisions:
        if d.article.id not in held.looked_up or d.outcome not in (Outcome.NEW, Outcome.DUPLICATE):
            continue
        for key in d.article.signature:
            full = held.articles[key] + batch[key] >= MAX_ARTICLES_PER_KEY
            if not full and (key, d.target) not in wanted:
                wanted[key, d.target] = None
                batch[key] += 1
    return list(wanted)


def _destination(article_id: str, went: dict[str, str]) -> str:
    """Where an article is now: itself, or the end of the joins it went through."""
    seen = {article_id}
    while article_id in went and went[article_id] not in seen:
        article_id = went[article_id]
        seen.add(article_id)
    return article_id


async def _join(db: Session, j: StoryJoin, into: str, now: datetime) -> bool:
    """One join, if still allowed (see Store.join_articles)."""
    absorbed = j.article_id
    rows = await db.fetch(q.JOINING, [absorbed, into])  # id, feed, dedupe
    feeds = {r[0]: r[1] for r in rows if r[2]}
    if len(feeds) != 2:
        return False
    entries = await db.fetch(q.ENTRIES_OF, [absorbed, into])  # feed, key, article
    moving = [(r[0], r[1]) for r in entries if r[2] == absorbed]
    if {r[0] for r in entries if r[2] == into} & {feed for feed, _ in moving}:
        return False
    if j.gives_text:
        texts = {r[0]: plain_text(r[1]) for r in await db.fetch(q.NEAR_TEXTS, [absorbed, into])}
        if still_fuller(texts[absorbed], texts[into]):
            await db.execute(q.GIVE_TEXT, absorbed, into, now)
    await db.executemany(q.MOVE_ENTRY, [(into, feed, key) for feed, key in moving])
    await db.execute(q.MOVE_NEAR_KEYS, absorbed, into)
    for sql in q.JOINED_ARTICLE:
        await db.execute(sql, absorbed)
    # Its feed's entries now map to another feed's article; every other feed's did before
    # and still do (the feed of ``into`` has none among them: checked above).
    own = sum(feed == feeds[absorbed] for feed, _ in moving)
    await db.execute(q.MORE_DUPLICATES, own, feeds[absorbed])
    return True


async def _write_changes(db: Session, decisions: Sequence[Decision], now: datetime) -> None:
    """Updated articles, and stored teasers taking a fuller copy's text (the post is written
    again; identity, fingerprint and content hash stay the feed entry's, so the next pass of
    the teaser's feed does not take it back). In one order by id, whichever the statement:
    row locks are taken in one order everywhere (mark_rendered too), so no deadlock."""
    changes: list[tuple[str, str, tuple[Any, ...]]] = []
    for d in decisions:
        if d.outcome is Outcome.UPDATED:
            changes.append(
                (d.target, q.UPDATE_ARTICLE, (*content_values(d.article), now, d.target))
            )
        elif d.fuller:
            changes.append(
                (d.target, q.TAKE_FULLER, (d.article.content, d.article.image, now, d.target))
            )
    changes.sort(key=lambda c: c[0])  # stable: the last change of an article still wins
    for sql, run in groupby(changes, key=lambda c: c[1]):
        await db.executemany(sql, [c[2] for c in run])


async def _post_names(db: Session, articles: Sequence[Article], now: datetime) -> dict[str, str]:
    """Each new article's post file name (a rare clash gets the whole id: post_names)."""
    wanted = [post_name(a, now) for a in articles]
    rows = await db.fetch(q.TAKEN_POST_NAMES, wanted)
    return post_names(articles, now, (r[0] for r in rows))
