"""Keeps the console's summary tables up to date with Rasa's ``events`` table.

List pages, filters and charts must stay fast at 100,000 conversations, and aggregating raw events
(JSON in a text column) for every page view would not. So the console reads each new event once,
in id order, and folds it into ``staff_conversations`` (one row per conversation) and
``staff_messages`` (one row per visitor message). ``staff_sync.watermark`` remembers the last id
read.

Each batch runs in one transaction that starts by updating the ``staff_sync`` row; that takes the
database's write lock (SQLite) or a row lock (PostgreSQL), so concurrent catch-ups from several
web workers or the CLI queue up instead of counting an event twice.

On PostgreSQL, ids come from a sequence and two Rasa processes can commit out of order, so an id
below the watermark may appear a moment later. Such recent holes are remembered in
``staff_sync.pending`` and looked up again for a few minutes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from staff.events import MISS_INTENTS, load_data, normalise_program, normalise_text, parse_user
from staff.privacy import mask_text
from staff.store import EventStore

BATCH_SIZE = 5000
# How long a hole in the id sequence is watched for a late commit.
GAP_WINDOW_SECONDS = 600
MAX_PENDING = 5000
MAX_TEXT = 2000
PREVIEW_LENGTH = 200


@dataclass
class SyncResult:
    processed: int = 0
    caught_up: bool = True
    watermark: int = 0
    latest_id: int = 0

    @property
    def progress(self) -> float:
        """Share of the events table read so far (1.0 when caught up)."""
        if self.caught_up or not self.latest_id:
            return 1.0
        return min(1.0, self.watermark / self.latest_id)


@dataclass
class ConversationDelta:
    """What a batch of events adds to one conversation's summary row."""

    started_at: Optional[float] = None
    last_activity: Optional[float] = None
    events: int = 0
    visitor_messages: int = 0
    bot_messages: int = 0
    hard_misses: int = 0
    min_confidence: Optional[float] = None
    intents: Set[str] = field(default_factory=set)
    programs: Set[str] = field(default_factory=set)
    tracks: Set[str] = field(default_factory=set)
    first_message: Optional[str] = None

    def add_time(self, timestamp: Optional[float]) -> None:
        if timestamp is None:
            return
        self.started_at = timestamp if self.started_at is None else min(self.started_at, timestamp)
        self.last_activity = timestamp if self.last_activity is None else max(self.last_activity, timestamp)


def _split(value: Optional[str]) -> Set[str]:
    return {item for item in (value or "").split(",") if item}


def _join(items: Iterable[str]) -> str:
    """Stored as ``,a,b,`` so a filter can match a whole item with ``LIKE '%,a,%'``."""
    cleaned = sorted({item.replace(",", " ") for item in items if item})
    return "," + ",".join(cleaned) + "," if cleaned else ","


