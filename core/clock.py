"""Today's date as the admissions office sees it: one clock for every date-relative answer.

Deadlines close at the end of their day in the office's time zone (Eastern), so "today" is the
office's calendar day, not the server's. ``ASSISTANT_TODAY=YYYY-MM-DD`` lets an operator preview
the assistant on another day; it is never set by default. Tests pass a ``Clock`` of their own.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Callable, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.settings import Settings, load_settings

logger = logging.getLogger(__name__)


class ClockError(ValueError):
    """ASSISTANT_TODAY or OFFICE_TIMEZONE is not usable; the message says which and why."""


@dataclass(frozen=True)
class Clock:
    """``today()`` in ``timezone``, or the fixed ``preview`` day when one is set."""

    timezone: datetime.tzinfo
    preview: Optional[datetime.date] = None
    now: Callable[[datetime.tzinfo], datetime.datetime] = datetime.datetime.now

    def today(self) -> datetime.date:
        return self.preview or self.now(self.timezone).date()


def parse_day(text: str, name: str = "ASSISTANT_TODAY") -> datetime.date:
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise ClockError(f"{name} must be a date like 2027-01-11, not {text!r}") from None


def office_clock(settings: Optional[Settings] = None) -> Clock:
    """The clock from the settings: the office's time zone, and the preview day if one is set."""
    settings = settings or load_settings()
    try:
        zone = ZoneInfo(settings.office_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ClockError(f"OFFICE_TIMEZONE {settings.office_timezone!r} is not a time zone name") from None
    preview = parse_day(settings.assistant_today) if settings.assistant_today else None
    if preview:
        logger.warning("ASSISTANT_TODAY is set: answering as if today were %s", preview.isoformat())
    return Clock(zone, preview)
