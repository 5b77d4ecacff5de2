"""Read-only queries behind the console's pages, over the summary tables kept by :mod:`staff.sync`.

Every value typed by staff reaches SQL as a bound parameter; the SQL text itself is assembled only
from fixed fragments in this module.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from datetime import date, timedelta, tzinfo
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa

from staff.dates import day_from_number, day_range, offset_periods, parse_date
from staff.events import MISS_INTENTS, is_topic
from staff.store import EventStore

CONVERSATION_STATUSES = {"new": "New", "reviewed": "Reviewed", "follow_up": "Needs follow-up"}
MESSAGE_STATUSES = {"open": "Open", "reviewed": "Reviewed", "dismissed": "Dismissed", "assigned": "Intent assigned"}
MISS_REASONS = {"fallback": "Fallback", "out_of_scope": "Out of scope", "low_confidence": "Low confidence"}
SAMPLES_PER_GROUP = 5
SIMILARITY = 0.9

_HARD_MISSES = ", ".join(f"'{intent}'" for intent in MISS_INTENTS)
MISSED_SQL = f"(m.intent IS NULL OR m.intent IN ({_HARD_MISSES}) OR m.confidence < :threshold)"
_REASON_SQL = {
    "fallback": "(m.intent = 'nlu_fallback' OR m.intent IS NULL)",
    "out_of_scope": "m.intent = 'out_of_scope'",
    "low_confidence": f"(m.intent NOT IN ({_HARD_MISSES}) AND m.confidence < :threshold)",
}


def like_pattern(text: str) -> str:
    """``%text%`` for ``LIKE ... ESCAPE '!'`` with the wildcards in ``text`` taken literally."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def _clean(value: Optional[str], allowed: Sequence[str]) -> str:
    return value if value in allowed else ""


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
            program=(args.get("program") or "").strip().lower()[:40],
            topic=(args.get("topic") or "").strip()[:255],
            missed=args.get("missed") in {"1", "on", "true", "yes"},
            status=_clean(args.get("status"), list(CONVERSATION_STATUSES)),
            search=(args.get("q") or "").strip()[:200],
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
            search=(args.get("q") or "").strip()[:200],
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
    """Position in the newest-first list: the last row's activity time and id."""

    last_activity: float
    sender_id: str

    def encode(self) -> str:
        return f"{self.last_activity!r}:{self.sender_id}"

    @classmethod
    def decode(cls, raw: Optional[str]) -> Optional["Cursor"]:
        if not raw or ":" not in raw:
            return None
        stamp, _, sender_id = raw.partition(":")
        try:
            return cls(float(stamp), sender_id)
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

    @property
    def missed_share(self) -> List[Optional[float]]:
        return [missed / total if total else None for missed, total in zip(self.missed, self.messages)]


def split_list(value: Optional[str]) -> List[str]:
    return [item for item in (value or "").split(",") if item]


