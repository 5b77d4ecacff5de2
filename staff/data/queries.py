"""Read-only queries behind the console's pages, over the summary tables kept by :mod:`staff.data.sync`.

Every value typed by staff reaches SQL as a bound parameter; the SQL text itself is assembled only
from fixed fragments in this module.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from datetime import date, timedelta, tzinfo
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa

from core.topics import (
    ANSWER_TYPE_LABELS,
    FALLBACK_INTENT,
    HELPFUL,
    MISS_INTENTS,
    NOT_HELPFUL,
    OUT_OF_SCOPE_INTENT,
    answer_type,
)
from staff.data.database import (
    ConsoleDatabase,
    answers,
    conversation_reviews,
    conversations,
    floor_int,
    message_reviews,
    messages,
)
from staff.data.dates import day_from_number, day_range, offset_periods, parse_date
from staff.data.privacy import clean_text, display_id
from staff.data.vocabulary import is_topic

CONVERSATION_STATUSES = {"new": "New", "reviewed": "Reviewed", "follow_up": "Needs follow-up"}
MESSAGE_STATUSES = {"open": "Open", "reviewed": "Reviewed", "dismissed": "Dismissed", "assigned": "Topic assigned"}
MISS_REASONS = {
    "fallback": "Fallback",
    "out_of_scope": "Out of scope",
    "low_confidence": "Low confidence",
    "not_helpful": "Marked not helpful",
}
NO_TOPIC = ""  # answers no topic slot was set with (misses, hand-offs)
SAMPLES_PER_GROUP = 5
SIMILARITY = 0.9

c, m, a = conversations.c, messages.c, answers.c


def missed(threshold: float) -> Any:
    """A visitor message the assistant missed: no intent, a miss intent, low confidence, or an answer
    the visitor marked "not helpful". Messages written to a person during a live hand-off (or
    answering the follow-up form) were not questions for the assistant and are never missed."""
    return sa.and_(
        m.to_person == sa.false(),
        sa.or_(
            m.intent.is_(None), m.intent.in_(list(MISS_INTENTS)), m.confidence < threshold, m.feedback == NOT_HELPFUL
        ),
    )


def contained() -> Any:
    """A conversation that ended without a person: no live hand-off accepted, no follow-up taken."""
    return sa.and_(c.live_chats == 0, c.followups == 0)


def _reason(reason: str, threshold: float) -> Any:
    return {
        "fallback": sa.or_(m.intent == FALLBACK_INTENT, m.intent.is_(None)),
        "out_of_scope": m.intent == OUT_OF_SCOPE_INTENT,
        "low_confidence": sa.and_(m.intent.not_in(list(MISS_INTENTS)), m.confidence < threshold),
        "not_helpful": m.feedback == NOT_HELPFUL,
    }[reason]


def _count_where(condition: Any) -> Any:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _user_text(value: Optional[str], limit: int) -> str:
    """A value typed by staff, sanitised like stored text (PostgreSQL refuses NUL even as a parameter)."""
    return clean_text((value or "").strip(), limit)


def like_pattern(text: str) -> str:
    """``%text%`` for ``LIKE ... ESCAPE '!'`` with the wildcards in ``text`` taken literally."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def _clean(value: Optional[str], allowed: Sequence[str]) -> str:
    return value if value is not None and value in allowed else ""


@dataclass(frozen=True)
class ConversationFilter:
    """What staff can narrow the conversation list to (all optional)."""

    since: Optional[date] = None
    until: Optional[date] = None
    program: str = ""
    topic: str = ""
    missed: bool = False
    status: str = ""
    search: str = ""
    include_empty: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "ConversationFilter":
        """Built from query-string values; unknown or malformed values are ignored, not errors."""
        return cls(
            since=parse_date(args.get("since")),
            until=parse_date(args.get("until")),
            program=_user_text(args.get("program"), 40).lower(),
            topic=_user_text(args.get("topic"), 255),
            missed=args.get("missed") in {"1", "on", "true", "yes"},
            status=_clean(args.get("status"), list(CONVERSATION_STATUSES)),
            search=_user_text(args.get("q"), 200),
            include_empty=args.get("empty") in {"1", "on", "true", "yes"},
        )

    def to_args(self) -> Dict[str, str]:
        args = {
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "program": self.program,
            "topic": self.topic,
            "missed": "1" if self.missed else "",
            "status": self.status,
            "q": self.search,
            "empty": "1" if self.include_empty else "",
        }
        return {key: value for key, value in args.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.to_args())


