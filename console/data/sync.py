"""Keeps the console's summary tables up to date with Rasa's ``events`` table.

List pages, filters and charts must stay fast at 100,000 conversations, and aggregating raw events
(JSON in a text column) for every page view would not. So the console reads each new event once,
in id order, and folds it into ``staff_conversations`` (one row per conversation),
``staff_messages`` (one row per visitor question) and ``staff_answers`` (one row per reply of a known
answer type). ``staff_sync.watermark`` remembers the last id read.

Hand-offs and follow-ups (names in ``core.handoff``): while the ``handoff`` slot is ``queued`` or
``live``, or the follow-up form is asking, what the visitor writes is for a person (or is an answer
to the form), not a question for the assistant: it is stored with ``to_person`` set and never counts
as missed. That state is kept per conversation (``handoff_state``, ``in_form``) so a batch that
starts mid-conversation continues it. Staff messages (bot events marked by
``core.handoff.is_staff_event``) are not assistant replies. A ``followup_request`` slot event
becomes a row of ``staff_followups`` (:mod:`console.followups.inbox`); a malformed one is logged and skipped.

A feedback click (intent ``feedback``) is not a question: it marks the latest rateable answer
before it (and, for "not helpful", the question that answer replied to). A typed complaint (intent
``complain``, "that's not what I asked") is kept as the visitor's message and counts as "not helpful"
for the conversation; it marks an answer only when that answer replied to the message just before
it. The topic of an answer is the ``topic`` slot its action set right after it, before the next
action or visitor message; the question it replied to takes that topic too (the action may answer
another topic than the intent: :func:`console.data.events.question_topic`), and the conversation's
topics (``intents``, as ``ask_<topic>``) are its questions' topics. A message the NLU could not place
(a miss intent) whose reply was a topic answer is answered, not missed (``answered_unsure``;
:func:`console.data.events.answered_though_unsure`): it leaves the conversation's hard misses. A
question's ``likely_topic``, which the Missed page filters on, is the topic it was answered on
(:func:`console.data.events.answered_topic`), else the first topic a fallback reply offered for it
(:func:`console.data.events.suggested_topic`), read in the same batch or a later one.

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

from console.data.database import (
    ConsoleDatabase,
    answers,
    conversations,
    events,
    followups,
    in_chunks,
    messages,
    sync_state,
    upsert,
)
from console.data.events import (
    UserMessage,
    answered_though_unsure,
    answered_topic,
    load_data,
    normalise_text,
    parse_user,
    question_topic,
    slot_topic,
    suggested_topic,
)
from console.data.privacy import clean_value, conversation_ref, mask_text
from console.data.vocabulary import Vocabulary
from console.followups.inbox import request_row
from core.handoff import (
    ACTIVE_STATES,
    FOLLOWUP_FORM,
    FOLLOWUP_RECORD_SLOT,
    HANDOFF_SLOT,
    UNDECIDED_PROGRAM,
    is_staff_event,
)
from core.topics import (
    COMPLAINT_INTENT,
    FEEDBACK_ENTITY,
    FEEDBACK_INTENT,
    FOLLOWUP_TAKEN,
    HANDED_TO_PERSON,
    HANDOFF_TYPES,
    MISS_INTENTS,
    NOT_HELPFUL,
    RATED_TYPES,
    answer_type,
    feedback_value,
    intent_for,
    replies_out_of_scope,
    responses_of,
)

BATCH_SIZE = 5000
# How long a hole in the id sequence is watched for a late commit.
GAP_WINDOW_SECONDS = 600
MAX_PENDING = 5000
PREVIEW_LENGTH = 200
_SUMMARY_COLUMNS = [column.name for column in conversations.c if column.name not in ("sender_id", "ref")]
# Events after which Rasa's tracker has no slots and no active form (Tracker._reset).
_RESETS = ("session_started", "restart", "reset_slots")


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
    contact_suggestions: int = 0
    not_helpful: int = 0
    live_chats: int = 0
    followups: int = 0
    # The conversation's state after the batch (seeded with the stored state before it).
    handoff_state: Optional[str] = None
    in_form: bool = False

    @property
    def to_person(self) -> bool:
        """Whether what the visitor writes now is for a person (live hand-off) or the follow-up form."""
        return self.handoff_state in ACTIVE_STATES or self.in_form

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


@dataclass
class Folded:
    """What a batch of events adds: per-conversation deltas, question rows, answer rows, feedback
    clicks ``(sender, event id, "yes"/"no")``, typed complaints ``(sender, event id)``, topic slots
    ``(sender, event id, topic)`` whose answer is in an earlier batch, and answers ``(sender, event
    id)`` that set a topic for a question in an earlier batch."""

    deltas: Dict[str, ConversationDelta] = field(default_factory=dict)
    questions: List[Dict[str, Any]] = field(default_factory=list)
    answers: List[Dict[str, Any]] = field(default_factory=list)
    feedback: List[Tuple[str, int, str]] = field(default_factory=list)
    complaints: List[Tuple[str, int]] = field(default_factory=list)
    late_topics: List[Tuple[str, int, str]] = field(default_factory=list)
    late_questions: List[Tuple[str, int]] = field(default_factory=list)
    followups: List[Dict[str, Any]] = field(default_factory=list)
    # Out-of-scope replies ``(sender, event id)`` whose question is in an earlier batch.
    late_out_of_scope: List[Tuple[str, int]] = field(default_factory=list)
    # Fallback replies ``(event id, first suggested topic)`` whose question is in an earlier batch.
    late_suggestions: List[Tuple[int, str]] = field(default_factory=list)


def fold_events(
    rows: Iterable[Mapping[str, Any]],
    vocabulary: Vocabulary,
    stored: Optional[Mapping[str, Mapping[str, Any]]] = None,
) -> Folded:
    """Summarise a batch of event rows (in id order); ``stored``: the summary rows of the batch's
    conversations as they were before it (their hand-off and form state carries on)."""
    folded = Folded()
    stored = stored or {}
    asked: Dict[str, List[Dict[str, Any]]] = {}  # each sender's question rows in this batch, in order
    open_answer: Dict[str, Dict[str, Any]] = {}  # the answer whose action is still running, per sender
    # ... and the question it replied to, when that question is in this batch
    answered: Dict[str, Dict[str, Any]] = {}
    # Senders with an event earlier in this batch that ends an action's events (not a bot message or slot).
    interrupted: Set[str] = set()
    for row in rows:
        sender = row["sender_id"]
        delta = folded.deltas.get(sender)
        if delta is None:
            before = stored.get(sender) or {}
            delta = folded.deltas[sender] = ConversationDelta(
                handoff_state=before.get("handoff_state"), in_form=bool(before.get("in_form"))
            )
        delta.events += 1
        delta.add_time(row["timestamp"])
        kind = row["type_name"]
        if kind == "bot":
            data = load_data(row["data"])
            if is_staff_event(data.get("metadata")):
                continue  # a staff member's message: not an assistant reply
            delta.bot_messages += 1
            questions = asked.get(sender) or []
            answer = _fold_bot(delta, row, questions[-1]["event_id"] if questions else None)
            if answer is not None:
                _fold_suggestion(folded, questions, row["id"], suggested_topic(data))
                folded.answers.append(answer)
                open_answer[sender] = answer
                if questions:
                    answered[sender] = questions[-1]
                else:
                    answered.pop(sender, None)
                if replies_out_of_scope(answer["response"]):
                    if questions:
                        _fold_out_of_scope(delta, questions)
                    else:
                        folded.late_out_of_scope.append((sender, row["id"]))
            continue
        if kind == "slot":
            _fold_slot(delta, row, vocabulary)
            _fold_state_slot(folded, delta, row, vocabulary)
            topic = slot_topic(row)
            if topic is not None and sender in open_answer:
                answer = open_answer[sender]
                answer["topic"] = topic
                if sender in answered:
                    _fold_answered(delta, answered[sender], answer, asked[sender])
                else:
                    folded.late_questions.append((sender, answer["event_id"]))
            elif topic is not None and sender not in interrupted:
                folded.late_topics.append((sender, row["id"], topic))
            continue
        interrupted.add(sender)
        open_answer.pop(sender, None)
        answered.pop(sender, None)
        if kind in _RESETS:
            delta.handoff_state, delta.in_form = None, False
        elif kind == "active_loop":
            delta.in_form = row["action_name"] == FOLLOWUP_FORM
        if kind == "user":
            message = parse_user(load_data(row["data"]))
            if message.opens_chat:
                continue  # the widget greeting on opening: the visitor wrote nothing
            if message.intent == FEEDBACK_INTENT:
                value = next(filter(None, map(feedback_value, message.values_of(FEEDBACK_ENTITY))), None)
                if value:
                    folded.feedback.append((sender, row["id"], value))
                    if value == NOT_HELPFUL:
                        delta.not_helpful += 1
            else:
                question = _fold_user(delta, row, message, vocabulary)
                folded.questions.append(question)
                asked.setdefault(sender, []).append(question)
                if message.intent == COMPLAINT_INTENT:
                    folded.complaints.append((sender, row["id"]))
                    delta.not_helpful += 1
    return folded


def _hard_miss(intent: Optional[str]) -> bool:
    """Whether a message's intent alone makes it a miss (none, or a miss intent)."""
    return not intent or intent in MISS_INTENTS


