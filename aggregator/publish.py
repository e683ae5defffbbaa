"""Posts and Atom are renderings of the database. ``publish`` renders what changed:
pending posts (new, updated, or whose file went missing), then the Atom document, each written
atomically and only when its bytes differ. Used by ``fetch``, the daemon and ``render``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from .config import OutputConfig
from .models import StoredArticle
from .output import existing_names, remove_temp_files, write_file, write_files
from .render import render_atom, render_json_feed, render_post
from .store import Store

log = logging.getLogger(__name__)

BATCH = 500  # posts per fsync batch


@dataclass(frozen=True, slots=True)
class Published:
    posts: list[str]
    atom_changed: bool


async def publish(store: Store, output: OutputConfig) -> Published:
    """Everything that changed: pending and missing posts, then the Atom document."""
    posts = await publish_posts(store, output, repair=True)
    atom_changed = await publish_feeds(store, output)
    if posts or atom_changed:
        log.info("published posts=%d atom_changed=%s", len(posts), atom_changed)
    return Published(posts, atom_changed)


async def publish_posts(store: Store, output: OutputConfig, repair: bool = False) -> list[str]:
    """Write pending posts in fsync batches; ``repair`` also re-queues missing files."""
    if repair:
        remove_temp_files(output.posts_dir)
        await _requeue_missing_posts(store, output)
    written: list[str] = []
    while batch := await store.pending_posts(BATCH):
        texts = {
            a.post_path: render_post(a, output.placeholder_image, output.leading_blank_line)
            for a in batch
        }
        # File I/O in a thread: the event loop keeps fetching while posts are written.
        written += await asyncio.to_thread(write_files, output.posts_dir, texts)
        await store.mark_rendered([(a.id, a.content_hash) for a in batch])
    return written


async def publish_feeds(store: Store, output: OutputConfig) -> bool:
    """The Atom document and, when configured, the JSON Feed; True if either changed."""
    articles = await store.newest(output.atom_limit)
    changed = await publish_atom(store, output, articles)
    if output.json_feed_path:
        text = render_json_feed(articles, title=output.atom_title)
        changed |= await asyncio.to_thread(write_file, output.json_feed_path, text)
    return changed


async def publish_atom(
    store: Store, output: OutputConfig, articles: Sequence[StoredArticle] | None = None
) -> bool:
    if articles is None:
        articles = await store.newest(output.atom_limit)
    feed_id = output.atom_id or await store.atom_id()
    text = render_atom(articles, title=output.atom_title, feed_id=feed_id)
    return await asyncio.to_thread(write_file, output.atom_path, text)


class BackgroundPublisher:
    """Writes pending posts while a pass goes on, so the files do not wait for the last feed.
    ``notify()`` after a feed stored something; ``close()`` drains what is left."""

    def __init__(self, store: Store, output: OutputConfig) -> None:
        self._store = store
        self._output = output
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
            await publish_posts(self._store, self._output)


async def _requeue_missing_posts(store: Store, output: OutputConfig) -> None:
    on_disk = existing_names(output.posts_dir)
    missing = [article_id for article_id, name in await store.post_paths() if name not in on_disk]
    if missing:
        log.info("re-creating %d missing post files", len(missing))
        await store.mark_unrendered(missing)
