"""Posts and Atom are renderings of the database. ``publish`` renders what changed:
pending posts (new, updated, or whose file went missing), then the Atom document, each written
atomically and only when its bytes differ. Used by ``fetch``, the daemon and ``render``;
``remove_articles`` takes articles away (``prune``, the daemon's retention)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from ..config import OutputConfig
from ..edges.files import (
    missing_files,
    remove_post_files,
    remove_temp_files,
    write_file,
    write_files,
)
from ..edges.store import Store
from ..errors import OutputError
from ..models import Changes, StoredArticle
from ..steps.render import render_atom, render_json_feed, render_post
from ..steps.text import counted
from .feed import utcnow

log = logging.getLogger(__name__)

BATCH = 500  # posts per fsync batch


def log_changes(changes: Changes) -> None:
    """One info line for one publishing round with what it wrote (removals are logged where
    they are decided: retention, prune)."""
    if changes.added_count or changes.updated_count or changes.feeds_changed:
        log.info(
            "published added=%d updated=%d feeds_changed=%s",
            changes.added_count,
            changes.updated_count,
            changes.feeds_changed,
        )


class PublishError(OutputError):
    """Some outputs could not be written; every other one was. ``changes``: what was."""

    def __init__(self, errors: Sequence[OutputError], changes: Changes) -> None:
        super().__init__("", "; ".join(str(e) for e in errors))
        self.errors = list(errors)
        self.changes = changes


def new_changes(output: OutputConfig) -> Changes:
    """A publishing caller's record: the (article id, post file) pairs are kept only when an
    on_change command will read them (else counted: a first pass's 38,000 posts held ~6 MB)."""
    return Changes(listed=bool(output.on_change))


async def publish(store: Store, output: OutputConfig, into: Changes | None = None) -> Changes:
    """Everything that changed: pending and missing posts, then the Atom and JSON Feed. Each
    output is written even when another cannot be (a posts folder that refuses does not keep
    the Atom document from being written); then PublishError names every one that failed.
    What it does goes into ``into`` as it happens, as in ``publish_posts``."""
    errors: list[OutputError] = []
    changes = new_changes(output) if into is None else into
    try:
        await publish_posts(store, output, repair=True, into=changes)
    except OutputError as e:
        errors.append(e)
    changes.feeds_changed = await _write_feeds(store, output, errors)
    if errors:
        raise PublishError(errors, changes) from errors[0]
    return changes


async def publish_posts(
    store: Store, output: OutputConfig, repair: bool = False, into: Changes | None = None
) -> Changes:
    """Make the pending joins, then write pending posts in fsync batches; ``repair`` also
    re-queues missing files. What it removes and writes goes into ``into`` (else a new
    Changes) as it happens, so that a caller still has it when a later write fails: the
    joins' removed posts are not removed twice."""
    changes = new_changes(output) if into is None else into
    changes.removed += await _join_stories(store, output)
    if repair:
        remove_temp_files(output.posts_dir)
        await _requeue_missing_posts(store, output)
    while batch := await store.pending_posts(BATCH):
        ids = {a.post_path: a.id for a in batch}
        texts = {
            a.post_path: render_post(a, output.placeholder_image, output.leading_blank_line)
            for a in batch
        }
        # File I/O in a thread: the event loop keeps fetching while posts are written.
        written = await asyncio.to_thread(write_files, output.posts_dir, texts)
        await store.mark_rendered([(a.id, a.content_hash, a.revision) for a in batch])
        changes.wrote(written.created, written.replaced, ids)
    return changes


async def publish_feeds(store: Store, output: OutputConfig) -> bool:
    """The Atom document and, when configured, the JSON Feed; True if either changed. Both are
    tried; PublishError names what could not be written."""
    errors: list[OutputError] = []
    changed = await _write_feeds(store, output, errors)
    if errors:
        raise PublishError(errors, Changes(feeds_changed=changed)) from errors[0]
    return changed


async def _write_feeds(store: Store, output: OutputConfig, errors: list[OutputError]) -> bool:
    """Each feed document written if it can be; the failures appended to ``errors``."""
    articles = await store.newest(output.atom_limit)
    changed = False
    try:
        changed |= await publish_atom(store, output, articles)
    except OutputError as e:
        errors.append(e)
    if output.json_feed_path:
        text = render_json_feed(articles, title=output.atom_title, feed_url=output.json_feed_url)
        try:
            changed |= await asyncio.to_thread(write_file, output.json_feed_path, text)
        except OutputError as e:
            errors.append(e)
    return changed


async def publish_atom(
    store: Store, output: OutputConfig, articles: Sequence[StoredArticle] | None = None
) -> bool:
    if articles is None:
        articles = await store.newest(output.atom_limit)
    feed_id = output.atom_id or await store.atom_id()
    text = render_atom(articles, title=output.atom_title, feed_id=feed_id, self_url=output.atom_url)
    return await asyncio.to_thread(write_file, output.atom_path, text)


class BackgroundPublisher:
    """Writes pending posts while a pass goes on, so the files do not wait for the last feed.
    ``notify()`` after a feed stored something; ``close()`` drains what is left."""

    def __init__(self, store: Store, output: OutputConfig) -> None:
        self._store = store
        self._output = output
        self.changes = new_changes(output)
        self._wake = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="publisher")

    def notify(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        await self._task

    async def _run(self) -> None:
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            try:
                await publish_posts(self._store, self._output, into=self.changes)
            except OutputError as e:
                # The posts stay pending and the pass goes on; the closing publish() tries
                # them again, writes the other outputs and reports what still fails.
                log.debug("posts not written during the pass: %s", e)
                return


async def _join_stories(store: Store, output: OutputConfig) -> list[tuple[str, str]]:
    """Articles found to be another's story join it (``Store.join_articles``): their posts
    go first, as in ``remove_articles`` (a crash in between leaves the rows and the queued
    joins for the next round; a join the store refuses leaves its article pending, written
    again below). The (article id, post file) pairs removed."""
    joins = await store.pending_joins()
    if not joins:
        return []
    await asyncio.to_thread(remove_post_files, output.posts_dir, [j.post_path for j in joins])
    made = await store.join_articles(joins, utcnow())
    if made:
        log.info("joined %s into the stories they copy", counted(len(made), "article"))
    return [(j.article_id, j.post_path) for j in made]


async def _requeue_missing_posts(store: Store, output: OutputConfig) -> None:
    """Page through the articles and look for each file: memory stays flat at any store size
    (a directory listing and every path at once took ~60 MB at 160,000 articles)."""
    missing: list[str] = []
    after = ""
    while page := await store.post_paths(after):
        missing += await asyncio.to_thread(missing_files, output.posts_dir, page)
        after = page[-1]
    if missing:
        log.info("re-creating %s", counted(len(missing), "missing post file"))
        await store.mark_unrendered(missing)


async def remove_articles(
    store: Store,
    output: OutputConfig,
    articles: Sequence[tuple[str, str]],
    delete_rows: Callable[[], Awaitable[None]],
) -> Changes:
    """Take (article id, post file) pairs away: their post files first, then ``delete_rows``
    (a crash in between leaves rows whose posts the next publish re-creates), then the Atom
    document and the JSON Feed without them. Publisher only (retention, ``prune``)."""
    await asyncio.to_thread(remove_post_files, output.posts_dir, [name for _, name in articles])
    await delete_rows()
    return Changes(removed=list(articles), feeds_changed=await publish_feeds(store, output))
