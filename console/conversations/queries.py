"""The conversation list and one conversation's summary: filters, keyset paging, missed counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any, Dict, List, Mapping, Optional

import sqlalchemy as sa

from console.data.database import ConsoleDatabase, conversation_reviews, conversations, message_reviews, messages
from console.data.dates import day_range, parse_date
from console.data.privacy import clean_text, display_id
from console.data.queries import CONVERSATION_STATUSES, choice, like_pattern, missed, split_list, user_text
from console.data.vocabulary import is_topic

c, m = conversations.c, messages.c


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
            program=user_text(args.get("program"), 40).lower(),
            topic=user_text(args.get("topic"), 255),
            missed=args.get("missed") in {"1", "on", "true", "yes"},
            status=choice(args.get("status"), list(CONVERSATION_STATUSES)),
            search=user_text(args.get("q"), 200),
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


def summary_record(row: Mapping[str, Any]) -> Dict[str, Any]:
    """A listed conversation (a row of :meth:`ConversationQueries.conversations`) for the JSON API and the CLI."""
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


class ConversationQueries:
    """Conversation queries for one database, one miss threshold and one time zone."""

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

    def message(self, event_id: int) -> Optional[Dict[str, Any]]:
        rows = self.store.rows(sa.select(messages).where(m.event_id == event_id))
        return rows[0] if rows else None
