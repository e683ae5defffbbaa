"""Pure HTTP policies over values: what a status means, how long to wait, whether a move sticks."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
THROTTLE_STATUSES = frozenset({429, 503})
PERMANENT_REDIRECTS = frozenset({301, 308})
BACKOFF_BASE = 0.5  # seconds before the first retry (then doubling, with full jitter)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """RFC 9110 §10.2.3: delay-seconds or an HTTP-date. Returns seconds from now, or None."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²": str.isdigit takes any Unicode digit
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(attempt: int, cap: float, rand: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""
    ceiling = min(cap, BACKOFF_BASE * (2 ** min(attempt, 30)))
    return (rand or random).uniform(0, ceiling)


def is_permanent_move(history_statuses: Sequence[int]) -> bool:
    """A stored URL is replaced only when every hop of the chain was permanent (301/308)."""
    return bool(history_statuses) and all(s in PERMANENT_REDIRECTS for s in history_statuses)


def describe_status(status: int) -> str:
    if status == 404:
        return "HTTP 404 Not Found"
    if status == 410:
        return "HTTP 410 Gone"
    if status == 429:
        return "HTTP 429 Too Many Requests"
    return f"HTTP {status}"
