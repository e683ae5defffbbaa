"""Pure: the date a list page or an API shows for an item -> an aware UTC datetime, or None.

Pages write dates the way people read them: `3小时前`, `昨天 10:20`, `05月26日`, `2 hours
ago`. Relative forms resolve against ``now`` in the feed's time zone; a date without a year
takes the latest year that does not put it in the future. Garbage gives None, never an error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime

# A date "in the future" by less than this is clock skew or a time zone doubt, not last year.
_SKEW = timedelta(days=1)
_MAX_TEXT = 100  # characters: longer is not a date
_UNITS = {
    "秒": 1,
    "秒钟": 1,
    "分": 60,
    "分钟": 60,
    "小时": 3600,
    "个小时": 3600,
    "天": 86400,
    "日": 86400,
    "周": 604800,
    "星期": 604800,
    "个星期": 604800,
    "个月": 2592000,
    "月": 2592000,
    "年": 31536000,
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
    "w": 604800,
    "week": 604800,
    "month": 2592000,
    "y": 31536000,
    "year": 31536000,
}
_CHINESE_NUMBERS = dict(
    zip("一二两三四五六七八九十半", (1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0.5), strict=True)
)
_AGO_CJK = re.compile(
    r"(\d{1,4}|[一二两三四五六七八九十半])\s*(秒钟?|分钟?|个?小时|天|日|个?星期|周|个?月|年)\s*(?:之?前)"
)
_AGO_EN = re.compile(
    r"(\d{1,4}|an?)\s*(s|sec|second|m|min|minute|h|hr|hour|d|day|w|week|month|y|year)s?\.?\s+ago"
)
_NOW = re.compile(r"刚刚|刚才|just now|now|moments? ago|a moment ago|few seconds ago")
_DAY_WORD = {"今天": 0, "today": 0, "昨天": 1, "yesterday": 1, "前天": 2}
_DAY = re.compile(
    r"(今天|昨天|前天|today|yesterday)\s*(?:at\s*|,\s*)?(?:(\d{1,2})[:：](\d{2})(?::(\d{2}))?)?"
)
_YMD = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?"
)
_MD = re.compile(
    r"(\d{1,2})\s*[-月]\s*(\d{1,2})\s*日?(?:\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?"
)
_EPOCH = re.compile(r"-?\d{9,13}(?:\.\d+)?")
_COMPACT = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
_YEAR_DIRECTIVES = ("%Y", "%y", "%G", "%c", "%x", "%s")


def parse_item_date(
    value: object, now: datetime, tz: tzinfo = UTC, date_format: str | None = None
) -> datetime | None:
    """``value`` (text, or a number of epoch seconds / milliseconds) as a UTC datetime. Dates
    without an offset are read in ``tz``. ``now`` must be aware."""
    try:
        result = _parse(value, now, tz, date_format)
        return result.astimezone(UTC) if result is not None else None
    except (ValueError, OverflowError, OSError, ArithmeticError):
        return None


def _parse(value: object, now: datetime, tz: tzinfo, date_format: str | None) -> datetime | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return _from_epoch(value)
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if not text or len(text) > _MAX_TEXT:
        return None
    if date_format and (found := _with_format(text, date_format, now, tz)):
        return found
    return (
        _iso(text, tz)
        or _numeric(text, tz)
        or _relative(text.lower(), now, tz)
        or _calendar(text, now, tz)
        or _rfc822(text, tz)
    )


def moves_with_now(value: object) -> bool:
    """The date is an age counted from the reading (`5分钟前`, `刚刚`, `2 hours ago`): read
    again later it gives another instant, so it is an estimate, not the item's own date."""
    if not isinstance(value, str):
        return False
    text = " ".join(value.split()).lower()
    return bool(_NOW.fullmatch(text) or _AGO_CJK.fullmatch(text) or _AGO_EN.fullmatch(text))


def _from_epoch(number: float) -> datetime | None:
    if number != number or number <= 0:  # NaN, or before 1970: no page means that
        return None
    seconds = number / 1000 if number >= 1e11 else number  # 1e11 s is the year 5138
    return datetime.fromtimestamp(seconds, tz=UTC)


def _with_format(text: str, fmt: str, now: datetime, tz: tzinfo) -> datetime | None:
    if any(d in fmt for d in _YEAR_DIRECTIVES):
        try:
            return _aware(datetime.strptime(text, fmt), tz)
        except ValueError:
            return None
    # Read it in a leap year (2000), so that 02-29 parses, then find its real year.
    try:
        parsed = datetime.strptime(f"2000 {text}", f"%Y {fmt}")
    except ValueError:
        return None
    return _latest_year(parsed, now, tz)


def _iso(text: str, tz: tzinfo) -> datetime | None:
    if not text[:4].isdigit() or len(text) < 10 or text[4] != "-":
        return None
    try:
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")), tz)
    except ValueError:
        return None


def _numeric(text: str, tz: tzinfo) -> datetime | None:
    if not text.isascii() or not text.lstrip("-").replace(".", "", 1).isdigit():
        return None
    if (fmt := _COMPACT.get(len(text))) and text.startswith(("19", "20")):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            pass
    if _EPOCH.fullmatch(text):
        return _from_epoch(float(text))
    return None


def _relative(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    if _NOW.fullmatch(text):
        return now
    if (match := _AGO_CJK.fullmatch(text)) or (match := _AGO_EN.fullmatch(text)):
        amount, unit = match.groups()
        count = _CHINESE_NUMBERS.get(amount) or (1 if amount in ("a", "an") else float(amount))
        return now - timedelta(seconds=count * _UNITS[unit])
    if match := _DAY.fullmatch(text):
        word, hour, minute, second = match.groups()
        day = now.astimezone(tz).date() - timedelta(days=_DAY_WORD[word])
        clock = (int(hour), int(minute), int(second or 0)) if hour else (0, 0, 0)
        return datetime(day.year, day.month, day.day, *clock, tzinfo=tz)
    return None


def _calendar(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    """`2021年5月26日 10:20`, `2021/05/26`, and without a year `05-26 10:20`, `5月26日`."""
    if match := _YMD.fullmatch(text):
        year, month, day, hour, minute, second = (int(n) if n else 0 for n in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    if match := _MD.fullmatch(text):
        month, day, hour, minute, second = (int(n) if n else 0 for n in match.groups())
        return _latest_year(datetime(2000, month, day, hour, minute, second), now, tz)
    return None


def _rfc822(text: str, tz: tzinfo) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return _aware(parsed, tz)


def _aware(parsed: datetime, tz: tzinfo) -> datetime:
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def _latest_year(parsed: datetime, now: datetime, tz: tzinfo) -> datetime | None:
    """The yearless date ``parsed`` (read in year 2000) in the latest year that does not put
    it in the future: `12月31日` read on January 2nd is last year's."""
    local = parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed
    year = now.astimezone(tz).year
    for candidate in range(year, year - 9, -1):  # 02-29 waits for a leap year
        try:
            dated = local.replace(year=candidate)
        except ValueError:
            continue
        if dated <= now + _SKEW:
            return dated
    return None