def _fold_out_of_scope(delta: ConversationDelta, questions: List[Dict[str, Any]]) -> None:
    """The assistant said the latest of ``questions`` (this batch's, in order) is outside what it
    covers: it is a miss, and its intent is no topic the visitor asked about."""
    question = questions[-1]
    if question["to_person"] or question["clicked"] or question["out_of_scope"]:
        return
    question["out_of_scope"] = True
    if not _hard_miss(question["intent"]):
        delta.hard_misses += 1
    delta.intents = _asked_intents(questions)


def _fold_suggestion(folded: Folded, questions: List[Dict[str, Any]], answer_id: int, topic: Optional[str]) -> None:
    """A fallback reply offered ``topic`` first: the latest of ``questions`` (this batch's) is likely
    about it, or the question in an earlier batch that reply ``answer_id`` is linked to."""
    if topic is None:
        return
    if questions:
        questions[-1]["likely_topic"] = topic
    else:
        folded.late_suggestions.append((answer_id, topic))


def _fold_answered(
    delta: ConversationDelta, question: Dict[str, Any], answer: Mapping[str, Any], questions: List[Dict[str, Any]]
) -> None:
    """``answer`` to ``question`` (one of ``questions``, this batch's) set its topic: so was the question
    about it, and the conversation's topics follow; one the NLU could not place was answered."""
    question["topic"] = question_topic(question["intent"], answer["topic"])
    question["likely_topic"] = answered_topic(answer["response"], answer["topic"]) or question["likely_topic"]
    delta.intents = _asked_intents(questions)
    unsure = answered_though_unsure(question["intent"], answer["response"], answer["topic"])
    if unsure and not question["answered_unsure"]:
        question["answered_unsure"] = True
        delta.hard_misses -= 1 if _counted_hard_miss(question) else 0


