"""``python -m bench.dedupe.store [--shared DIR] [--postgres] [--orders ...] [--seed N]``: the
syndication corpus through the real store, ``Store.save`` one entry at a time, each source a
feed; the joins a save queues are made after it, as the publisher would.

Each document becomes the article a worker would make (``normalize_entry`` of its text as
paragraphs, signed at ``[dedupe] min_tokens``), saved by its source's feed; the decisions say
which stored article it joined. Reports what bench.dedupe reports for the model (stories
kept, false merges, recall per kind of copy) and what the near-duplicate part of a save costs
per article: the same saves with ``near`` and without, on fresh databases (wall time of
``save``: lookup, candidates' texts, verification, band key rows), and the shares of the
lookup alone and of the verification (CPU, in this process).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aggregator.config import FeedConfig
from aggregator.edges.store import Store, open_store
from aggregator.edges.store import articles as store_articles
from aggregator.models import Article, FeedStatus, FeedUpdate, ParsedEntry
from aggregator.steps import dedupe
from aggregator.steps.normalize import normalize_entry
from aggregator.steps.similar import DEFAULT_THRESHOLDS, Thresholds

from .corpus import COPY_KINDS, Doc, build
from .evaluate import arrange
from .sources import load_originals

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass(slots=True)
class Result:
    order: str
    article_of: dict[str, str] = field(default_factory=dict)  # doc id -> stored article id
    save_s: list[float] = field(default_factory=list)  # wall seconds per save
    verify_cpu: float = 0.0  # seconds in merge_near_duplicates (texts shingled, compared)
    candidates: int = 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dedupe.store")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--orders", default="originals,copies,shuffled")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args(argv)
    docs = build(load_originals(args.shared), args.seed)
    print(f"{len(docs)} documents, {len({d.source for d in docs})} sources (feeds)\n")
    backends = ["sqlite", *(["postgresql"] if args.postgres else [])]
    for backend in backends:
        for order in args.orders.split(","):
            arranged = arrange(docs, order, args.seed)
            near = asyncio.run(_through(backend, arranged, order, DEFAULT_THRESHOLDS))
            plain = asyncio.run(_through(backend, arranged, order, None))
            print(_report(backend, arranged, near, plain))
    return 0


async def _through(
    backend: str, docs: Sequence[Doc], order: str, near: Thresholds | None
) -> Result:
    result = Result(order)
    feeds = {
        d.source: FeedConfig(name=d.source, url=f"http://127.0.0.1/{i}")
        for i, d in enumerate(_unique_sources(docs))
    }
    with tempfile.TemporaryDirectory(prefix="neardup-") as folder:
        async with _database(backend, Path(folder)) as database:
            store = await open_store(database)
            try:
                ids = {
                    s.name: s.id for s in (await store.sync_feeds(list(feeds.values()))).values()
                }
                with _timed(result):
                    for doc in docs:
                        article = _article(feeds[doc.source], doc, near)
                        update = FeedUpdate(feed_id=ids[doc.source], now=NOW, status=FeedStatus.OK)
                        started = time.perf_counter()
                        [decision] = await store.save(update, [article], near)
                        result.save_s.append(time.perf_counter() - started)
                        result.article_of[doc.id] = decision.target
                        if decision.absorbs:  # as the publisher would (no posts here)
                            await _join(store, result.article_of)
            finally:
                await store.close()
    return result


async def _join(store: Store, article_of: dict[str, str]) -> None:
    """The pending joins made; the documents of a joined article then map to its story."""
    for j in await store.join_articles(await store.pending_joins(), NOW):
        for doc_id, article_id in article_of.items():
            if article_id == j.article_id:
                article_of[doc_id] = j.into_id


def _unique_sources(docs: Sequence[Doc]) -> list[Doc]:
    seen: dict[str, Doc] = {}
    for d in docs:
        seen.setdefault(d.source, d)
    return list(seen.values())


def _article(feed: FeedConfig, doc: Doc, near: Thresholds | None) -> Article:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in doc.text.split("\n\n") if p.strip())
    entry = ParsedEntry(
        guid=doc.id,
        link=f"https://{feed.name}.example/{doc.id}",
        title=doc.title,
        author=None,
        content_html=body,
        base_url=f"https://{feed.name}.example/",
        published=NOW,
        updated=None,
    )
    sign = near.min_tokens if near else 0
    return normalize_entry(entry, feed, feed.url, NOW, sign=sign)


class _timed:
    """CPU seconds spent in the candidate lookup and in the verification, counted by wrapping
    the two functions save calls (in this process: the database's own work on SQLite runs in
    aiosqlite's thread, so the lookup is wall time there)."""

    def __init__(self, result: Result) -> None:
        self.result = result
        self.saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> None:
        result = self.result
        merge = dedupe.merge_near_duplicates
        candidates = dedupe.near_candidates

        def timed_merge(*args: Any) -> Any:
            started = time.process_time()
            try:
                return merge(*args)
            finally:
                result.verify_cpu += time.process_time() - started

        def counted_candidates(*args: Any) -> Any:
            found = candidates(*args)
            result.candidates += len(found)
            return found

        for module, name, value in (
            (store_articles, "merge_near_duplicates", timed_merge),
            (store_articles, "near_candidates", counted_candidates),
        ):
            self.saved.append((module, name, getattr(module, name)))
            setattr(module, name, value)

    def __exit__(self, *exc: object) -> None:
        for module, name, value in self.saved:
            setattr(module, name, value)


class _database:
    """A fresh database: a SQLite file in ``folder``, or a throwaway PostgreSQL cluster."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend, self.folder = backend, folder
        self._cluster: Any = None

    async def __aenter__(self) -> str:
        if self.backend == "sqlite":
            return str(self.folder / "db.sqlite3")
        sys.path.insert(0, str(ROOT / "tests"))
        from pgcluster import create_database, find_bin_dir, throwaway_cluster

        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise SystemExit("PostgreSQL is not installed")
        self._cluster = throwaway_cluster(bin_dir, settings="")
        admin = self._cluster.__enter__()
        return str(await create_database(admin, "neardup"))

    async def __aexit__(self, *exc: object) -> None:
        if self._cluster is not None:
            self._cluster.__exit__(None, None, None)


def _report(backend: str, docs: Sequence[Doc], near: Result, plain: Result) -> str:
    story_of = {d.id: d.story for d in docs}
    first_story: dict[str, str] = {}
    for d in docs:  # the story of an article is the story of the document that made it
        first_story.setdefault(near.article_of[d.id], d.story)
    false = [d.id for d in docs if first_story[near.article_of[d.id]] != story_of[d.id]]
    stories = {d.story for d in docs}
    lost = {story_of[i] for i in false}
    original = {d.story: d.id for d in docs if d.kind == "original"}
    recall: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for d in docs:
        if d.kind in COPY_KINDS:
            key = f"{d.kind} (CJK)" if d.cjk else d.kind
            recall[key][1] += 1
            recall[key][0] += near.article_of[d.id] == near.article_of[original[d.story]]
    cells = ", ".join(f"{k} {m}/{t} ({m / t:.1%})" for k, (m, t) in sorted(recall.items()))
    extra = (sum(near.save_s) - sum(plain.save_s)) / len(docs) * 1e6
    return (
        f"{backend}, {near.order} first: stories kept {len(stories - lost)}/{len(stories)}, "
        f"false merges {len(false)}; {cells}\n"
        f"  save µs per entry: {statistics.mean(near.save_s) * 1e6:.0f} with near-duplicates, "
        f"{statistics.mean(plain.save_s) * 1e6:.0f} without (+{extra:.0f}); verification "
        f"{near.verify_cpu / len(docs) * 1e6:.0f} µs CPU per entry, "
        f"{near.candidates} candidates for {len(docs)} entries\n"
    )


if __name__ == "__main__":
    raise SystemExit(main())
