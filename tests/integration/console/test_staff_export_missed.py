"""The streamed messages export says "missed" where the Missed page does, on SQLite and PostgreSQL.

Two replies come after the question they decide: "I can only answer about MISM and MSIT" (the question
was out of scope, whatever its intent) and a "not helpful" rating of its answer (clicked or typed).
The export writes each row once, so it holds a question back until those could still come, and no
longer than a bounded look-back.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Dict, Iterable, Iterator, List, Tuple

import pytest
import sqlalchemy as sa

from console.data.database import events, messages
from console.data.dates import day_range, local_day
from console.data.events import TurnBuilder
from console.data.privacy import mask_value
from console.data.queries import missed
from console.exports.formats import export_chunks
from tests.support.console_events import (
    DAY,
    NOW,
    feedback_click,
    seed_with,
    start,
    typed_answer,
    typed_complaint,
    user,
)

RATED_QUESTION = "how much does the MISM program cost"
COMPLAINED_QUESTION = "what do i need to get into msit"
OTHER_DEGREE_QUESTION = "when is the MSPPM deadline?"
ANSWERED_QUESTION = "is there an application fee for msit"


@pytest.fixture
def seeded(db_url) -> str:
    """The shared conversations, plus three whose events interleave in time: a question whose answer
    is rated "not helpful", one complained about in words, one replied to as out of scope, and one
    answered and left alone."""
    t = NOW - 1 * DAY + 3600
    rated = (
        start(t)
        + [user(RATED_QUESTION, "ask_cost", 0.97, t + 1)]
        + typed_answer("Cost, MISM: tuition is on the official page.", t + 2, "utter_answer", "cost")
        + feedback_click("no", t + 20)
        + [user(ANSWERED_QUESTION, "ask_application_fee", 0.96, t + 40)]
        + typed_answer("Application fee, MSIT: $75.", t + 41, "utter_answer", "application_fee")
    )
    complained = (
        start(t + 3)
        + [user(COMPLAINED_QUESTION, "ask_requirements", 0.92, t + 4)]
        + typed_answer("Requirements, MSIT: a bachelor's degree …", t + 5, "utter_answer", "requirements")
        + typed_complaint("thats not what i asked", t + 30)
    )
    other_degree = (
        start(t + 6)
        + [user(OTHER_DEGREE_QUESTION, "ask_deadlines", 0.96, t + 7, [{"entity": "other_program", "value": "MSPPM"}])]
        + typed_answer("I can only answer questions about … MISM and MSIT.", t + 8, "utter_other_program")
    )
    return seed_with(
        db_url, {"visitor-rated": rated, "visitor-complained": complained, "visitor-other-degree": other_degree}
    )


def exported(console, fmt: str = "csv") -> List[Dict[str, Any]]:
    since = local_day(NOW - 500 * DAY, console.tz)
    start_at, end_at = day_range(since, local_day(NOW, console.tz), console.tz)
    text = "".join(export_chunks(console.store, "messages", fmt, start_at, end_at, console.threshold, console.tz))
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text)))
    return [json.loads(line) for line in text.splitlines()]


def test_the_export_marks_missed_what_the_missed_page_lists(console):
    for fmt in ("csv", "jsonl"):
        rows = exported(console, fmt)
        reasons = {row["text"]: row["missed"] for row in rows if row["speaker"] == "visitor"}
        assert reasons[RATED_QUESTION] == "not helpful", fmt
        assert reasons[COMPLAINED_QUESTION] == "not helpful", fmt
        assert reasons[OTHER_DEGREE_QUESTION] == "out of scope", fmt
        assert reasons[ANSWERED_QUESTION] == "", fmt
        # Every visitor message, the shared conversations' too: missed in the export exactly when the
        # summaries behind the Missed page count it missed.
        in_export = {int(row["event_id"]) for row in rows if row["speaker"] == "visitor" and row["missed"]}
        listed = {
            row["event_id"]
            for row in console.store.rows(sa.select(messages.c.event_id).where(missed(console.threshold)))
        }
        assert in_export == listed, fmt


def test_the_export_stays_oldest_first(console):
    """Holding a question back does not reorder the stream: the conversations above interleave."""
    ids = [int(row["event_id"]) for row in exported(console)]
    times = {row["id"]: row["timestamp"] for row in console.store.rows(sa.select(events.c.id, events.c.timestamp))}
    assert [(times[i], i) for i in ids] == sorted((times[i], i) for i in ids)
    senders = [row["conversation_id"] for row in exported(console)]
    assert senders.index("visitor-complained") < len(senders) - 1 - senders[::-1].index("visitor-rated")


def question_rows(asked: List[Tuple[str, float]]) -> Iterator[Dict[str, Any]]:
    """Event rows of questions ``(conversation, time)``, each answered at once, in that order."""
    parse = {"intent": {"name": "ask_cost", "confidence": 0.9}}
    answer = {"text": "Cost: on the official page.", "metadata": {"utter_action": "utter_answer"}}
    for n, (sender, at) in enumerate(asked):
        question = {"text": f"question {n}", "parse_data": parse}
        for offset, (kind, data) in enumerate((("user", question), ("bot", answer))):
            row_id = 2 * n + offset + 1
            yield {"id": row_id, "sender_id": sender, "type_name": kind, "timestamp": at, "data": json.dumps(data)}


def test_the_look_back_is_bounded():
    """However many conversations are open, at most ``max_held`` turns wait; a question whose rating
    never comes is written once ``settle_seconds`` of the stream have passed."""
    read: List[Dict[str, Any]] = []

    def counted(rows: Iterable[Dict[str, Any]]) -> Iterator[Dict[str, Any]]:
        for row in rows:
            read.append(row)
            yield row

    # 2,000 conversations asking at once: each question stays open (no next question yet).
    at_once = [(f"visitor-{n}", 1000.0 + n) for n in range(2000)]
    stream = TurnBuilder(0.5, mask_value).settled(counted(question_rows(at_once)), max_held=100)
    for written, _ in enumerate(stream, start=1):
        assert len(read) - written <= 100
    assert len(read) == 4000
    # One visitor asks once and leaves; another asks every minute for three hours.
    read.clear()
    asked = [("visitor-left", 1000.0)] + [("visitor-stays", 1000.0 + 60 * (n + 1)) for n in range(180)]
    stream = TurnBuilder(0.5, mask_value).settled(counted(question_rows(asked)), settle_seconds=300)
    for written, _ in enumerate(stream, start=1):
        assert len(read) - written <= 2 * 7, "no more than five minutes of the stream wait"
