"""Dates as staff think of them (local days) versus timestamps as Rasa stores them (epoch floats).

Filters take whole days in the office's time zone ("from 1 March to 7 March" includes all of
7 March); charts count per local day. Rasa's timestamps are UTC epoch seconds.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Optional, Tuple


def parse_date(value: Optional[str]) -> Optional[date]:
    """``2025-03-01`` -> date; anything unparsable is treated as "no limit" rather than an error."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def day_start(day: date, tz: tzinfo) -> float:
    return datetime.combine(day, time.min, tzinfo=tz).timestamp()


def day_range(since: Optional[date], until: Optional[date], tz: tzinfo) -> Tuple[Optional[float], Optional[float]]:
    """Epoch bounds ``[start of since, start of the day after until)``; ``None`` means open."""
    start = day_start(since, tz) if since else None
    end = day_start(until + timedelta(days=1), tz) if until else None
    return start, end


def local_day(timestamp: float, tz: tzinfo) -> date:
    return datetime.fromtimestamp(timestamp, tz).date()


def today(tz: tzinfo) -> date:
    return datetime.now(tz).date()


def format_time(timestamp: Optional[float], tz: tzinfo, seconds: bool = False) -> str:
    if timestamp is None:
        return ""
    moment = datetime.fromtimestamp(timestamp, tz)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def iso_time(timestamp: Optional[float], tz: tzinfo) -> str:
    """Full ISO 8601 with offset, for exports that other tools parse."""
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, tz).isoformat(timespec="seconds")