def _counted_hard_miss(question: Mapping[str, Any]) -> bool:
    """Whether the question counts among the conversation's hard misses by its intent (:func:`_fold_user`)."""
    return not question["to_person"] and not question["clicked"] and _hard_miss(question["intent"])


def _asked_intent(question: Mapping[str, Any]) -> Optional[str]:
    """What a question adds to the conversation's ``intents``: its topic as ``ask_<topic>``, else its
    intent (small talk, a miss)."""
    return intent_for(question["topic"]) if question["topic"] else question["intent"]


def _asked_intents(questions: Iterable[Mapping[str, Any]]) -> Set[str]:
    """The topics (else intents) of questions put to the assistant (not to a person, not replied to as
    out of scope)."""
    asked = (_asked_intent(q) for q in questions if not q["to_person"] and not q["out_of_scope"])
    return {intent for intent in asked if intent}


def _fold_state_slot(folded: Folded, delta: ConversationDelta, row: Mapping[str, Any], vocabulary: Vocabulary) -> None:
    """The ``handoff`` slot (who owns the conversation) and a submitted follow-up request."""
    if row["action_name"] == HANDOFF_SLOT:
        value = load_data(row["data"]).get("value")
        delta.handoff_state = value if isinstance(value, str) and value in ACTIVE_STATES else None
    elif row["action_name"] == FOLLOWUP_RECORD_SLOT:
        value = load_data(row["data"]).get("value")
        if value is None:
            return  # the slot being emptied after a request
        request = request_row(row, value, vocabulary.normalise_program)
        if request is not None:
            folded.followups.append(request)
            if request["program"] != UNDECIDED_PROGRAM:
                delta.programs.add(request["program"])


