"""I/O: what the store gives the publisher: the post queue (``articles.rendered_hash`` records
which content a post file holds), post paths, the newest articles and the Atom id. A mixin of
``Store`` (core.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from ...models import StoredArticle
from . import queries as q
from .adapter import Database, Session
from .rows import stored_article


class RenderingMixin:
    _db: Database

    async def pending_posts(self, limit: int) -> list[StoredArticle]:
        """Articles whose post file is older than their content (or was never written)."""
        async with self._db.read("read pending posts") as db:
            rows = await db.fetch(q.PENDING_POSTS, limit)
        return [stored_article(r, self._db.to_time) for r in rows]

    async def mark_rendered(self, rendered: Sequence[tuple[str, str, int]]) -> None:
        """(article id, content hash, revision) of the posts written; a newer change stays
        pending."""
        rows = sorted(rendered)  # row locks in id order
        await self._db.transaction(
            "mark rendered", lambda db: db.executemany(q.MARK_RENDERED, rows)
        )

    async def mark_unrendered(self, post_paths: Sequence[str] | None) -> None:
        """Queue posts to be written again, by file name (None: every post)."""
        if post_paths is None:
            await self._db.transaction(
                "mark unrendered", lambda db: db.execute(q.MARK_ALL_UNRENDERED)
            )
            return
        names = sorted(post_paths)

        async def mark(db: Session) -> None:
            ids = sorted(r[0] for r in await db.fetch(q.ARTICLES_OF_POSTS, names))
            await db.execute(q.MARK_UNRENDERED, ids)  # row locks in id order

        await self._db.transaction("mark unrendered", mark)

    async def post_paths(self, after: str = "", limit: int = 5000) -> list[str]:
        """The post file names of live articles, in order, one page after ``after``."""
        async with self._db.read("read post paths") as db:
            rows = await db.fetch(q.POST_PATHS, after, limit)
        return [r[0] for r in rows]

    async def newest(self, limit: int) -> list[StoredArticle]:
        """The newest articles by published date (first-seen when absent)."""
        async with self._db.read("read newest articles") as db:
            rows = await db.fetch(q.NEWEST, limit)
        return [stored_article(r, self._db.to_time) for r in rows]

    async def atom_id(self) -> str:
        """A stable ``urn:uuid:`` for the Atom feed, made once and kept."""

        async def keep(db: Session) -> str:
            await db.execute(q.KEEP_ATOM_ID, f"urn:uuid:{uuid.uuid4()}")
            return str(await db.fetchval(q.ATOM_ID))

        return await self._db.transaction("atom id", keep)
