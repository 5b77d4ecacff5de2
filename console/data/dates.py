"""Dates as staff think of them (local days) versus timestamps as Rasa stores them (epoch floats).

Filters take whole days in the office's time zone ("from 1 March to 7 March" includes all of
7 March); charts count per local day. Rasa's timestamps are UTC epoch seconds.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import List, Optional, Tuple

EPOCH_DAY = date(1970, 1, 1)


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


def utc_offset(timestamp: float, tz: tzinfo) -> int:
    offset = datetime.fromtimestamp(timestamp, tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def offset_periods(start: float, end: float, tz: tzinfo) -> List[Tuple[float, int]]:
    """``[(from, utc offset in seconds)]`` covering ``[start, end)``: one entry per DST period.

    Lets SQL count per local day exactly: shift each timestamp by the offset in force at that
    moment, then divide by 86,400.
    """
    periods = [(start, utc_offset(start, tz))]
    moment = start
    while moment < end:
        following = min(moment + 86400, end)
        if utc_offset(following, tz) != periods[-1][1]:
            low, high = moment, following  # the change happens in (low, high]
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if utc_offset(middle, tz) == periods[-1][1] else (low, middle)
            periods.append((float(high), utc_offset(high, tz)))
        moment = following
    return periods


def day_from_number(number: int) -> date:
    """Local day number (days since 1970-01-01 in local time) back to a date."""
    return EPOCH_DAY + timedelta(days=int(number))
