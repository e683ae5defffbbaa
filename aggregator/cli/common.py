"""What every command shares: exit codes, the logger, a store opened for one command."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ..config import Config
from ..edges.store import Store, open_store

EXIT_OK, EXIT_FEED_FAILED, EXIT_USAGE, EXIT_BUG, EXIT_REFUSED = 0, 1, 2, 3, 4
EXIT_TERMINATED = 128 + 15  # SIGTERM, as a shell reports a process it ended

log = logging.getLogger("aggregator")


async def with_store(config: Config, work: Callable[[Store], Coroutine[Any, Any, int]]) -> int:
    store = await open_store(config.storage.database)
    try:
        return await work(store)
    finally:
        await store.close()
