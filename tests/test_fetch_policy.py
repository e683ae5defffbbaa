"""fetch.policy: pure HTTP decisions (Retry-After, backoff, permanent moves)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from aggregator.edges.fetch.policy import (
    BACKOFF_BASE,
    RETRY_STATUSES,
    THROTTLE_STATUSES,
    backoff_delay,
    describe_status,
    is_permanent_move,
    parse_retry_after,
)

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("  30  ", 30.0),
        ("86400", 86400.0),
        ("Sat, 01 Jun 2024 12:05:00 GMT", 300.0),
        ("Sat, 01 Jun 2024 13:00:00 +0100", 0.0),  # the same instant as NOW
        ("Sat, 01 Jun 2024 11:00:00 GMT", 0.0),  # in the past: no wait
        ("Saturday, 01-Jun-24 12:01:00 GMT", 60.0),  # RFC 850
        ("Sat Jun  1 12:00:30 2024", 30.0),  # asctime, no zone: GMT
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("12abc", None),
        ("Sat, 99 Foo 2024", None),
        ("²", None),
        ("١٢٣", None),
    ],
    ids=[
        "seconds",
        "zero",
        "spaces",
        "day",
        "http-date",
        "http-date-offset",
        "past-date",
        "rfc850",
        "asctime",
        "none",
        "empty",
        "word",
        "negative",
        "fraction",
        "junk-digits",
        "junk-date",
        "superscript-digit",
        "arabic-digits",
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


@given(st.text())
@example("²")
@example("Fri, 31 Dec 9999 23:59:59 GMT")
def test_parse_retry_after_never_raises(value: str) -> None:
    result = parse_retry_after(value, NOW)
    assert result is None or result >= 0


@given(st.integers(min_value=0, max_value=100), st.floats(min_value=0.1, max_value=86400))
def test_backoff_is_bounded_by_the_cap(attempt: int, cap: float) -> None:
    delay = backoff_delay(attempt, cap, random.Random(attempt))
    assert 0 <= delay <= min(cap, BACKOFF_BASE * 2**attempt)


def test_backoff_ceiling_grows_until_the_cap() -> None:
    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    ceilings = [backoff_delay(n, 30.0, Top()) for n in range(10)]
    assert ceilings[:6] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
    assert ceilings[6:] == [30.0] * 4
    assert backoff_delay(10_000, 30.0, Top()) == 30.0  # no overflow


def test_backoff_has_jitter() -> None:
    rand = random.Random(7)
    assert len({backoff_delay(5, 30.0, rand) for _ in range(20)}) > 1


@pytest.mark.parametrize(
    ("history", "permanent"),
    [
        ([], False),
        ([301], True),
        ([308], True),
        ([301, 308, 301], True),
        ([302], False),
        ([307], False),
        ([301, 302], False),
        ([302, 301], False),
        ([303], False),
    ],
    ids=["none", "301", "308", "chain", "302", "307", "301-then-302", "302-then-301", "303"],
)
def test_is_permanent_move(history: list[int], permanent: bool) -> None:
    assert is_permanent_move(history) is permanent


def test_status_sets() -> None:
    assert {429, 500, 502, 503, 504} <= RETRY_STATUSES
    assert not {400, 401, 403, 404, 410} & RETRY_STATUSES
    assert THROTTLE_STATUSES <= RETRY_STATUSES


@pytest.mark.parametrize(
    ("status", "text"),
    [(404, "HTTP 404 Not Found"), (410, "HTTP 410 Gone"), (429, "HTTP 429"), (500, "HTTP 500")],
)
def test_describe_status(status: int, text: str) -> None:
    assert describe_status(status).startswith(text)
