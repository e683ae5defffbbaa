"""Pure: when to look at a feed next. ``next_check(now, ...)`` never reads the clock."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .config import ScheduleConfig

JITTER = 0.1  # +-10 % so feeds added together drift apart


def next_check(
    now: datetime,
    schedule: ScheduleConfig,
    *,
    interval: float | None = None,
    failures: int = 0,
    rand: random.Random | None = None,
) -> datetime:
    """The feed's interval clamped to [min_interval, max_interval]; after failures, exponential
    backoff from the interval up to max_interval, with jitter."""
    base = interval or schedule.interval
    if failures > 0:
        base = base * (2 ** min(failures - 1, 20))
    seconds = min(max(base, schedule.min_interval), schedule.max_interval)
    seconds *= 1 + (rand or random).uniform(-JITTER, JITTER)
    seconds = min(seconds, schedule.max_interval)
    return now + timedelta(seconds=seconds)
