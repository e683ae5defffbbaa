"""Pure: when to look at a feed next. ``next_check(now, ...)`` never reads the clock.

base     = the feed's interval, or [schedule] interval
           (adaptive: half the median gap between its recent entries)
next     = clamp(base, min_interval, max_interval), +-10 % jitter
hints    = <ttl>, sy:updatePeriod/Frequency, Cache-Control max-age, Expires:
           never sooner than the publisher asks (up to max_interval), even when not adaptive
failures = base * 2**(failures-1), jittered, up to max_interval
Retry-After always wins, capped at 24 h.
"""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from ..config import ScheduleConfig
from ..models import FeedHints

JITTER = 0.1
RETRY_AFTER_CAP = 86400.0
_PERIODS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 604800,
    "monthly": 2592000,
    "yearly": 31536000,
}


@dataclass(frozen=True, slots=True)
class Plan:
    at: datetime
    interval: float  # seconds until ``at``, before jitter
    reason: str  # fixed, adaptive, publisher hint, backoff, retry-after


@dataclass(frozen=True, slots=True)
class Signals:
    """What one fetch told us about the feed's rhythm."""

    entry_gap: float | None = None  # typical seconds between entries (see typical_gap)
    document_hint: float | None = None  # seconds asked by <ttl> / sy:update* (document_hint)
    cache_control: str | None = None
    expires: str | None = None
    retry_after: float | None = None
    failures: int = 0  # consecutive, including this one


# One generator for every plan: a new random.Random() seeds itself from 2.5 KB of os.urandom,
# a system call for each feed of each pass.
_JITTER_SOURCE = random.Random()


def next_check(
    now: datetime,
    schedule: ScheduleConfig,
    signals: Signals = Signals(),
    *,
    interval: float | None = None,
    adaptive: bool | None = None,
    rand: random.Random | None = None,
) -> Plan:
    rand = rand or _JITTER_SOURCE
    if signals.retry_after is not None:
        wait = min(max(signals.retry_after, 0.0), RETRY_AFTER_CAP)
        return Plan(now + timedelta(seconds=wait), wait, "retry-after")
    adaptive = schedule.adaptive if adaptive is None else adaptive
    base, reason = float(interval or schedule.interval), "fixed"
    if adaptive and signals.entry_gap is not None:
        base, reason = signals.entry_gap / 2, "adaptive"
    if signals.failures > 0:
        base, reason = base * 2 ** min(signals.failures - 1, 30), "backoff"
    floor = schedule.min_interval
    hint = publisher_hint(signals, now)
    if hint is not None and hint > max(base, floor) and reason != "backoff":
        reason = "publisher hint"
    if hint is not None:
        floor = max(floor, min(hint, schedule.max_interval))
    seconds = _clamp(base, floor, schedule.max_interval)
    jittered = _clamp(seconds * (1 + rand.uniform(-JITTER, JITTER)), floor, schedule.max_interval)
    return Plan(now + timedelta(seconds=jittered), seconds, reason)


def typical_gap(dates: Sequence[datetime]) -> float | None:
    """Median seconds between consecutive entries (at least 3 entries), else None."""
    ordered = sorted(set(dates))
    if len(ordered) < 3:
        return None
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    return float(statistics.median(gaps))


def publisher_hint(signals: Signals, now: datetime) -> float | None:
    """The longest wait the publisher asks for, in seconds, or None."""
    asks: list[float] = [signals.document_hint] if signals.document_hint else []
    if (max_age := cache_max_age(signals.cache_control)) is not None:
        asks.append(max_age)
    if (expires := _expires_in(signals.expires, now)) is not None:
        asks.append(expires)
    return max(asks) if asks else None


def document_hint(hints: FeedHints) -> float | None:
    """Seconds the document itself asks between checks: RSS <ttl>, sy:updatePeriod/Frequency."""
    asks = []
    if hints.ttl_minutes:
        asks.append(hints.ttl_minutes * 60.0)
    if hints.update_period in _PERIODS:
        asks.append(_PERIODS[hints.update_period] / max(hints.update_frequency or 1, 1))
    return max(asks) if asks else None


def cache_max_age(cache_control: str | None) -> float | None:
    if not cache_control:
        return None
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() in ("max-age", "s-maxage") and value.strip('"').isdigit():
            return float(value.strip('"'))
    return None


def _expires_in(expires: str | None, now: datetime) -> float | None:
    if not expires:
        return None
    try:
        when = parsedate_to_datetime(expires)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    seconds = (when - now).total_seconds()
    return seconds if seconds > 0 else None


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(value, high)) if low <= high else high
