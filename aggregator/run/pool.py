"""The parser pool: worker processes for the CPU-bound steps (parse + normalize + filter,
article extraction), started on first use, so a pass where every feed answers 304 starts none.

spawn, not fork or forkserver: fresh, small workers that import only the pure steps (a
forkserver would cost one more resident process; fork would copy a threaded event loop).
Workers ignore SIGINT/SIGTERM (the main process shuts the pool down) and exit when the main
process dies. ``close`` leaves no process behind.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import TypeVar

from ..config import FeedConfig
from ..errors import ParseError
from ..models import FetchResult, ParsedFeed
from ..steps.digest import DEFAULT_READING, Digest, Reading, digest_document, digest_parsed
from ..steps.extract.page import PageContent, extract_page
from ..steps.parse import parse_document
from ..steps.sourcepages import read_source_page
from ..steps.sources import SourcePage

T = TypeVar("T")


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C and SIGTERM to the main process, which shuts the pool down; when
    the main process dies without doing so (SIGKILL), they exit instead of lingering."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(parent_sentinel: int) -> None:
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(1)


def _stop_resource_tracker() -> None:
    """The spawn pool's semaphores start multiprocessing's resource tracker, a process of its
    own that exits only when it reads EOF on its pipe, that is after this process has exited:
    `aggregator fetch` returned while it was still there (FACTS.md). CPython 3.11 has no public
    way to stop it; ``ResourceTracker._stop()`` (what CPython's own tests call) closes the pipe
    and waits for the process. First the pool's queues are collected, so that their semaphores
    unregister with the running tracker: an unregister after the stop would start a new one."""
    from multiprocessing import resource_tracker

    gc.collect()
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    stop = getattr(tracker, "_stop", None)
    if callable(stop):
        stop()


def default_workers() -> int:
    """A parser process for each core the process may run on, but one: the main process
    keeps a core busy (HTTP, SQLite, writing posts). Measured on 2 cores, pass 1 of 2,000
    feeds alternating: one worker 63-69 s and 161 MB for the process tree, two 72-73 s and
    208 MB (three processes wanting two cores)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


class ParserPool:
    """Worker processes for parse + normalize (CPU-bound), started on first use. ``close``
    leaves no process behind: the workers are joined, and with the last pool the resource
    tracker goes too."""

    _open = 0  # pools of this process with live workers

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._executor: Executor | None = None

    def _pool(self) -> Executor:
        if self._executor is None:
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_ignore_interrupts
            )
            ParserPool._open += 1
        return self._executor

    async def run(
        self,
        result: FetchResult,
        feed: FeedConfig,
        now: datetime,
        reading: Reading = DEFAULT_READING,
    ) -> Digest:
        """A fetched feed document -> its articles (parse, normalize, filter)."""
        assert result.body is not None
        args = (result.body, result.url, result.content_type, feed, now, reading)
        return await self._submit(result.url, digest_document, *args)

    async def digest(
        self,
        document: ParsedFeed,
        url: str,
        feed: FeedConfig,
        now: datetime,
        reading: Reading = DEFAULT_READING,
    ) -> Digest:
        """A document already read (a source's pages) -> its articles (normalize, filter)."""
        return await self._submit(url, digest_parsed, document, url, feed, now, reading)

    async def read_page(self, page: FetchResult, feed: FeedConfig, now: datetime) -> SourcePage:
        """One page of a source (``source = "html"`` or ``"json"``) -> its entries."""
        assert page.body is not None
        args = (page.body, page.url, page.content_type, feed, now)
        return await self._submit(page.url, read_source_page, *args)

    async def parse(self, body: bytes, url: str, content_type: str) -> ParsedFeed:
        """A document parsed, nothing more (feed discovery's candidates)."""
        return await self._submit(url, parse_document, body, url, content_type)

    async def extract(
        self, page: FetchResult, feed: FeedConfig, allow_data_images: bool = False
    ) -> PageContent | None:
        """An article page's body."""
        assert page.body is not None
        selectors = (feed.content_selector, feed.remove_selectors)
        args = (page.body, page.url, page.content_type, *selectors, allow_data_images)
        try:
            return await self._submit(page.url, extract_page, *args)
        except ParseError:
            raise
        except Exception as e:
            # Third-party extractors raise what they raise; the feed's content is kept.
            raise ParseError(page.url, f"extraction failed: {type(e).__name__}: {e}") from None

    async def _submit(self, url: str, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` in a worker process; ParseError (naming ``url``) when it fails as
        expected or when the worker dies."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), work, *args)
        except ParseError as e:
            # concurrent.futures attaches the worker's traceback as the cause, which the
            # message would then carry: the error is the message alone.
            raise ParseError(e.subject, e.message) from None
        except BrokenProcessPool:
            self.close()  # a worker died (killed, out of memory): start afresh next time
            raise ParseError(url, "the worker process died on this document") from None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
            ParserPool._open -= 1
            if ParserPool._open == 0:
                _stop_resource_tracker()

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
