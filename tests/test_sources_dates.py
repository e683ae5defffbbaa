"""parse_item_date: the dates list pages and APIs show, resolved against `now` in the feed's
time zone; garbage gives None and nothing ever raises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.steps.sources.dates import moves_with_now, parse_item_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2024-01-02 12:00 in Shanghai.
NOW = datetime(2024, 1, 2, 4, 0, tzinfo=UTC)


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("刚刚", NOW),
        ("just now", NOW),
        ("5分钟前", NOW - timedelta(minutes=5)),
        ("5 分钟前", NOW - timedelta(minutes=5)),
        ("3小时前", NOW - timedelta(hours=3)),
        ("半小时前", NOW - timedelta(minutes=30)),
        ("2天前", NOW - timedelta(days=2)),
        ("30秒前", NOW - timedelta(seconds=30)),
        ("2 hours ago", NOW - timedelta(hours=2)),
        ("an hour ago", NOW - timedelta(hours=1)),
        ("5 minutes ago", NOW - timedelta(minutes=5)),
        ("5 mins ago", NOW - timedelta(minutes=5)),
        ("3h ago", NOW - timedelta(hours=3)),
        ("昨天 10:20", shanghai(2024, 1, 1, 10, 20)),
        ("昨天10:20", shanghai(2024, 1, 1, 10, 20)),
        ("前天 08:00", shanghai(2023, 12, 31, 8, 0)),
        ("今天 09:15", shanghai(2024, 1, 2, 9, 15)),
        ("Yesterday at 10:20", shanghai(2024, 1, 1, 10, 20)),
        ("yesterday", shanghai(2024, 1, 1)),
        ("05月26日", shanghai(2023, 5, 26)),  # yearless: not in the future, so last year
        ("12月31日", shanghai(2023, 12, 31)),
        ("01-02 10:20", shanghai(2024, 1, 2, 10, 20)),
        ("12-28 16:45", shanghai(2023, 12, 28, 16, 45)),
        ("2021年5月26日 10:20", shanghai(2021, 5, 26, 10, 20)),
        ("2021/05/26", shanghai(2021, 5, 26)),
        ("2021-5-26 9:05", shanghai(2021, 5, 26, 9, 5)),
        ("2021-05-26 09:32", shanghai(2021, 5, 26, 9, 32)),  # no offset: the feed's zone
        ("2021-05-26T01:32:46Z", datetime(2021, 5, 26, 1, 32, 46, tzinfo=UTC)),
        ("2021-05-26T09:32:46+08:00", datetime(2021, 5, 26, 1, 32, 46, tzinfo=UTC)),
        ("Wed, 26 May 2021 01:32:46 GMT", datetime(2021, 5, 26, 1, 32, 46, tzinfo=UTC)),
        ("Wed, 26 May 2021 09:32:46 +0800", datetime(2021, 5, 26, 1, 32, 46, tzinfo=UTC)),
        ("1622000000", datetime(2021, 5, 26, 3, 33, 20, tzinfo=UTC)),
        ("1622000000000", datetime(2021, 5, 26, 3, 33, 20, tzinfo=UTC)),
        ("20210526", shanghai(2021, 5, 26)),
    ],
)
def test_forms_list_pages_use(text: str, expected: datetime) -> None:
    assert parse_item_date(text, NOW, SHANGHAI) == expected


@pytest.mark.parametrize(
    ("value", "moves"),
    [
        ("刚刚", True),
        ("5分钟前", True),
        ("半小时前", True),
        (" 3 小时前 ", True),
        ("2 Hours ago", True),
        ("just now", True),
        ("昨天 10:20", False),  # a day and a clock time: the same instant on the next read
        ("yesterday", False),
        ("05月26日", False),
        ("2021-05-26T01:32:46Z", False),
        (1622000000, False),
        (None, False),
    ],
)
def test_ages_are_told_from_dates(value: object, moves: bool) -> None:
    assert moves_with_now(value) is moves
    if moves:  # read later, an age gives another instant
        later = NOW + timedelta(minutes=7)
        assert parse_item_date(value, later) != parse_item_date(value, NOW)


def test_epoch_numbers_in_seconds_and_milliseconds() -> None:
    expected = datetime(2021, 5, 26, 3, 33, 20, tzinfo=UTC)
    assert parse_item_date(1622000000, NOW) == expected
    assert parse_item_date(1622000000000, NOW) == expected
    assert parse_item_date(1622000000.0, NOW) == expected


@pytest.mark.parametrize(
    ("zone", "expected"),
    [(UTC, datetime(2024, 1, 1, 10, 20, tzinfo=UTC)), (SHANGHAI, shanghai(2024, 1, 1, 10, 20))],
)
def test_relative_days_resolve_in_the_feeds_zone(zone: tzinfo, expected: datetime) -> None:
    assert parse_item_date("昨天 10:20", NOW, zone) == expected


def test_yesterday_is_the_zones_yesterday() -> None:
    # 23:30 UTC on Jan 1 is already Jan 2 in Shanghai: "昨天" there is Jan 1.
    late = datetime(2024, 1, 1, 23, 30, tzinfo=UTC)
    assert parse_item_date("昨天 08:00", late, SHANGHAI) == shanghai(2024, 1, 1, 8, 0)
    assert parse_item_date("昨天 08:00", late, UTC) == datetime(2023, 12, 31, 8, 0, tzinfo=UTC)


def test_date_format_first_then_the_usual_forms() -> None:
    assert parse_item_date("26/05/2021", NOW, UTC, "%d/%m/%Y") == datetime(2021, 5, 26, tzinfo=UTC)
    assert parse_item_date("3小时前", NOW, UTC, "%d/%m/%Y") == NOW - timedelta(hours=3)
    assert parse_item_date("2021-05-26T09:00:00+08:00", NOW, UTC, "%m月%d日") == datetime(
        2021, 5, 26, 1, tzinfo=UTC
    )


def test_date_format_without_a_year_takes_the_latest_past_year() -> None:
    assert parse_item_date("05月26日", NOW, SHANGHAI, "%m月%d日") == shanghai(2023, 5, 26)
    assert parse_item_date("01月02日", NOW, SHANGHAI, "%m月%d日") == shanghai(2024, 1, 2)
    # A day of slack for clock skew and zone doubt; beyond it, last year.
    assert parse_item_date("01月03日", NOW, SHANGHAI, "%m月%d日") == shanghai(2024, 1, 3)
    assert parse_item_date("01月04日", NOW, SHANGHAI, "%m月%d日") == shanghai(2023, 1, 4)


def test_february_29th_waits_for_a_leap_year() -> None:
    assert parse_item_date("02月29日", NOW, SHANGHAI, "%m月%d日") == shanghai(2020, 2, 29)
    assert parse_item_date("02-29", NOW, SHANGHAI) == shanghai(2020, 2, 29)
    march = datetime(2024, 3, 10, tzinfo=UTC)
    assert parse_item_date("02-29", march, SHANGHAI) == shanghai(2024, 2, 29)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "garbage",
        "soon",
        "13-45",
        "2021-02-30",
        "2021年13月1日",
        "99999999999999999999",
        "9" * 400,
        True,
        float("nan"),
        float("inf"),
        1e300,
        -5,
        [],
        {"date": "2021-05-26"},
    ],
)
def test_garbage_is_none(value: object) -> None:
    assert parse_item_date(value, NOW, SHANGHAI) is None


@given(st.one_of(st.text(max_size=60), st.integers(), st.floats()), st.text(max_size=12))
def test_never_raises(value: object, date_format: str) -> None:
    result = parse_item_date(value, NOW, SHANGHAI, date_format or None)
    assert result is None or result.tzinfo is UTC


@given(
    st.text(alphabet="0123456789-/:年月日天前小时分钟秒刚昨今 Tago", max_size=25),
    st.sampled_from([None, "%m月%d日", "%Y-%m-%d %H:%M", "%m-%d"]),
)
def test_never_raises_on_date_like_text(text: str, date_format: str | None) -> None:
    result = parse_item_date(text, NOW, SHANGHAI, date_format)
    assert result is None or result.tzinfo is UTC