def _min(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return _either(min, a, b)


def _max(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return _either(max, a, b)


def _add_track(delta: ConversationDelta, value: Any) -> None:
    """Note a track slot or entity value (masked, lower case, short); ignores empty values."""
    if isinstance(value, str) and value.strip():
        delta.tracks.add(mask_text(value.strip().lower())[:60])


def _either(pick, a: Optional[float], b: Optional[float]) -> Optional[float]:
    """``pick(a, b)`` where both are known, else whichever is."""
    return b if a is None else a if b is None else pick(a, b)


def fold_events(rows: Iterable[Mapping[str, Any]]) -> Tuple[Dict[str, ConversationDelta], List[Dict[str, Any]]]:
    """Summarise a batch of event rows: per-conversation deltas and visitor-message rows."""
    deltas: Dict[str, ConversationDelta] = {}
    messages: List[Dict[str, Any]] = []
    for row in rows:
        delta = deltas.setdefault(row["sender_id"], ConversationDelta())
        delta.events += 1
        delta.add_time(row["timestamp"])
        kind = row["type_name"]
        if kind == "bot":
            delta.bot_messages += 1
        elif kind == "slot":
            _fold_slot(delta, row)
        elif kind == "user":
            messages.append(_fold_user(delta, row))
    return deltas, messages


def _fold_slot(delta: ConversationDelta, row: Mapping[str, Any]) -> None:
    data = load_data(row["data"])
    values = data.get("value")
    for value in values if isinstance(values, list) else [values]:
        if row["action_name"] == "program" and normalise_program(value):
            delta.programs.add(normalise_program(value))
        elif row["action_name"] == "track":
            _add_track(delta, value)


def _fold_user(delta: ConversationDelta, row: Mapping[str, Any]) -> Dict[str, Any]:
    message = parse_user(load_data(row["data"]))
    text = mask_text(message.text)[:MAX_TEXT]
    delta.visitor_messages += 1
    if not message.intent or message.intent in MISS_INTENTS:
        delta.hard_misses += 1
    delta.min_confidence = _min(delta.min_confidence, message.confidence)
    if message.intent:
        delta.intents.add(message.intent)
    delta.programs.update(message.programs)
    for name, value in message.entities:
        if name == "track":
            _add_track(delta, value)
    if delta.first_message is None and not text.startswith("/"):
        delta.first_message = text[:PREVIEW_LENGTH]
    return {
        "event_id": row["id"],
        "sender_id": row["sender_id"],
        "timestamp": row["timestamp"],
        "text": text,
        "norm_text": normalise_text(text),
        "intent": (message.intent or None) and message.intent[:255],
        "confidence": message.confidence,
    }


def merge(existing: Optional[Mapping[str, Any]], delta: ConversationDelta) -> Dict[str, Any]:
    """The summary row after adding ``delta`` to ``existing`` (``None`` for a new conversation)."""
    old = dict(existing or {})
    return {
        "started_at": _min(old.get("started_at"), delta.started_at),
        "last_activity": _max(old.get("last_activity"), delta.last_activity),
        "events": (old.get("events") or 0) + delta.events,
        "visitor_messages": (old.get("visitor_messages") or 0) + delta.visitor_messages,
        "bot_messages": (old.get("bot_messages") or 0) + delta.bot_messages,
        "hard_misses": (old.get("hard_misses") or 0) + delta.hard_misses,
        "min_confidence": _min(old.get("min_confidence"), delta.min_confidence),
        "intents": _join(_split(old.get("intents")) | delta.intents),
        "programs": _join(_split(old.get("programs")) | delta.programs),
        "tracks": _join(_split(old.get("tracks")) | delta.tracks),
        "first_message": old.get("first_message") or delta.first_message,
    }


_UPSERT_CONVERSATION = sa.text(
    """INSERT INTO staff_conversations (sender_id, started_at, last_activity, events,
        visitor_messages, bot_messages, hard_misses, min_confidence, intents, programs, tracks,
        first_message)
    VALUES (:sender_id, :started_at, :last_activity, :events, :visitor_messages, :bot_messages,
        :hard_misses, :min_confidence, :intents, :programs, :tracks, :first_message)
    ON CONFLICT (sender_id) DO UPDATE SET started_at = excluded.started_at,
        last_activity = excluded.last_activity, events = excluded.events,
        visitor_messages = excluded.visitor_messages, bot_messages = excluded.bot_messages,
        hard_misses = excluded.hard_misses, min_confidence = excluded.min_confidence,
        intents = excluded.intents, programs = excluded.programs, tracks = excluded.tracks,
        first_message = excluded.first_message"""
)
_INSERT_MESSAGE = sa.text(
    """INSERT INTO staff_messages (event_id, sender_id, timestamp, text, norm_text, intent, confidence)
    VALUES (:event_id, :sender_id, :timestamp, :text, :norm_text, :intent, :confidence)
    ON CONFLICT (event_id) DO NOTHING"""
)


def apply_batch(connection: Connection, rows: List[Mapping[str, Any]]) -> None:
    """Fold ``rows`` into the summary tables (inside the caller's locked transaction)."""
    deltas, messages = fold_events(rows)
    if messages:
        connection.execute(_INSERT_MESSAGE, messages)
    if not deltas:
        return
    select = sa.text("SELECT * FROM staff_conversations WHERE sender_id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    existing = {row._mapping["sender_id"]: row._mapping for row in connection.execute(select, {"ids": list(deltas)})}
    updates = [{"sender_id": sender_id, **merge(existing.get(sender_id), delta)} for sender_id, delta in deltas.items()]
    connection.execute(_UPSERT_CONVERSATION, updates)


def _find_gaps(watermark: int, rows: List[Mapping[str, Any]], now: float) -> List[int]:
    """Ids missing between rows that were written recently: maybe still being committed."""
    gaps: List[int] = []
    previous = watermark
    for row in rows:
        recent = (row["timestamp"] or 0) >= now - GAP_WINDOW_SECONDS
        if row["id"] > previous + 1 and recent and previous > 0:
            gaps.extend(range(previous + 1, min(row["id"], previous + 1 + MAX_PENDING)))
        previous = row["id"]
    return gaps[:MAX_PENDING]


class Summariser:
    """Reads new events into the summary tables, one locked batch at a time."""

    def __init__(self, store: EventStore, batch_size: int = BATCH_SIZE) -> None:
        self.store = store
        self.batch_size = batch_size

    def run(self, budget_seconds: Optional[float] = None) -> SyncResult:
        """Catch up, stopping early after ``budget_seconds`` (``None``: until caught up)."""
        result = SyncResult()
        if not self.store.has_events_table():
            return result
        if self._idle():
            result.watermark = result.latest_id = self._watermark()
            return result
        deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        while True:
            processed, result.watermark, result.latest_id = self._batch()
            result.processed += processed
            result.caught_up = result.watermark >= result.latest_id
            if result.caught_up or (deadline is not None and time.monotonic() > deadline):
                return result

    def _watermark(self) -> int:
        with self.store.connect() as connection:
            return int(connection.execute(sa.text("SELECT watermark FROM staff_sync WHERE id = 1")).scalar() or 0)

    def _idle(self) -> bool:
        """Nothing new and no hole to watch: skip the write transaction (most page views)."""
        with self.store.connect() as connection:
            state = connection.execute(sa.text("SELECT watermark, pending FROM staff_sync WHERE id = 1")).one()
            latest = self.store.max_event_id(connection)
        return latest == int(state.watermark) and state.pending in ("[]", "", None)

    def _batch(self) -> Tuple[int, int, int]:
        now = time.time()
        with self.store.begin() as connection:
            connection.execute(sa.text("UPDATE staff_sync SET updated_at = :now WHERE id = 1"), {"now": now})
            state = connection.execute(sa.text("SELECT watermark, pending FROM staff_sync WHERE id = 1")).one()
            watermark = int(state.watermark)
            pending = [item for item in json.loads(state.pending or "[]") if item[1] >= now - GAP_WINDOW_SECONDS]
            latest = self.store.max_event_id(connection)
            if latest < watermark:
                # Events were deleted and SQLite reuses freed ids: restart from what is left.
                watermark, pending = latest, []
            rows = self.store.events_after(connection, watermark, self.batch_size)
            late = self.store.events_by_ids(connection, [item[0] for item in pending])
            apply_batch(connection, late + rows)
            found = {row["id"] for row in late}
            pending = [item for item in pending if item[0] not in found]
            pending += [[gap, now] for gap in _find_gaps(watermark, rows, now)]
            if rows:
                watermark = rows[-1]["id"]
            connection.execute(
                sa.text("UPDATE staff_sync SET watermark = :watermark, pending = :pending WHERE id = 1"),
                {"watermark": watermark, "pending": json.dumps(pending[-MAX_PENDING:])},
            )
        return len(rows) + len(late), watermark, latest

    def rebuild(self) -> SyncResult:
        """Forget the summaries and read every event again (after changing masking rules, say)."""
        with self.store.begin() as connection:
            connection.execute(sa.text("UPDATE staff_sync SET updated_at = :now WHERE id = 1"), {"now": time.time()})
            connection.execute(sa.text("DELETE FROM staff_messages"))
            connection.execute(sa.text("DELETE FROM staff_conversations"))
            connection.execute(sa.text("UPDATE staff_sync SET watermark = 0, pending = '[]' WHERE id = 1"))
        return self.run()

    def reset_watermark(self, connection: Connection) -> None:
        """After a purge: SQLite may hand deleted ids out again, so never sit above the last id."""
        latest = self.store.max_event_id(connection)
        connection.execute(
            sa.text("UPDATE staff_sync SET watermark = :latest WHERE id = 1 AND watermark > :latest"),
            {"latest": latest},
        )
