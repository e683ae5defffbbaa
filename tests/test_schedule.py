"""Pure next_check: table tests and the contract's properties."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.config import ScheduleConfig
from aggregator.models import FeedHints
from aggregator.steps.schedule import (
    RETRY_AFTER_CAP,
    Signals,
    cache_max_age,
    document_hint,
    next_check,
    publisher_hint,
    typical_gap,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SCHEDULE = ScheduleConfig(interval=1800, min_interval=300, max_interval=86400, adaptive=True)
FIXED = ScheduleConfig(interval=1800, min_interval=300, max_interval=86400, adaptive=False)


def seconds_until(at: datetime) -> float:
    return (at - NOW).total_seconds()


@pytest.mark.parametrize(
    ("schedule", "signals", "interval", "expected", "reason"),
    [
        (FIXED, Signals(), None, 1800, "fixed"),
        (FIXED, Signals(), 600.0, 600, "fixed"),
        (FIXED, Signals(), 10.0, 300, "fixed"),  # clamped up to min_interval
        (FIXED, Signals(), 10 * 86400.0, 86400, "fixed"),  # clamped down to max_interval
        (SCHEDULE, Signals(entry_gap=3600), None, 1800, "adaptive"),
        (SCHEDULE, Signals(entry_gap=7 * 86400), None, 86400, "adaptive"),
        (FIXED, Signals(entry_gap=60), None, 1800, "fixed"),  # not adaptive: gap ignored
        (FIXED, Signals(document_hint=3600), None, 3600, "publisher hint"),
        (FIXED, Signals(document_hint=60), None, 1800, "fixed"),  # a shorter hint: no effect
        (FIXED, Signals(cache_control="public, max-age=7200"), None, 7200, "publisher hint"),
        (FIXED, Signals(document_hint=30 * 86400), None, 86400, "publisher hint"),
        (FIXED, Signals(failures=1), None, 1800, "backoff"),
        (FIXED, Signals(failures=3), None, 7200, "backoff"),
        (FIXED, Signals(failures=40), None, 86400, "backoff"),
        (FIXED, Signals(retry_after=120), None, 120, "retry-after"),
        (FIXED, Signals(retry_after=10 * 86400), None, RETRY_AFTER_CAP, "retry-after"),
    ],
    ids=[
        "default interval",
        "feed interval",
        "min clamp",
        "max clamp",
        "adaptive half gap",
        "adaptive capped",
        "fixed ignores gap",
        "ttl raises",
        "short ttl ignored",
        "max-age raises",
        "hint capped at max",
        "first failure",
        "third failure doubles twice",
        "backoff capped",
        "retry-after wins",
        "retry-after capped at 24h",
    ],
)
def test_next_check_table(
    schedule: ScheduleConfig, signals: Signals, interval: float | None, expected: float, reason: str
) -> None:
    plan = next_check(NOW, schedule, signals, interval=interval, rand=random.Random(1))
    assert plan.interval == expected
    assert plan.reason == reason
    if reason != "retry-after":
        assert abs(seconds_until(plan.at) - expected) <= expected * 0.1 + 1e-6


def test_expires_header_is_a_publisher_hint() -> None:
    expires = (NOW + timedelta(hours=5)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert publisher_hint(Signals(expires=expires), NOW) == 5 * 3600


def test_document_hint_takes_the_longest_ask() -> None:
    assert document_hint(FeedHints(ttl_minutes=5)) == 300
    assert document_hint(FeedHints(update_period="hourly", update_frequency=2)) == 1800
    assert document_hint(FeedHints(ttl_minutes=60, update_period="daily")) == 86400
    assert document_hint(FeedHints()) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("max-age=60", 60),
        ('no-cache, max-age="90"', 90),
        ("s-maxage=5", 5),
        ("private", None),
        (None, None),
        ("max-age=soon", None),
    ],
)
def test_cache_max_age(value: str | None, expected: float | None) -> None:
    assert cache_max_age(value) == expected


def test_typical_gap_needs_three_entries_and_takes_the_median() -> None:
    hours = [NOW - timedelta(hours=h) for h in (0, 1, 2, 10)]
    assert typical_gap(hours[:2]) is None
    assert typical_gap(hours) == 3600


durations = st.floats(min_value=1, max_value=30 * 86400, allow_nan=False)


@given(
    interval=durations,
    min_interval=durations,
    max_interval=durations,
    hint=st.none() | durations,
    max_age=st.none() | st.integers(0, 40 * 86400),
    gap=st.none() | durations,
    failures=st.integers(0, 50),
    adaptive=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_never_sooner_than_the_publisher_and_never_later_than_max(
    interval: float,
    min_interval: float,
    max_interval: float,
    hint: float | None,
    max_age: int | None,
    gap: float | None,
    failures: int,
    adaptive: bool,
    seed: int,
) -> None:
    low, high = sorted((min_interval, max_interval))
    schedule = ScheduleConfig(
        interval=interval, min_interval=low, max_interval=high, adaptive=adaptive
    )
    signals = Signals(
        entry_gap=gap,
        document_hint=hint,
        cache_control=f"max-age={max_age}" if max_age is not None else None,
        failures=failures,
    )
    wait = seconds_until(next_check(NOW, schedule, signals, rand=random.Random(seed)).at)
    asked = publisher_hint(signals, NOW) or 0
    assert wait <= high + 1e-6
    assert wait >= min(asked, high) - 1e-6
    assert wait >= low - 1e-6


@given(
    retry_after=st.floats(min_value=0, max_value=1e9, allow_nan=False), failures=st.integers(0, 50)
)
def test_retry_after_is_always_honoured_up_to_a_day(retry_after: float, failures: int) -> None:
    signals = Signals(retry_after=retry_after, failures=failures)
    wait = seconds_until(next_check(NOW, FIXED, signals).at)
    assert wait == pytest.approx(min(retry_after, RETRY_AFTER_CAP), abs=1e-3)
