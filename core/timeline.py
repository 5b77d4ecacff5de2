"""Where today falls among a fact's dates: what has closed, what is next, whether the cycle is over.

Pure functions of a fact and a day (``core/clock.py`` gives the day), used by the answers
(actions/answers.py) and by the staff's stale-facts list. A deadline day is open until its end
in the office's time zone, so a deadline is "closed" only from the next day on.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import List, Optional

from core.knowledge import Dated, Fact, Knowledge


@dataclass(frozen=True)
class Deadlines:
    """A fact's deadlines as of one day."""

    closed: List[Dated]
    upcoming: List[Dated]
    cycle_over: bool  # every date of the cycle has passed and so has its end: only the last known facts

    @property
    def next(self) -> Optional[Dated]:
        return self.upcoming[0] if self.upcoming else None


def is_past(item: Dated, today: datetime.date) -> bool:
    """Past from the day after it (a month-precision date: from the month after it)."""
    if item.precision == "month":
        return (item.date.year, item.date.month) < (today.year, today.month)
    return item.date < today


def days_until(item: Dated, today: datetime.date) -> int:
    return (item.date - today).days


def cycle_over(fact: Fact, today: datetime.date) -> bool:
    end = fact.cycle_end()
    return end is not None and end < today


def deadlines(fact: Fact, today: datetime.date) -> Deadlines:
    items = fact.deadlines()
    return Deadlines(
        closed=[d for d in items if is_past(d, today)],
        upcoming=[d for d in items if not is_past(d, today)],
        cycle_over=cycle_over(fact, today),
    )


def events(fact: Fact, today: datetime.date) -> List[Dated]:
    """The fact's events that have not happened yet, soonest first (a past event is never upcoming)."""
    return sorted((d for d in fact.dates if d.kind == "event" and not is_past(d, today)), key=lambda d: d.date)


def past_events(fact: Fact, today: datetime.date) -> List[Dated]:
    return sorted((d for d in fact.dates if d.kind == "event" and is_past(d, today)), key=lambda d: d.date)


@dataclass(frozen=True)
class StaleFact:
    """A fact staff should check again, and why."""

    where: str
    topic: str
    cycle: Optional[str]
    as_of: Optional[datetime.date]
    source: str
    reasons: List[str]


def stale_facts(knowledge: Knowledge, today: datetime.date, max_age_days: int) -> List[StaleFact]:
    """Every fact whose cycle has ended or whose as-of date is older than ``max_age_days``."""
    found: List[StaleFact] = []
    for where, topic_id, fact in knowledge.facts():
        reasons: List[str] = []
        end = fact.cycle_end()
        if end is not None and end < today:
            reasons.append(f"its cycle ({fact.cycle}) ended on {end.isoformat()}")
        if fact.as_of is not None and (today - fact.as_of).days > max_age_days:
            reasons.append(f"checked {(today - fact.as_of).days} days ago (more than {max_age_days})")
        if reasons:
            found.append(StaleFact(where, topic_id, fact.cycle, fact.as_of, str(fact.source), reasons))
    return found