def summary_record(row: Mapping[str, Any]) -> Dict[str, Any]:
    """A listed conversation (a row of :meth:`ConsoleQueries.conversations`) for the JSON API and the CLI."""
    return {
        "id": row["sender_id"],
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

    def __init__(self, store: EventStore, threshold: float, tz: tzinfo) -> None:
        self.store = store
        self.threshold = threshold
        self.tz = tz

    def _rows(self, query: str, params: Dict[str, Any], expanding: Sequence[str] = ()) -> List[Dict[str, Any]]:
        statement = sa.text(query)
        if expanding:
            statement = statement.bindparams(*(sa.bindparam(name, expanding=True) for name in expanding))
        with self.store.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(statement, params)]

    # -- conversations --------------------------------------------------------------------------
    def _conversation_where(self, flt: ConversationFilter) -> Tuple[List[str], Dict[str, Any]]:
        where: List[str] = []
        params: Dict[str, Any] = {"threshold": self.threshold}
        since, until = day_range(flt.since, flt.until, self.tz)
        if not flt.include_empty:
            where.append("c.visitor_messages > 0")
        if since is not None:
            where.append("c.last_activity >= :since")
            params["since"] = since
        if until is not None:
            where.append("c.started_at < :until")
            params["until"] = until
        if flt.program:
            where.append("c.programs LIKE :program ESCAPE '!'")
            params["program"] = like_pattern(f",{flt.program},")
        if flt.topic:
            where.append("c.intents LIKE :topic ESCAPE '!'")
            params["topic"] = like_pattern(f",{flt.topic},")
        if flt.missed:
            where.append("(c.hard_misses > 0 OR c.min_confidence < :threshold)")
        if flt.status == "new":
            where.append("r.status IS NULL")
        elif flt.status:
            where.append("r.status = :status")
            params["status"] = flt.status
        if flt.search:
            # Matching messages, plus the conversation whose id was pasted into the search box.
            where.append(
                "c.sender_id IN (SELECT m.sender_id FROM staff_messages m"
                f" WHERE {self.store.contains_sql('m.text', 'search')}"
                " UNION ALL SELECT CAST(:search_id AS VARCHAR(255)))"
            )
            params["search"] = like_pattern(flt.search)
            params["search_id"] = flt.search
        return where, params

    def conversations(
        self,
        flt: ConversationFilter,
        before: Optional[Cursor] = None,
        after: Optional[Cursor] = None,
        limit: int = 50,
    ) -> ConversationPage:
        """One page, newest activity first; ``before``/``after`` continue from a page edge."""
        where, params = self._conversation_where(flt)
        order = "DESC"
        if before:
            where.append("(c.last_activity < :cursor_t OR (c.last_activity = :cursor_t AND c.sender_id < :cursor_id))")
            params.update(cursor_t=before.last_activity, cursor_id=before.sender_id)
        elif after:
            where.append("(c.last_activity > :cursor_t OR (c.last_activity = :cursor_t AND c.sender_id > :cursor_id))")
            params.update(cursor_t=after.last_activity, cursor_id=after.sender_id)
            order = "ASC"
        params["limit"] = limit + 1
        rows = self._rows(
            "SELECT c.*, r.status AS review_status FROM staff_conversations c"
            " LEFT JOIN staff_conversation_reviews r ON r.sender_id = c.sender_id"
            f" WHERE {' AND '.join(where) or '1 = 1'}"
            f" ORDER BY c.last_activity {order}, c.sender_id {order} LIMIT :limit",
            params,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        if after:
            rows.reverse()
        self._add_missed_counts(rows)
        first = Cursor(rows[0]["last_activity"], rows[0]["sender_id"]) if rows else None
        last = Cursor(rows[-1]["last_activity"], rows[-1]["sender_id"]) if rows else None
        newer = first if (before or (after and more)) else None
        older = last if ((not after and more) or after) else None
        return ConversationPage(rows=rows, newer=newer, older=older)

    def count_conversations(self, flt: ConversationFilter) -> int:
        where, params = self._conversation_where(flt)
        rows = self._rows(
            "SELECT count(*) AS n FROM staff_conversations c"
            " LEFT JOIN staff_conversation_reviews r ON r.sender_id = c.sender_id"
            f" WHERE {' AND '.join(where) or '1 = 1'}",
            params,
        )
        return int(rows[0]["n"])

    def _add_missed_counts(self, rows: List[Dict[str, Any]]) -> None:
        """Missed messages per listed conversation, with today's threshold."""
        for row in rows:
            row["programs_list"] = split_list(row.get("programs"))
            row["topics_list"] = [intent for intent in split_list(row.get("intents")) if is_topic(intent)]
            row["missed_messages"] = 0
        flagged = [
            row["sender_id"]
            for row in rows
            if row["hard_misses"] or (row["min_confidence"] is not None and row["min_confidence"] < self.threshold)
        ]
        if not flagged:
            return
        counts = self._rows(
            f"SELECT m.sender_id, count(*) AS n FROM staff_messages m WHERE m.sender_id IN :ids AND {MISSED_SQL}"
            " GROUP BY m.sender_id",
            {"ids": flagged, "threshold": self.threshold},
            expanding=("ids",),
        )
        by_id = {row["sender_id"]: row["n"] for row in counts}
        for row in rows:
            row["missed_messages"] = int(by_id.get(row["sender_id"], 0))

    def conversation(self, sender_id: str) -> Optional[Dict[str, Any]]:
        rows = self._rows(
            "SELECT c.*, r.status AS review_status, r.note AS review_note, r.updated_by AS reviewed_by,"
            " r.updated_at AS reviewed_at FROM staff_conversations c"
            " LEFT JOIN staff_conversation_reviews r ON r.sender_id = c.sender_id WHERE c.sender_id = :id",
            {"id": sender_id},
        )
        if not rows:
            return None
        self._add_missed_counts(rows)
        return rows[0]

    def message_reviews(self, sender_id: str) -> Dict[int, Dict[str, Any]]:
        rows = self._rows(
            "SELECT event_id, status, intent, updated_by, updated_at FROM staff_message_reviews WHERE sender_id = :id",
            {"id": sender_id},
        )
        return {int(row["event_id"]): row for row in rows}

    # -- missed questions -----------------------------------------------------------------------
    def _missed_where(self, flt: MissedFilter) -> Tuple[List[str], Dict[str, Any]]:
        where = [MISSED_SQL]
        params: Dict[str, Any] = {"threshold": self.threshold}
        if flt.status == "open":
            where.append("r.status IS NULL")
        elif flt.status != "all":
            where.append("r.status = :status")
            params["status"] = flt.status
        since, until = day_range(flt.since, flt.until, self.tz)
        if since is not None:
            where.append("m.timestamp >= :since")
            params["since"] = since
        if until is not None:
            where.append("m.timestamp < :until")
            params["until"] = until
        if flt.reason:
            where.append(_REASON_SQL[flt.reason])
        if flt.search:
            where.append(self.store.contains_sql("m.text", "search"))
            params["search"] = like_pattern(flt.search)
        return where, params

    def missed_groups(self, flt: MissedFilter, page: int = 1, per_page: int = 50) -> Tuple[List[MissedGroup], int, int]:
        """One page of groups, the number of groups and the number of messages matching ``flt``."""
        where, params = self._missed_where(flt)
        base = (
            "FROM staff_messages m LEFT JOIN staff_message_reviews r ON r.event_id = m.event_id"
            f" WHERE {' AND '.join(where)}"
        )
        totals = self._rows(f"SELECT count(DISTINCT m.norm_text) AS groups, count(*) AS messages {base}", params)[0]
        order = "last_seen DESC, n DESC" if flt.sort == "recent" else "n DESC, last_seen DESC"
        statuses = ", ".join(
            f"sum(CASE WHEN r.status = '{status}' THEN 1 ELSE 0 END) AS {status}_n"
            for status in MESSAGE_STATUSES
            if status != "open"
        )
        groups = self._rows(
            "SELECT m.norm_text, count(*) AS n, count(DISTINCT m.sender_id) AS conversations,"
            " max(m.timestamp) AS last_seen, max(r.intent) AS assigned_intent,"
            f" sum(CASE WHEN r.status IS NULL THEN 1 ELSE 0 END) AS open_n, {statuses}"
            f" {base} GROUP BY m.norm_text ORDER BY {order}, m.norm_text LIMIT :limit OFFSET :offset",
            {**params, "limit": per_page, "offset": max(0, page - 1) * per_page},
        )
        samples = self._samples([group["norm_text"] for group in groups], where, params)
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

    def _samples(self, keys: List[str], where: List[str], params: Dict[str, Any]) -> Dict[str, List[Dict[str, Any]]]:
        """The latest few messages of each group, for the text shown and the transcript links.

        One small ``LIMIT`` query per group, glued with ``UNION ALL``: each reads a few entries of
        the ``staff_messages_missed`` index, however often the question was asked.
        """
        if not keys:
            return {}
        parts, values = [], dict(params)
        for number, key in enumerate(keys):
            values[f"key{number}"] = key
            parts.append(
                "SELECT * FROM (SELECT m.event_id, m.sender_id, m.timestamp, m.text, m.norm_text, m.intent,"
                " m.confidence, r.status, r.intent AS assigned_intent FROM staff_messages m"
                " LEFT JOIN staff_message_reviews r ON r.event_id = m.event_id"
                f" WHERE m.norm_text = :key{number} AND {' AND '.join(where)}"
                f" ORDER BY m.timestamp DESC, m.event_id DESC LIMIT {SAMPLES_PER_GROUP}) AS s{number}"
            )
        grouped: Dict[str, List[Dict[str, Any]]] = {}
        for row in self._rows(" UNION ALL ".join(parts), values):
            grouped.setdefault(row["norm_text"], []).append(row)
        for rows in grouped.values():
            rows.sort(key=lambda row: (-(row["timestamp"] or 0), -row["event_id"]))
        return grouped

    def missed_event_ids(self, keys: Sequence[str]) -> List[Tuple[int, str]]:
        """(event id, conversation) of every missed message in the groups ``keys``."""
        if not keys:
            return []
        rows = self._rows(
            f"SELECT m.event_id, m.sender_id FROM staff_messages m WHERE m.norm_text IN :keys AND {MISSED_SQL}",
            {"keys": list(keys), "threshold": self.threshold},
            expanding=("keys",),
        )
        return [(int(row["event_id"]), row["sender_id"]) for row in rows]

    def message(self, event_id: int) -> Optional[Dict[str, Any]]:
        rows = self._rows("SELECT * FROM staff_messages WHERE event_id = :id", {"id": event_id})
        return rows[0] if rows else None

    # -- trends ---------------------------------------------------------------------------------
    def _local_day_sql(self, column: str, start: float, end: float) -> str:
        """SQL for the local day number of ``column``, exact across daylight-saving changes."""
        periods = offset_periods(start, end, self.tz)
        shift = str(periods[0][1])
        if len(periods) > 1:
            cases = " ".join(
                f"WHEN {column} < {until!r} THEN {offset}" for (_, offset), (until, _) in zip(periods, periods[1:])
            )
            shift = f"CASE {cases} ELSE {periods[-1][1]} END"
        return self.store.bucket_sql(f"({column} + {shift})", 86400)

    def trends(self, since: date, until: date) -> Trends:
        """Per-day counts between two local days (inclusive)."""
        start, end = day_range(since, until, self.tz)
        days = [since + timedelta(days=offset) for offset in range((until - since).days + 1)]
        index = {day: position for position, day in enumerate(days)}
        params = {"since": start, "until": end, "threshold": self.threshold}
        day_c = self._local_day_sql("c.started_at", start, end)
        day_m = self._local_day_sql("m.timestamp", start, end)
        conversations = [0] * len(days)
        for row in self._rows(
            f"SELECT {day_c} AS d, count(*) AS n FROM staff_conversations c WHERE c.started_at >= :since"
            " AND c.started_at < :until AND c.visitor_messages > 0 GROUP BY d",
            params,
        ):
            self._add(conversations, index, row["d"], row["n"])
        messages, missed = [0] * len(days), [0] * len(days)
        for row in self._rows(
            f"SELECT {day_m} AS d, count(*) AS n, sum(CASE WHEN {MISSED_SQL} THEN 1 ELSE 0 END) AS missed"
            " FROM staff_messages m WHERE m.timestamp >= :since AND m.timestamp < :until GROUP BY d",
            params,
        ):
            self._add(messages, index, row["d"], row["n"])
            self._add(missed, index, row["d"], row["missed"] or 0)
        topics = [
            (row["intent"], int(row["n"]))
            for row in self._rows(
                "SELECT m.intent, count(*) AS n FROM staff_messages m WHERE m.timestamp >= :since"
                " AND m.timestamp < :until GROUP BY m.intent ORDER BY n DESC",
                params,
            )
            if is_topic(row["intent"])
        ][:10]
        programs: Dict[str, List[int]] = {"mism": [0] * len(days), "msit": [0] * len(days)}
        for row in self._rows(
            f"SELECT {day_c} AS d, c.programs, count(*) AS n FROM staff_conversations c"
            " WHERE c.started_at >= :since AND c.started_at < :until AND c.programs <> ','"
            " GROUP BY d, c.programs",
            params,
        ):
            for program in split_list(row["programs"]):
                if program in programs:
                    self._add(programs[program], index, row["d"], row["n"])
        return Trends(days, conversations, messages, missed, topics, programs)

    @staticmethod
    def _add(series: List[int], index: Dict[date, int], day_number: Any, count: Any) -> None:
        day = day_from_number(day_number)
        if day in index:
            series[index[day]] += int(count or 0)

    def totals(self) -> Dict[str, Any]:
        """Headline numbers for the CLI ``stats`` command and the JSON API."""
        params = {"threshold": self.threshold}
        conversations = self._rows(
            "SELECT count(*) AS n, min(started_at) AS first, max(last_activity) AS last"
            " FROM staff_conversations WHERE visitor_messages > 0",
            params,
        )[0]
        messages = self._rows(
            f"SELECT count(*) AS n, sum(CASE WHEN {MISSED_SQL} THEN 1 ELSE 0 END) AS missed FROM staff_messages m",
            params,
        )[0]
        return {
            "conversations": int(conversations["n"] or 0),
            "first_activity": conversations["first"],
            "last_activity": conversations["last"],
            "visitor_messages": int(messages["n"] or 0),
            "missed_messages": int(messages["missed"] or 0),
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
