"""The bookkeeping of feeds whose pass stored nothing (not modified, failed, deferred) written
in batches: one transaction for many feeds instead of one per feed, the daemon's everyday case
(most checks answer 304).

A batch is written when it is full, ``DELAY`` after its first update, and on close. A crash
loses at most the batch in hand: those feeds keep their previous state and are checked again,
never an article (articles are saved at once, with their feed's update, by the pipeline).
"""

from __future__ import annotations

import asyncio
import contextlib

from ..edges.store import Store
from ..models import FeedUpdate

SIZE = 100  # updates per transaction
DELAY = 0.25  # seconds a batch waits for more before it is written


class Bookkeeper:
    def __init__(self, store: Store, size: int = SIZE, delay: float = DELAY) -> None:
        self._store = store
        self._size = size
        self._delay = delay
        self._batch: list[FeedUpdate] = []
        self._timer: asyncio.Task[None] | None = None
        self._failed: BaseException | None = None
        self._writing = asyncio.Lock()

    async def record(self, update: FeedUpdate) -> None:
        """Queue one feed's bookkeeping; a full batch is written before this returns. Raises
        what writing an earlier batch raised (StoreError: the pass stops, exit 4)."""
        self._raise_failure()
        self._batch.append(update)
        if len(self._batch) >= self._size:
            await self._write()
        elif self._timer is None:
            self._timer = asyncio.create_task(self._write_later(), name="bookkeeping")

    async def flush(self) -> None:
        """Write what is waiting now (the daemon, before it counts leases to claim more: a
        feed whose bookkeeping waits still holds its lease); raises what writing raised."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        await self._write()
        self._raise_failure()

    async def close(self) -> None:
        """Write what is left; raises what writing raised."""
        await self.flush()

    async def _write_later(self) -> None:
        await asyncio.sleep(self._delay)
        self._timer = None
        try:
            await self._write()
        except Exception as e:  # reported by the next record() or close()
            self._failed = e

    async def _write(self) -> None:
        async with self._writing:
            batch, self._batch = self._batch, []
            if batch:
                await self._store.record_checks(batch)

    def _raise_failure(self) -> None:
        if self._failed is not None:
            failed, self._failed = self._failed, None
            raise failed