def _fold_bot(delta: ConversationDelta, row: Mapping[str, Any], question: Optional[int]) -> Optional[Dict[str, Any]]:
    """The answer row of a bot message of a known answer type (``None`` for small talk)."""
    metadata = load_data(row["data"]).get("metadata")
    response = metadata.get("utter_action") if isinstance(metadata, dict) else None
    kind = answer_type(response if isinstance(response, str) else None)
    if kind is None:
        return None
    if kind in HANDOFF_TYPES:
        delta.contact_suggestions += 1
    elif kind == HANDED_TO_PERSON:
        delta.live_chats += 1
    elif kind == FOLLOWUP_TAKEN:
        delta.followups += 1
    return {
        "event_id": row["id"],
        "sender_id": row["sender_id"],
        "timestamp": row["timestamp"],
        "response": response,
        "topic": None,
        "question_id": question,
        "feedback": None,
    }


def _fold_slot(delta: ConversationDelta, row: Mapping[str, Any], vocabulary: Vocabulary) -> None:
    values = clean_value(load_data(row["data"]).get("value"))
    for value in values if isinstance(values, list) else [values]:
        program = vocabulary.normalise_program(value) if row["action_name"] == "program" else None
        if program:
            delta.programs.add(program)
        elif row["action_name"] == "track":
            _add_track(delta, value)


def _fold_user(
    delta: ConversationDelta, row: Mapping[str, Any], message: UserMessage, vocabulary: Vocabulary
) -> Dict[str, Any]:
    text = mask_text(message.text)
    delta.visitor_messages += 1
    # Written to a person or to the follow-up form: neither a miss nor a topic asked of the assistant.
    to_person = delta.to_person
    if not to_person and not message.clicked:  # a click names its intent itself: never a miss
        if _hard_miss(message.intent):
            delta.hard_misses += 1
        else:  # a miss intent's confidence is the fallback's threshold, not how sure the NLU was
            delta.min_confidence = _min(delta.min_confidence, message.confidence)
    delta.programs.update(filter(None, map(vocabulary.normalise_program, message.values_of("program"))))
    for name, value in message.entities:
        if name == "track":
            _add_track(delta, value)
    if delta.first_message is None and not text.startswith("/"):
        delta.first_message = text[:PREVIEW_LENGTH]
    question = {
        "event_id": row["id"],
        "sender_id": row["sender_id"],
        "timestamp": row["timestamp"],
        "text": text,
        "norm_text": normalise_text(text),
        "intent": message.intent,
        "confidence": message.confidence,
        "feedback": None,
        "to_person": to_person,
        "clicked": message.clicked,
        "out_of_scope": False,
        "topic": question_topic(message.intent, None),
        "answered_unsure": False,
        "likely_topic": None,
    }
    delta.intents.update(_asked_intents([question]))
    return question


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
        "contact_suggestions": (old.get("contact_suggestions") or 0) + delta.contact_suggestions,
        "not_helpful": (old.get("not_helpful") or 0) + delta.not_helpful,
        "live_chats": (old.get("live_chats") or 0) + delta.live_chats,
        "followups": (old.get("followups") or 0) + delta.followups,
        "handoff_state": delta.handoff_state,
        "in_form": delta.in_form,
    }


