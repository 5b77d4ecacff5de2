"""Trends over a period: per-day counts, topics, programs, answer types, containment and feedback."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo
from typing import Any, Dict, List, Optional, Sequence, Tuple

import sqlalchemy as sa

from console.data.database import ConsoleDatabase, answers, conversations, floor_int, messages
from console.data.dates import day_from_number, day_range, offset_periods
from console.data.queries import contained, count_where, missed, share, split_list
from core.topics import ANSWER_TYPE_LABELS, HELPFUL, NOT_HELPFUL, answer_type, intent_for

NO_TOPIC = ""  # answers no topic slot was set with (misses, hand-offs)

c, m, a = conversations.c, messages.c, answers.c


@dataclass
class Trends:
    days: List[date]
    conversations: List[int]
    messages: List[int]
    missed: List[int]
    topics: List[Tuple[str, int]]
    programs: Dict[str, List[int]]

    answers: "AnswerMix" = field(default_factory=lambda: AnswerMix([]))

    @property
    def missed_share(self) -> List[Optional[float]]:
        return [missed / total if total else None for missed, total in zip(self.missed, self.messages)]


@dataclass
class Tally:
    """One row of the answer analytics (a day, a topic or the whole period)."""

    types: Dict[str, int] = field(default_factory=lambda: {kind: 0 for kind in ANSWER_TYPE_LABELS})
    conversations: int = 0  # conversations in which the visitor wrote (per topic: answered on it)
    contained: int = 0  # ... of which none was handed to a person or ended in a follow-up request
    helpful: int = 0
    not_helpful: int = 0

    @property
    def replies(self) -> int:
        return sum(self.types.values())

    @property
    def containment(self) -> Optional[float]:
        return share(self.contained, self.conversations)

    @property
    def helpful_share(self) -> Optional[float]:
        return share(self.helpful, self.helpful + self.not_helpful)


@dataclass
class AnswerMix:
    """Answer types, containment and feedback per day, per topic and over the period.

    Answer types come from each bot reply's response (``core.topics.ANSWER_TYPES``); a
    conversation is *contained* when it was neither handed to a person (a live hand-off the visitor
    accepted) nor ended in a follow-up request. Suggesting the contact does not end containment.
    """

    days: List[Tally]
    topics: Dict[str, Tally] = field(default_factory=dict)
    total: Tally = field(default_factory=Tally)


class TrendQueries:
    """Trend queries for one database, one miss threshold and one time zone."""

    def __init__(self, store: ConsoleDatabase, threshold: float, tz: tzinfo) -> None:
        self.store = store
        self.threshold = threshold
        self.tz = tz

    def _local_day(self, column: Any, start: float, end: float) -> Any:
        """The local day number of ``column``, exact across daylight-saving changes: each timestamp
        is shifted by the UTC offset in force at that moment (a CASE over the periods), then cut."""
        periods = offset_periods(start, end, self.tz)
        shift: Any = sa.literal(periods[0][1])
        if len(periods) > 1:
            whens = [(column < until, offset) for (_, offset), (until, _) in zip(periods, periods[1:])]
            shift = sa.case(*whens, else_=periods[-1][1])
        return floor_int((column + shift) / 86400, self.store.dialect)

    def _per_day(self, inner: Any, *columns: Any) -> List[Dict[str, Any]]:
        """Count the rows of ``inner`` (which has a ``d`` day column) per day and ``columns``."""
        days = inner.subquery()
        keys = [days.c.d, *(days.c[name] for name in columns)]
        extra = [count_where(days.c.missed).label("missed")] if "missed" in days.c else []
        query = sa.select(*keys, sa.func.count().label("n"), *extra).group_by(*keys)
        return self.store.rows(query)

    def trends(self, since: date, until: date, program_ids: Sequence[str] = ()) -> Trends:
        """Per-day counts between two local days (inclusive); programs: every id in ``program_ids``
        plus any other program the conversations name."""
        start, end = day_range(since, until, self.tz)
        assert start is not None and end is not None
        days = [since + timedelta(days=offset) for offset in range((until - since).days + 1)]
        index = {day: position for position, day in enumerate(days)}
        started = sa.and_(c.started_at >= start, c.started_at < end)
        written = sa.and_(m.timestamp >= start, m.timestamp < end)
        conversation_day = self._local_day(c.started_at, start, end).label("d")
        conversation_counts = [0] * len(days)
        for row in self._per_day(sa.select(conversation_day).where(started, c.visitor_messages > 0)):
            self._add(conversation_counts, index, row["d"], row["n"])
        message_day = self._local_day(m.timestamp, start, end).label("d")
        message_counts, missed_counts = [0] * len(days), [0] * len(days)
        inner = sa.select(message_day, missed(self.threshold).label("missed")).where(written)
        for row in self._per_day(inner):
            self._add(message_counts, index, row["d"], row["n"])
            self._add(missed_counts, index, row["d"], row["missed"] or 0)
        n = sa.func.count().label("n")
        # Topics asked of the assistant (each question's: its answer's, else its intent's): not messages
        # to a person, nor questions it said it does not cover. Named by their intent, as staff filter on.
        asked = sa.and_(written, m.to_person == sa.false(), m.out_of_scope == sa.false(), m.topic.is_not(None))
        topic_query = sa.select(m.topic, n).where(asked).group_by(m.topic).order_by(n.desc(), m.topic)
        topics = [(intent_for(row["topic"]), int(row["n"])) for row in self.store.rows(topic_query)]
        programs: Dict[str, List[int]] = {program: [0] * len(days) for program in program_ids}
        inner = sa.select(conversation_day, c.programs).where(started, c.programs != ",")
        for row in self._per_day(inner, "programs"):
            for program in split_list(row["programs"]):
                self._add(programs.setdefault(program, [0] * len(days)), index, row["d"], row["n"])
        mix = self._answer_mix(start, end, index)
        return Trends(days, conversation_counts, message_counts, missed_counts, topics[:10], programs, mix)

    def _answer_mix(self, start: float, end: float, index: Dict[date, int]) -> AnswerMix:
        """Answer types and feedback by the reply's day, containment by the conversation's first day;
        per topic, a conversation counts under every topic it was answered on."""
        mix = AnswerMix([Tally() for _ in index])
        written = sa.and_(a.timestamp >= start, a.timestamp < end)
        day = self._local_day(a.timestamp, start, end).label("d")
        n = sa.func.count().label("n")
        rows = self.store.rows(
            sa.select(day, a.response, a.topic, a.feedback, n)
            .where(written)
            .group_by(day, a.response, a.topic, a.feedback)
        )
        for row in rows:
            kind = answer_type(row["response"])
            if kind is None:
                continue
            count = int(row["n"] or 0)
            tallies = [mix.total, mix.topics.setdefault(row["topic"] or NO_TOPIC, Tally())]
            position = index.get(day_from_number(row["d"]))
            if position is not None:
                tallies.append(mix.days[position])
            for tally in tallies:
                tally.types[kind] += count
                tally.helpful += count if row["feedback"] == HELPFUL else 0
                tally.not_helpful += count if row["feedback"] == NOT_HELPFUL else 0
        self._containment(mix, written, start, end, index)
        return mix

    def _containment(self, mix: AnswerMix, written: Any, start: float, end: float, index: Dict[date, int]) -> None:
        """Conversations (with a visitor message) by the day they started, and those contained
        (:func:`contained`); per topic, the conversations answered on it."""
        started = sa.and_(c.started_at >= start, c.started_at < end, c.visitor_messages > 0)
        day = self._local_day(c.started_at, start, end).label("d")
        inner = sa.select(day, contained().label("contained")).where(started).subquery()
        per_day = sa.select(
            inner.c.d, sa.func.count().label("n"), count_where(inner.c.contained).label("contained")
        ).group_by(inner.c.d)
        for row in self.store.rows(per_day):
            tallies = [mix.total]
            position = index.get(day_from_number(row["d"]))
            if position is not None:
                tallies.append(mix.days[position])
            for tally in tallies:
                tally.conversations += int(row["n"] or 0)
                tally.contained += int(row["contained"] or 0)
        per_topic = (
            sa.select(
                a.topic,
                sa.func.count(sa.distinct(a.sender_id)).label("n"),
                sa.func.count(sa.distinct(sa.case((contained(), a.sender_id)))).label("contained"),
            )
            .select_from(answers.join(conversations, c.sender_id == a.sender_id))
            .where(written)
            .group_by(a.topic)
        )
        for row in self.store.rows(per_topic):
            tally = mix.topics.setdefault(row["topic"] or NO_TOPIC, Tally())
            tally.conversations += int(row["n"] or 0)
            tally.contained += int(row["contained"] or 0)

    @staticmethod
    def _add(series: List[int], index: Dict[date, int], day_number: Any, count: Any) -> None:
        day = day_from_number(day_number)
        if day in index:
            series[index[day]] += int(count or 0)

    def totals(self) -> Dict[str, Any]:
        """Headline numbers for the CLI ``stats`` command and the JSON API."""
        summary = sa.select(
            sa.func.count().label("n"),
            sa.func.min(c.started_at).label("first"),
            sa.func.max(c.last_activity).label("last"),
        ).where(c.visitor_messages > 0)
        conversation_totals = self.store.rows(summary)[0]
        message_totals = self.store.rows(
            sa.select(sa.func.count().label("n"), count_where(missed(self.threshold)).label("missed"))
        )[0]
        return {
            "conversations": int(conversation_totals["n"] or 0),
            "first_activity": conversation_totals["first"],
            "last_activity": conversation_totals["last"],
            "visitor_messages": int(message_totals["n"] or 0),
            "missed_messages": int(message_totals["missed"] or 0),
        }
