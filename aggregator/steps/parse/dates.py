"""Pure date helpers shared by the parsers."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime


def from_struct_time(value: time.struct_time | None) -> datetime | None:
    """feedparser's *_parsed values are UTC struct_times."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def from_rfc3339(value: object) -> datetime | None:
    """JSON Feed dates: RFC 3339; a date without zone is taken as UTC. Junk gives None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
