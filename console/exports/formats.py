"""Streamed CSV and JSON Lines exports of messages or conversations for a date range.

Exports are generators from database cursor to HTTP response (or file): rows are fetched in batches
through a server-side cursor and written out in chunks, so memory stays flat however many
conversations the range holds (a question is held back only until what follows it in its
conversation is read, and for a bounded time: ``TurnBuilder.settled``). Text is masked unless an
operator explicitly asks otherwise (CLI ``--unmask``); the web console always masks.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import tzinfo
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Sequence

import sqlalchemy as sa

from console.data.database import ConsoleDatabase, conversation_reviews, conversations, messages
from console.data.dates import iso_time
from console.data.events import TurnBuilder
from console.data.privacy import clean_text, clean_value, display_id, mask_value
from console.data.queries import missed, split_list
from console.data.vocabulary import is_topic

MESSAGE_FIELDS = [
    "conversation_id",
    "event_id",
    "time",
    "speaker",
    "text",
    "intent",
    "confidence",
    "entities",
    "missed",
    "button",
    "action",
    "staff",
    # A visitor question's topic: the one its answer was about, else its intent's (as trends count it).
    "topic",
    # What a visitor question was likely about, as the Missed page filters on: the topic it was answered
    # on, else the first topic its fallback reply offered (filled in for a missed question too).
    "likely_topic",
]
CONVERSATION_FIELDS = [
    "conversation_id",
    "started",
    "last_activity",
    "visitor_messages",
    "bot_messages",
    "missed_messages",
    "programs",
    "topics",
    "review_status",
    "first_message",
]
KINDS = ("messages", "conversations")
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
CHUNK_ROWS = 500
# Spreadsheet programs run cells starting with these as formulas ("CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def message_records(
    store: ConsoleDatabase,
    since: float,
    until: float,
    threshold: float,
    tz: tzinfo,
    unmask: bool = False,
) -> Iterator[Dict[str, Any]]:
    """Visitor and bot messages in ``[since, until)``, oldest first; a question is written once what
    follows it has said whether it was missed (an out-of-scope reply, a "not helpful" rating), as the
    Missed page counts it."""
    builder = TurnBuilder(threshold, clean_value if unmask else mask_value)
    for turn in builder.settled(store.stream_messages(since, until)):
        if turn.kind not in ("visitor", "bot"):
            continue
        visitor = turn.kind == "visitor"
        yield {
            "conversation_id": clean_text(turn.sender_id, 255) if unmask else display_id(turn.sender_id),
            "event_id": turn.event_id,
            "time": iso_time(turn.timestamp, tz),
            # "staff" for a person's message in a live hand-off; "staff" then holds their display name.
            "speaker": "visitor" if visitor else ("staff" if turn.is_staff else "bot"),
            "text": turn.text,
            "intent": turn.intent or "",
            "confidence": round(turn.confidence, 4) if turn.confidence is not None else "",
            "entities": "; ".join(f"{name}={value}" for name, value in turn.entities),
            "missed": turn.miss_reason or "",
            "button": turn.button_title if visitor else " | ".join(b.title for b in turn.buttons),
            "action": "" if visitor else (turn.action or turn.utter_action or turn.handoff_kind or ""),
            "staff": turn.staff_name or "" if turn.is_staff else "",
            "topic": turn.topic or "" if visitor else "",
            "likely_topic": turn.likely_topic or "" if visitor else "",
        }


def conversation_records(
    store: ConsoleDatabase, since: float, until: float, threshold: float, tz: tzinfo
) -> Iterator[Dict[str, Any]]:
    """One summary line per conversation active in ``[since, until)``, in order of start.

    Built from the summary table, whose preview text is always stored sanitised and masked.
    """
    c = conversations.c
    m = messages.c
    missed_count = sa.select(sa.func.count()).where(m.sender_id == c.sender_id, missed(threshold)).scalar_subquery()
    flagged = sa.or_(c.hard_misses > 0, c.not_helpful > 0, c.min_confidence < threshold)
    query = (
        sa.select(
            c.sender_id,
            c.started_at,
            c.last_activity,
            c.visitor_messages,
            c.bot_messages,
            c.programs,
            c.intents,
            c.first_message,
            conversation_reviews.c.status,
            sa.case((flagged, missed_count), else_=0).label("missed_messages"),
        )
        .select_from(conversations.outerjoin(conversation_reviews, conversation_reviews.c.sender_id == c.sender_id))
        .where(c.visitor_messages > 0, c.last_activity >= since, c.started_at < until)
        .order_by(c.started_at, c.sender_id)
    )
    for row in store.stream(query):
        yield {
            "conversation_id": display_id(row["sender_id"]),
            "started": iso_time(row["started_at"], tz),
            "last_activity": iso_time(row["last_activity"], tz),
            "visitor_messages": row["visitor_messages"],
            "bot_messages": row["bot_messages"],
            "missed_messages": int(row["missed_messages"] or 0),
            "programs": " ".join(split_list(row["programs"])),
            "topics": " ".join(i for i in split_list(row["intents"]) if is_topic(i)),
            "review_status": row["status"] or "new",
            "first_message": clean_text(row["first_message"]),
        }


def _safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will show as text: formulas defused, nothing the csv module refuses."""
    if isinstance(value, str):
        value = clean_text(value)
        if value.startswith(_FORMULA_START):
            return "'" + value
    return value


def to_csv(records: Iterable[Mapping[str, Any]], fields: Sequence[str]) -> Iterator[str]:
    """CSV text in chunks of a few hundred rows, header first."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    rows = 0
    for record in records:
        writer.writerow({key: _safe_cell(value) for key, value in record.items()})
        rows += 1
        if rows % CHUNK_ROWS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def to_jsonl(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    lines: List[str] = []
    for record in records:
        lines.append(json.dumps(record, ensure_ascii=False))
        if len(lines) >= CHUNK_ROWS:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def export_chunks(
    store: ConsoleDatabase,
    kind: str,
    fmt: str,
    since: float,
    until: float,
    threshold: float,
    tz: tzinfo,
    unmask: bool = False,
) -> Iterator[str]:
    """The whole export as text chunks; the single entry point for the web view and the CLI."""
    if kind not in KINDS or fmt not in FORMATS:
        raise ValueError(f"Unknown export {kind!r} as {fmt!r}")
    if kind == "messages":
        records: Iterable[Dict[str, Any]] = message_records(store, since, until, threshold, tz, unmask)
        fields = MESSAGE_FIELDS
    else:
        records = conversation_records(store, since, until, threshold, tz)
        fields = CONVERSATION_FIELDS
    return to_csv(records, fields) if fmt == "csv" else to_jsonl(records)


def filename(kind: str, fmt: str, since_label: str, until_label: str) -> str:
    return f"heinz-assistant-{kind}-{since_label}-to-{until_label}.{fmt}"
