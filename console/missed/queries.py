"""Missed questions grouped by their text (and nearly the same text), with samples and review state."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from datetime import date, tzinfo
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa

from console.data.database import ConsoleDatabase, message_reviews, messages
from console.data.dates import day_range, parse_date
from console.data.queries import (
    MESSAGE_STATUSES,
    MISSED_PAGE_FILTERS,
    choice,
    count_where,
    like_pattern,
    missed_page,
    user_text,
)
from core.topics import intent_for, topic_for

SAMPLES_PER_GROUP = 5
SIMILARITY = 0.9

m = messages.c


@dataclass(frozen=True)
class MissedFilter:
    status: str = "open"
    since: Optional[date] = None
    until: Optional[date] = None
    reason: str = ""
    search: str = ""
    sort: str = "count"
    # The intent of a topic (``ask_deadlines``): only the messages likely about it (``likely_about``).
    topic: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str], topics: Sequence[str] = ()) -> "MissedFilter":
        """Built from query-string values; ``topics``: the intents the Topic filter offers. Unknown or
        malformed values are ignored (any topic, any reason), not errors."""
        status = args.get("status") or "open"
        return cls(
            status=status if status in MESSAGE_STATUSES or status == "all" else "open",
            since=parse_date(args.get("since")),
            until=parse_date(args.get("until")),
            reason=choice(args.get("reason"), list(MISSED_PAGE_FILTERS)),
            search=user_text(args.get("q"), 200),
            sort="recent" if args.get("sort") == "recent" else "count",
            topic=choice(args.get("topic"), topics),
        )

    def to_args(self) -> Dict[str, str]:
        args = {
            "status": self.status,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "reason": self.reason,
            "q": self.search,
            "sort": "recent" if self.sort == "recent" else "",
            "topic": self.topic,
        }
        return {key: value for key, value in args.items() if value}


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
    # The intent of the topic most of its messages were likely about (``staff_messages.likely_topic``).
    likely_intent: Optional[str] = None

    @property
    def status(self) -> str:
        """The group's state when all its messages agree, otherwise ``mixed``."""
        present = [status for status, count in self.statuses.items() if count]
        return present[0] if len(present) == 1 else "mixed"


class MissedQueries:
    """Missed-question queries for one database, one miss threshold and one time zone."""

    def __init__(self, store: ConsoleDatabase, threshold: float, tz: tzinfo) -> None:
        self.store = store
        self.threshold = threshold
        self.tz = tz

    def _missed_where(self, flt: MissedFilter) -> List[Any]:
        where = [missed_page(flt.reason, self.threshold)]
        if flt.status == "open":
            where.append(message_reviews.c.status.is_(None))
        elif flt.status != "all":
            where.append(message_reviews.c.status == flt.status)
        since, until = day_range(flt.since, flt.until, self.tz)
        if since is not None:
            where.append(m.timestamp >= since)
        if until is not None:
            where.append(m.timestamp < until)
        if flt.search:
            where.append(m.text.ilike(like_pattern(flt.search), escape="!"))
        if flt.topic:
            where.append(likely_about(flt.topic))
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
            count_where(r.status.is_(None) if status == "open" else r.status == status).label(f"{status}_n")
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
        keys = [group["norm_text"] for group in groups]
        samples = self._samples(keys, where)
        likely = self._likely_topics(keys, where)
        merged = merge_similar([self._group(row, samples.get(row["norm_text"], []), likely) for row in groups])
        return merged, int(totals["groups"] or 0), int(totals["messages"] or 0)

    def _group(self, row: Mapping[str, Any], samples: List[Dict[str, Any]], likely: Mapping[str, str]) -> MissedGroup:
        topic = likely.get(row["norm_text"])
        return MissedGroup(
            keys=[row["norm_text"]],
            text=samples[0]["text"] if samples else row["norm_text"],
            count=int(row["n"]),
            conversations=int(row["conversations"]),
            last_seen=row["last_seen"],
            statuses={status: int(row[f"{status}_n"] or 0) for status in MESSAGE_STATUSES},
            assigned_intent=row["assigned_intent"],
            samples=samples,
            likely_intent=intent_for(topic) if topic else None,
        )

    def _likely_topics(self, keys: List[str], where: List[Any]) -> Dict[str, str]:
        """Each group's likely topic: the one most of its listed messages were likely about (ties by name)."""
        if not keys:
            return {}
        n = sa.func.count().label("n")
        counted = (
            self._reviewed(m.norm_text, m.likely_topic, n)
            .where(m.norm_text.in_(keys), m.likely_topic.is_not(None), *where)
            .group_by(m.norm_text, m.likely_topic)
            .subquery()
        )
        c = counted.c
        rank = sa.func.row_number().over(partition_by=c.norm_text, order_by=(c.n.desc(), c.likely_topic))
        ranked = sa.select(c.norm_text, c.likely_topic, rank.label("rank")).subquery()
        query = sa.select(ranked.c.norm_text, ranked.c.likely_topic).where(ranked.c.rank == 1)
        return {row["norm_text"]: row["likely_topic"] for row in self.store.rows(query)}

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

    def missed_event_ids(self, keys: Sequence[str], flt: Optional[MissedFilter] = None) -> List[Tuple[int, str]]:
        """(event id, conversation) of every message in the groups ``keys`` that the page lists under
        ``flt`` (its status tab, dates, search, reason and topic: a group's "all N" is the N shown); with
        no filter, every missed one."""
        if not keys:
            return []
        listed = self._missed_where(flt) if flt is not None else [missed_page("", self.threshold)]
        query = self._reviewed(m.event_id, m.sender_id).where(m.norm_text.in_(list(keys)), *listed)
        return [(int(row["event_id"]), row["sender_id"]) for row in self.store.rows(query)]


def likely_about(intent: str) -> Any:
    """The messages likely about the topic ``intent`` asks about (``ask_deadlines``); none for an
    intent that asks about no topic."""
    topic = topic_for(intent)
    return m.likely_topic == topic if topic else sa.false()


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
        target.likely_intent = target.likely_intent or group.likely_intent
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