def apply_batch(connection: Connection, rows: List[Mapping[str, Any]], vocabulary: Vocabulary) -> None:
    """Fold ``rows`` into the summary tables (inside the caller's locked transaction)."""
    senders = list({row["sender_id"] for row in rows})
    existing: Dict[str, Mapping[str, Any]] = {}
    for chunk in in_chunks(senders):
        query = sa.select(conversations).where(conversations.c.sender_id.in_(chunk))
        existing.update({row._mapping["sender_id"]: row._mapping for row in connection.execute(query)})
    folded = fold_events(rows, vocabulary, existing)
    deltas = folded.deltas
    upsert(connection, messages, folded.questions, ["event_id"])
    upsert(connection, answers, folded.answers, ["event_id"])
    # Keyed by the event: a re-read (rebuild, late commit) never resets staff's work on a request.
    upsert(connection, followups, folded.followups, ["event_id"])
    _link_answers(connection, folded)
    _late_suggestions(connection, folded)
    restated = _late_topics(connection, folded, deltas)
    for sender, event_id in folded.late_out_of_scope:
        if _late_out_of_scope(connection, sender, event_id, deltas[sender]):
            restated.add(sender)
    for sender in restated:  # a stored question changed: the conversation's topics again from its questions
        existing[sender] = {**(existing.get(sender) or {}), "intents": _stored_intents(connection, sender)}
    if not deltas:
        return
    updates = [
        {"sender_id": sender_id, "ref": conversation_ref(sender_id), **merge(existing.get(sender_id), delta)}
        for sender_id, delta in deltas.items()
    ]
    upsert(connection, conversations, updates, ["sender_id"], _SUMMARY_COLUMNS)


def _late_out_of_scope(connection: Connection, sender: str, event_id: int, delta: ConversationDelta) -> bool:
    """An out-of-scope reply whose question is in an earlier batch: marks that question (a miss, counted
    in ``delta``); whether it changed."""
    question = connection.execute(
        sa.select(
            messages.c.event_id, messages.c.intent, messages.c.to_person, messages.c.clicked, messages.c.out_of_scope
        )
        .where(messages.c.sender_id == sender, messages.c.event_id < event_id)
        .order_by(messages.c.event_id.desc())
        .limit(1)
    ).first()
    if question is None or question.to_person or question.clicked or question.out_of_scope:
        return False
    connection.execute(sa.update(messages).where(messages.c.event_id == question.event_id).values(out_of_scope=True))
    if not _hard_miss(question.intent):
        delta.hard_misses += 1
    return True


def _stored_intents(connection: Connection, sender: str) -> str:
    """The conversation's ``intents`` from its stored questions (after one of them changed)."""
    m = messages.c
    rows = connection.execute(sa.select(m.intent, m.topic, m.to_person, m.out_of_scope).where(m.sender_id == sender))
    return _join(_asked_intents(row._mapping for row in rows))


def _late_topics(connection: Connection, folded: Folded, deltas: Mapping[str, ConversationDelta]) -> Set[str]:
    """Topics whose answer or question lies in an earlier batch: a ``topic`` slot read after its
    answer's batch gives the answer its topic, and either gives the question it replied to its topic
    (:func:`question_topic`), or marks it answered (counted in ``deltas``). Returns the conversations
    whose stored questions changed."""
    restated: Set[str] = set()
    for sender, slot_id, topic in folded.late_topics:
        answer_id = _answer_before(connection, sender, slot_id)
        if answer_id is not None:
            connection.execute(sa.update(answers).where(answers.c.event_id == answer_id).values(topic=topic))
            folded.late_questions.append((sender, answer_id))
    for sender, answer_id in folded.late_questions:
        if _settle_question(connection, answer_id, deltas[sender]):
            restated.add(sender)
    return restated