@dataclass(frozen=True)
class MissedFilter:
    status: str = "open"
    since: Optional[date] = None
    until: Optional[date] = None
    reason: str = ""
    search: str = ""
    sort: str = "count"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "MissedFilter":
        status = args.get("status") or "open"
        return cls(
            status=status if status in MESSAGE_STATUSES or status == "all" else "open",
            since=parse_date(args.get("since")),
            until=parse_date(args.get("until")),
            reason=_clean(args.get("reason"), list(MISS_REASONS)),
            search=_user_text(args.get("q"), 200),
            sort="recent" if args.get("sort") == "recent" else "count",
        )

    def to_args(self) -> Dict[str, str]:
        args = {
            "status": self.status,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "reason": self.reason,
            "q": self.search,
            "sort": "recent" if self.sort == "recent" else "",
        }
        return {key: value for key, value in args.items() if value}


@dataclass(frozen=True)
class Cursor:
    """Position in the newest-first list: the last row's activity time and reference (never the id,
    which may be an e-mail address, so it stays out of URLs)."""

    last_activity: float
    ref: str

    def encode(self) -> str:
        return f"{self.last_activity!r}:{self.ref}"

    @classmethod
    def decode(cls, raw: Optional[str]) -> Optional["Cursor"]:
        if not raw or ":" not in raw:
            return None
        stamp, _, ref = clean_text(raw, 100).partition(":")
        try:
            return cls(float(stamp), ref)
        except ValueError:
            return None


@dataclass
class ConversationPage:
    rows: List[Dict[str, Any]]
    newer: Optional[Cursor]
    older: Optional[Cursor]


@dataclass
class MissedGroup:
    """Visitor messages with the same (or nearly the same) text that the assistant missed."""

    keys: List[str]
    text: str
    count: int
    conversations: int
    last_seen: float
    statuses: Dict[str, int]
    assigned_intent: Optional[str]
    samples: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The group's state when all its messages agree, otherwise ``mixed``."""
        present = [status for status, count in self.statuses.items() if count]
        return present[0] if len(present) == 1 else "mixed"


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


def _share(part: int, whole: int) -> Optional[float]:
    return part / whole if whole else None


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
        return _share(self.contained, self.conversations)

    @property
    def helpful_share(self) -> Optional[float]:
        return _share(self.helpful, self.helpful + self.not_helpful)


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


def split_list(value: Optional[str]) -> List[str]:
    return [item for item in (value or "").split(",") if item]


def summary_record(row: Mapping[str, Any]) -> Dict[str, Any]:
    """A listed conversation (a row of :meth:`ConsoleQueries.conversations`) for the JSON API and the CLI."""
    return {
        "id": display_id(row["sender_id"]),
        "ref": row["ref"],
        "started_at": row["started_at"],
        "last_activity": row["last_activity"],
        "visitor_messages": row["visitor_messages"],
        "missed_messages": row["missed_messages"],
        "programs": row["programs_list"],
        "topics": row["topics_list"],
        "review_status": row.get("review_status") or "new",
        "first_message": row.get("first_message"),
    }


