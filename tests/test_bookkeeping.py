"""run/bookkeeping.py: the bookkeeping of feeds that stored nothing, written in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from aggregator.errors import StoreError
from aggregator.models import FeedStatus, FeedUpdate
from aggregator.run.bookkeeping import Bookkeeper

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Store:
    """Records each batch it is asked to write; fails from ``fail_at`` on."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_at = fail_at

    async def record_checks(self, updates: Sequence[FeedUpdate]) -> None:
        if self.fail_at is not None and len(self.batches) >= self.fail_at:
            raise StoreError("db", "disk full")
        self.batches.append([u.feed_id for u in updates])


def update(feed_id: int) -> FeedUpdate:
    return FeedUpdate(feed_id=feed_id, now=NOW, status=FeedStatus.NOT_MODIFIED)


def keeper(store: Store, **kwargs: Any) -> Bookkeeper:
    return Bookkeeper(store, **kwargs)  # type: ignore[arg-type]


def test_updates_are_written_in_full_batches_and_the_rest_on_close() -> None:
    async def go() -> list[list[int]]:
        store = Store()
        book = keeper(store, size=100, delay=60)
        for i in range(250):
            await book.record(update(i))
        assert [len(b) for b in store.batches] == [100, 100], "full batches at once"
        await book.close()
        return store.batches

    batches = asyncio.run(go())
    assert [len(b) for b in batches] == [100, 100, 50]
    assert [i for b in batches for i in b] == list(range(250)), "each update once, in order"


def test_a_batch_that_does_not_fill_is_written_after_the_delay() -> None:
    async def go() -> list[list[int]]:
        store = Store()
        book = keeper(store, size=100, delay=0.05)
        for i in range(3):
            await book.record(update(i))
        deadline = asyncio.get_running_loop().time() + 10
        while not store.batches and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        written = list(store.batches)
        await book.close()
        return written

    assert asyncio.run(go()) == [[0, 1, 2]]


def test_a_failed_write_is_raised_by_the_next_call() -> None:
    async def go() -> None:
        store = Store(fail_at=0)
        book = keeper(store, size=100, delay=0.01)
        await book.record(update(1))
        deadline = asyncio.get_running_loop().time() + 10
        while book._timer is not None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        with pytest.raises(StoreError, match="disk full"):
            await book.record(update(2))

    asyncio.run(go())