def _answer_before(connection: Connection, sender: str, slot_id: int) -> Optional[int]:
    """The answer a ``topic`` slot belongs to: the conversation's latest answer before it, when no
    event but bot messages and slots lies between (the same action's events, as fold_events reads them)."""
    ended = (
        sa.select(sa.func.max(events.c.id))
        .where(events.c.sender_id == sender, events.c.id < slot_id, events.c.type_name.not_in(["bot", "slot"]))
        .scalar_subquery()
    )
    a = answers.c
    query = sa.select(sa.func.max(a.event_id)).where(
        a.sender_id == sender, a.event_id < slot_id, a.event_id > sa.func.coalesce(ended, 0)
    )
    found = connection.execute(query).scalar()
    return int(found) if found is not None else None


def _settle_question(connection: Connection, answer_id: int, delta: ConversationDelta) -> bool:
    """The stored question answer ``answer_id`` replied to takes the topic the answer was about, and is
    marked answered if the NLU could not place it (its hard miss leaves ``delta``); whether it changed."""
    a, m = answers.c, messages.c
    row = connection.execute(
        sa.select(messages, a.topic.label("answered"), a.response)
        .select_from(answers.join(messages, m.event_id == a.question_id))
        .where(a.event_id == answer_id)
    ).first()
    if row is None:
        return False
    question = row._mapping
    values: Dict[str, Any] = {}
    topic = question_topic(question["intent"], question["answered"])
    if topic != question["topic"]:
        values["topic"] = topic
    likely = answered_topic(question["response"], question["answered"])
    if likely is not None and likely != question["likely_topic"]:
        values["likely_topic"] = likely
    unsure = answered_though_unsure(question["intent"], question["response"], question["answered"])
    if unsure and not question["answered_unsure"]:
        values["answered_unsure"] = True
        delta.hard_misses -= 1 if _counted_hard_miss(question) else 0
    if values:
        connection.execute(sa.update(messages).where(m.event_id == question["event_id"]).values(**values))
    return bool(values)


def _late_suggestions(connection: Connection, folded: Folded) -> None:
    """Fallback replies whose question lies in an earlier batch: that question (the one
    :func:`_link_answers` linked the reply to) is likely about the topic the reply offered first."""
    if not folded.late_suggestions:
        return
    a = answers.c
    question = sa.select(a.question_id).where(a.event_id == sa.bindparam("answer_id")).scalar_subquery()
    update = sa.update(messages).where(messages.c.event_id == question).values(likely_topic=sa.bindparam("offered"))
    connection.execute(update, [{"answer_id": i, "offered": t} for i, t in folded.late_suggestions])


def _link_answers(connection: Connection, folded: Folded) -> None:
    """Fill in what lies in earlier batches: the question an answer replied to, and the answer each
    feedback click rates (topics: :func:`_late_topics`)."""
    a = answers.c
    unlinked = [row["event_id"] for row in folded.answers if row["question_id"] is None]
    latest_question = (
        sa.select(sa.func.max(messages.c.event_id))
        .where(messages.c.sender_id == a.sender_id, messages.c.event_id < a.event_id)
        .scalar_subquery()
    )
    for chunk in in_chunks(unlinked):
        connection.execute(sa.update(answers).where(a.event_id.in_(chunk)).values(question_id=latest_question))
    rated = responses_of(RATED_TYPES)
    for sender, event_id, value in folded.feedback:
        latest = sa.select(a.event_id, a.question_id).where(
            a.sender_id == sender, a.event_id < event_id, a.response.in_(rated)
        )
        _rate(connection, latest, value)
    for sender, event_id in folded.complaints:
        previous = (
            sa.select(sa.func.max(messages.c.event_id))
            .where(messages.c.sender_id == sender, messages.c.event_id < event_id)
            .scalar_subquery()
        )
        latest = sa.select(a.event_id, a.question_id).where(
            a.sender_id == sender, a.event_id < event_id, a.question_id == previous, a.response.in_(rated)
        )
        _rate(connection, latest, NOT_HELPFUL)