class ConsoleQueries:
    """Queries for one database, one miss threshold and one time zone."""

    def __init__(self, store: ConsoleDatabase, threshold: float, tz: tzinfo) -> None:
        self.store = store
        self.threshold = threshold
        self.tz = tz

    # -- conversations --------------------------------------------------------------------------
    def _listing(self, *columns: Any) -> Any:
        """``SELECT columns FROM staff_conversations LEFT JOIN staff_conversation_reviews``."""
        joined = conversations.outerjoin(conversation_reviews, conversation_reviews.c.sender_id == c.sender_id)
        return sa.select(*columns).select_from(joined)

    def _conversation_where(self, flt: ConversationFilter) -> List[Any]:
        where: List[Any] = []
        since, until = day_range(flt.since, flt.until, self.tz)
        if not flt.include_empty:
            where.append(c.visitor_messages > 0)
        if since is not None:
            where.append(c.last_activity >= since)
        if until is not None:
            where.append(c.started_at < until)
        if flt.program:
            where.append(c.programs.like(like_pattern(f",{flt.program},"), escape="!"))
        if flt.topic:
            where.append(c.intents.like(like_pattern(f",{flt.topic},"), escape="!"))
        if flt.missed:
            where.append(sa.or_(c.hard_misses > 0, c.not_helpful > 0, c.min_confidence < self.threshold))
        if flt.status == "new":
            where.append(conversation_reviews.c.status.is_(None))
        elif flt.status:
            where.append(conversation_reviews.c.status == flt.status)
        if flt.search:
            # Matching messages, plus the conversation whose id or reference was pasted into the box.
            matching = sa.select(m.sender_id).where(m.text.ilike(like_pattern(flt.search), escape="!"))
            where.append(sa.or_(c.sender_id.in_(matching), c.sender_id == flt.search, c.ref == flt.search))
        return where

    def conversations(
        self,
        flt: ConversationFilter,
        before: Optional[Cursor] = None,
        after: Optional[Cursor] = None,
        limit: int = 50,
    ) -> ConversationPage:
        """One page, newest activity first; ``before``/``after`` continue from a page edge."""
        where = self._conversation_where(flt)
        newest_first = True
        if before:
            where.append(
                sa.or_(
                    c.last_activity < before.last_activity,
                    sa.and_(c.last_activity == before.last_activity, c.ref < before.ref),
                )
            )
        elif after:
            where.append(
                sa.or_(
                    c.last_activity > after.last_activity,
                    sa.and_(c.last_activity == after.last_activity, c.ref > after.ref),
                )
            )
            newest_first = False
        order = [c.last_activity.desc(), c.ref.desc()] if newest_first else [c.last_activity.asc(), c.ref.asc()]
        query = (
            self._listing(conversations, conversation_reviews.c.status.label("review_status"))
            .where(*where)
            .order_by(*order)
            .limit(limit + 1)
        )
        rows = self.store.rows(query)
        more = len(rows) > limit
        rows = rows[:limit]
        if after:
            rows.reverse()
        self._add_missed_counts(rows)
        first = Cursor(rows[0]["last_activity"], rows[0]["ref"]) if rows else None
        last = Cursor(rows[-1]["last_activity"], rows[-1]["ref"]) if rows else None
        newer = first if (before or (after and more)) else None
        older = last if ((not after and more) or after) else None
        return ConversationPage(rows=rows, newer=newer, older=older)

    def count_conversations(self, flt: ConversationFilter) -> int:
        query = self._listing(sa.func.count()).where(*self._conversation_where(flt))
        with self.store.connect() as connection:
            return int(connection.execute(query).scalar() or 0)

    def _add_missed_counts(self, rows: List[Dict[str, Any]]) -> None:
        """Missed messages per listed conversation, with today's threshold."""
        for row in rows:
            row["programs_list"] = split_list(row.get("programs"))
            row["topics_list"] = [intent for intent in split_list(row.get("intents")) if is_topic(intent)]
            row["missed_messages"] = 0
        flagged = [
            row["sender_id"]
            for row in rows
            if row["hard_misses"]
            or row["not_helpful"]
            or (row["min_confidence"] is not None and row["min_confidence"] < self.threshold)
        ]
        if not flagged:
            return
        query = (
            sa.select(m.sender_id, sa.func.count().label("n"))
            .where(m.sender_id.in_(flagged), missed(self.threshold))
            .group_by(m.sender_id)
        )
        by_id = {row["sender_id"]: row["n"] for row in self.store.rows(query)}
        for row in rows:
            row["missed_messages"] = int(by_id.get(row["sender_id"], 0))

    def resolve(self, key: str) -> Optional[str]:
        """The sender id for a conversation id or its reference (``c-...``), if it is summarised."""
        query = sa.select(c.sender_id).where(sa.or_(c.sender_id == key, c.ref == key)).limit(1)
        with self.store.connect() as connection:
            return connection.execute(query).scalar()

    def conversation(self, sender_id: str) -> Optional[Dict[str, Any]]:
        r = conversation_reviews.c
        query = self._listing(
            conversations,
            r.status.label("review_status"),
            r.note.label("review_note"),
            r.updated_by.label("reviewed_by"),
            r.updated_at.label("reviewed_at"),
        ).where(c.sender_id == sender_id)
        rows = self.store.rows(query)
        if not rows:
            return None
        self._add_missed_counts(rows)
        return rows[0]

    def message_reviews(self, sender_id: str) -> Dict[int, Dict[str, Any]]:
        r = message_reviews.c
        query = sa.select(r.event_id, r.status, r.intent, r.updated_by, r.updated_at).where(r.sender_id == sender_id)
        return {int(row["event_id"]): row for row in self.store.rows(query)}

    # -- missed questions -----------------------------------------------------------------------
    def _missed_where(self, flt: MissedFilter) -> List[Any]:
        where = [missed(self.threshold)]
        if flt.status == "open":
            where.append(message_reviews.c.status.is_(None))
        elif flt.status != "all":
            where.append(message_reviews.c.status == flt.status)
        since, until = day_range(flt.since, flt.until, self.tz)
        if since is not None:
            where.append(m.timestamp >= since)
        if until is not None:
            where.append(m.timestamp < until)
        if flt.reason:
            where.append(_reason(flt.reason, self.threshold))
        if flt.search:
            where.append(m.text.ilike(like_pattern(flt.search), escape="!"))
        return where

    @staticmethod
    def _reviewed(*columns: Any) -> Any:
        """``SELECT columns FROM staff_messages LEFT JOIN staff_message_reviews``."""
        joined = messages.outerjoin(message_reviews, message_reviews.c.event_id == m.event_id)
        return sa.select(*columns).select_from(joined)

    def missed_groups(self, flt: MissedFilter, page: int = 1, per_page: int = 50) -> Tuple[List[MissedGroup], int, int]:
        """One page of groups, the number of groups and the number of messages matching ``flt``."""
        where = self._missed_where(flt)
        r = message_reviews.c
        totals_query = self._reviewed(
            sa.func.count(sa.distinct(m.norm_text)).label("groups"), sa.func.count().label("messages")
        ).where(*where)
        totals = self.store.rows(totals_query)[0]
        n = sa.func.count().label("n")
        last_seen = sa.func.max(m.timestamp).label("last_seen")
        statuses = [
            _count_where(r.status.is_(None) if status == "open" else r.status == status).label(f"{status}_n")
            for status in MESSAGE_STATUSES
        ]
        order = [last_seen.desc(), n.desc()] if flt.sort == "recent" else [n.desc(), last_seen.desc()]
        query = (
            self._reviewed(
                m.norm_text,
                n,
                sa.func.count(sa.distinct(m.sender_id)).label("conversations"),
                last_seen,
                sa.func.max(r.intent).label("assigned_intent"),
                *statuses,
            )
            .where(*where)
            .group_by(m.norm_text)
            .order_by(*order, m.norm_text)
            .limit(per_page)
            .offset(max(0, page - 1) * per_page)
        )
        groups = self.store.rows(query)
        samples = self._samples([group["norm_text"] for group in groups], where)
        merged = merge_similar([self._group(row, samples.get(row["norm_text"], [])) for row in groups])
        return merged, int(totals["groups"] or 0), int(totals["messages"] or 0)

    def _group(self, row: Mapping[str, Any], samples: List[Dict[str, Any]]) -> MissedGroup:
        return MissedGroup(
            keys=[row["norm_text"]],
            text=samples[0]["text"] if samples else row["norm_text"],
            count=int(row["n"]),
            conversations=int(row["conversations"]),
            last_seen=row["last_seen"],
            statuses={status: int(row[f"{status}_n"] or 0) for status in MESSAGE_STATUSES},
            assigned_intent=row["assigned_intent"],
            samples=samples,
        )

    def _samples(self, keys: List[str], where: List[Any]) -> Dict[str, List[Dict[str, Any]]]:
        """The latest few messages of each group, for the text shown and the transcript links."""
        if not keys:
            return {}
        r = message_reviews.c
        rank = sa.func.row_number().over(partition_by=m.norm_text, order_by=(m.timestamp.desc(), m.event_id.desc()))
        ranked = (
            self._reviewed(
                m.event_id,
                m.sender_id,
                m.timestamp,
                m.text,
                m.norm_text,
                m.intent,
                m.confidence,
                r.status,
                r.intent.label("assigned_intent"),
                rank.label("rank"),
            )
            .where(m.norm_text.in_(keys), *where)
            .subquery()
        )
        query = sa.select(ranked).where(ranked.c.rank <= SAMPLES_PER_GROUP)
        grouped: Dict[str, List[Dict[str, Any]]] = {}
        for row in self.store.rows(query):
            grouped.setdefault(row["norm_text"], []).append(row)
        for rows in grouped.values():
            rows.sort(key=lambda row: (-(row["timestamp"] or 0), -row["event_id"]))
        return grouped

    def missed_event_ids(self, keys: Sequence[str]) -> List[Tuple[int, str]]:
        """(event id, conversation) of every missed message in the groups ``keys``."""
        if not keys:
            return []
        query = sa.select(m.event_id, m.sender_id).where(m.norm_text.in_(list(keys)), missed(self.threshold))
        return [(int(row["event_id"]), row["sender_id"]) for row in self.store.rows(query)]

    def message(self, event_id: int) -> Optional[Dict[str, Any]]:
        rows = self.store.rows(sa.select(messages).where(m.event_id == event_id))
        return rows[0] if rows else None

    # -- trends ---------------------------------------------------------------------------------
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
        extra = [_count_where(days.c.missed).label("missed")] if "missed" in days.c else []
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
        asked = sa.and_(written, m.to_person == sa.false())
        topic_query = sa.select(m.intent, n).where(asked).group_by(m.intent).order_by(n.desc(), m.intent)
        topics = [(row["intent"], int(row["n"])) for row in self.store.rows(topic_query) if is_topic(row["intent"])]
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
            inner.c.d, sa.func.count().label("n"), _count_where(inner.c.contained).label("contained")
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
            sa.select(sa.func.count().label("n"), _count_where(missed(self.threshold)).label("missed"))
        )[0]
        return {
            "conversations": int(conversation_totals["n"] or 0),
            "first_activity": conversation_totals["first"],
            "last_activity": conversation_totals["last"],
            "visitor_messages": int(message_totals["n"] or 0),
            "missed_messages": int(message_totals["missed"] or 0),
        }


def merge_similar(groups: List[MissedGroup], threshold: float = SIMILARITY) -> List[MissedGroup]:
    """Merge groups on one page whose texts are nearly the same ("tution fees" ~ "tuition fees")."""
    merged: List[MissedGroup] = []
    for group in groups:
        key = group.keys[0]
        target = next((other for other in merged if _similar(other.keys[0], key, threshold)), None)
        if target is None:
            merged.append(replace(group, keys=list(group.keys), samples=list(group.samples)))
            continue
        target.keys.append(key)
        target.count += group.count
        target.conversations += group.conversations
        target.last_seen = max(target.last_seen, group.last_seen)
        target.statuses = {name: target.statuses.get(name, 0) + count for name, count in group.statuses.items()}
        target.assigned_intent = target.assigned_intent or group.assigned_intent
        target.samples = sorted(target.samples + group.samples, key=lambda s: -(s["timestamp"] or 0))[
            :SAMPLES_PER_GROUP
        ]
    return merged


def _similar(a: str, b: str, threshold: float) -> bool:
    if not a or not b:
        return a == b
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return (
        matcher.real_quick_ratio() >= threshold and matcher.quick_ratio() >= threshold and matcher.ratio() >= threshold
    )