def _rate(connection: Connection, candidates: Any, value: str) -> None:
    """Marks the newest of ``candidates`` (a select of answers' event and question ids) with the
    visitor's feedback, and the question it answered too."""
    a = answers.c
    answer = connection.execute(candidates.order_by(a.event_id.desc()).limit(1)).first()
    if answer is None:
        return
    connection.execute(sa.update(answers).where(a.event_id == answer.event_id).values(feedback=value))
    if answer.question_id is not None:
        connection.execute(sa.update(messages).where(messages.c.event_id == answer.question_id).values(feedback=value))


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

    def __init__(self, store: ConsoleDatabase, vocabulary: Vocabulary, batch_size: int = BATCH_SIZE) -> None:
        self.store = store
        self.vocabulary = vocabulary
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
            return int(connection.execute(sa.select(sync_state.c.watermark)).scalar() or 0)

    def _idle(self) -> bool:
        """Nothing new and no hole to watch: skip the write transaction (most page views)."""
        with self.store.connect() as connection:
            state = connection.execute(sa.select(sync_state.c.watermark, sync_state.c.pending)).one()
            latest = self.store.max_event_id(connection)
        return latest == int(state.watermark) and state.pending in ("[]", "", None)

    def _batch(self) -> Tuple[int, int, int]:
        now = time.time()
        with self.store.session_scope() as connection:
            lock(connection)
            state = connection.execute(sa.select(sync_state.c.watermark, sync_state.c.pending)).one()
            watermark = int(state.watermark)
            pending = [item for item in json.loads(state.pending or "[]") if item[1] >= now - GAP_WINDOW_SECONDS]
            latest = self.store.max_event_id(connection)
            if latest < watermark:
                # Events were deleted and SQLite reuses freed ids: restart from what is left.
                watermark, pending = latest, []
            rows = self.store.events_after(connection, watermark, self.batch_size)
            late = self.store.events_by_ids(connection, [item[0] for item in pending])
            apply_batch(connection, late + rows, self.vocabulary)
            found = {row["id"] for row in late}
            pending = [item for item in pending if item[0] not in found]
            pending += [[gap, now] for gap in _find_gaps(watermark, rows, now)]
            if rows:
                watermark = rows[-1]["id"]
            connection.execute(
                sa.update(sync_state).values(watermark=watermark, pending=json.dumps(pending[-MAX_PENDING:]))
            )
        return len(rows) + len(late), watermark, latest

    def rebuild(self) -> SyncResult:
        """Forget the summaries and read every event again (after changing masking rules, say)."""
        with self.store.session_scope() as connection:
            lock(connection)
            connection.execute(sa.delete(messages))
            connection.execute(sa.delete(answers))
            connection.execute(sa.delete(conversations))
            connection.execute(sa.update(sync_state).values(watermark=0, pending="[]"))
        return self.run()


def reset_watermark(store: ConsoleDatabase, connection: Connection) -> None:
    """After a purge: SQLite may hand deleted ids out again, so never sit above the last id."""
    latest = store.max_event_id(connection)
    connection.execute(sa.update(sync_state).where(sync_state.c.watermark > latest).values(watermark=latest))


def lock(connection: Connection) -> None:
    """Take the summaries' lock for this transaction: updating the one ``staff_sync`` row takes the
    database's write lock (SQLite) or that row's lock (PostgreSQL), so catch-ups and purges queue."""
    connection.execute(sa.update(sync_state).values(updated_at=time.time()))
