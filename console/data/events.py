"""Reading Rasa tracker events (rows of the ``events`` table) into what staff look at.

Rasa stores each event as JSON in ``events.data`` (see ``SQLTrackerStore.save``). This module is the
only place that knows that JSON's shape: visitor messages (``user``), bot messages (``bot``), the
actions that produced them (``action``), slots (``slot``) and session starts. Everything else in the
console works with :class:`Turn` objects and the small helpers below.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

from console.data.database import MAX_EVENT_DATA
from console.data.privacy import clean_text, clean_value
from core.handoff import ACTIVE_STATES, FOLLOWUP_FORM, HANDOFF_EVENT_KEY, HANDOFF_SLOT, STAFF_NAME_KEY, is_staff_event
from core.topics import (
    ANSWER_TYPE_LABELS,
    COMPLAINT_INTENT,
    FALLBACK_TYPE,
    FEEDBACK_ENTITY,
    FEEDBACK_INTENT,
    GREETING_PAYLOAD,
    MISS_ACTION,
    MISS_INTENTS,
    NOT_HELPFUL,
    OUT_OF_SCOPE_INTENT,
    RATED_TYPES,
    TOPIC_SLOT,
    answer_type,
    asks_feedback,
    feedback_value,
    intent_for,
    replies_out_of_scope,
    topic_for,
)

# Actions that only mark turn boundaries; the transcript does not show them.
SILENT_ACTIONS = frozenset({"action_listen", "action_session_start"})
# Actions that answer a miss: the assistant's own and Rasa's default.
FALLBACK_ACTIONS = frozenset({MISS_ACTION, "action_default_fallback"})
NAME_LIMIT = 255
# What staff read for a feedback click, instead of its payload.
FEEDBACK_LABELS = {"yes": "Helpful", "no": "Not helpful"}
# Why a question whose answer the visitor marked "not helpful" is in the missed queue.
NOT_HELPFUL_REASON = "not helpful"
# Why a question the assistant replied to as outside what it covers is missed, whatever its intent.
OUT_OF_SCOPE_REASON = MISS_INTENTS[OUT_OF_SCOPE_INTENT]
# How long a streamed export waits, in the stream's own time, for what may still change a turn (a
# "not helpful" click on an answer, the reply to a question): Rasa's session expiry (domain.yml), after
# which a visitor is rarely still reading the answer; and at most this many turns are held meanwhile.
SETTLE_SECONDS = 3600.0
MAX_HELD_TURNS = 20_000
# Slots Rasa keeps for itself, never shown to staff: ``session_started_metadata`` (Rasa's
# ``SESSION_START_METADATA_SLOT``) holds the widget's metadata of the session's first message.
HIDDEN_SLOTS = frozenset({"session_started_metadata"})


def too_large_note(length: Any) -> str:
    """What staff see instead of an event too large to read (stored before the chat edge limited size)."""
    return f"[message too large to show: {int(length or 0):,} characters stored]"


def normalise_text(text: str) -> str:
    """Case, punctuation and spacing removed, so "What's the GPA?" groups with "whats the gpa"."""
    lowered = re.sub(r"[’'`]", "", (text or "").lower())
    return " ".join(re.sub(r"[^\w\s]|_", " ", lowered).split())[:500]


def miss_reason(intent: Optional[str], confidence: Optional[float], threshold: float) -> Optional[str]:
    """Why a visitor message counts as missed, or ``None`` when the assistant understood it."""
    if not intent:
        return "not classified"
    if intent in MISS_INTENTS:
        return MISS_INTENTS[intent]
    if confidence is not None and confidence < threshold:
        return "low confidence"
    return None


def question_topic(intent: Optional[str], answered: Optional[str]) -> Optional[str]:
    """The topic of a visitor's question, as every count, filter and export of the console has it: the
    topic its answer was about when the answering action set one (``answered``, the ``topic`` slot
    after the reply), else its intent's. The action may answer another topic than the NLU's intent
    ("how much is that?" right after the deposit is classified as cost, answered as the deposit), and
    staff count a question where it was answered."""
    return answered or topic_for(intent)


def answered_though_unsure(intent: Optional[str], response: Optional[str], answered: Optional[str]) -> bool:
    """Whether a message the NLU could not place (a miss intent: ``nlu_fallback``, ``out_of_scope``) was
    answered all the same: its reply is a topic answer (an answer type the visitor may rate, not the
    likeliest topics or the honest miss) and the action set the topic slot after it (a short follow-up
    of the topic being discussed, "ok what about msit"). Staff see it as answered, not missed; the
    Missed page still lists it on request, as wording the NLU should learn."""
    return bool(answered) and intent in MISS_INTENTS and answer_type(response) in RATED_TYPES


def answered_topic(response: Optional[str], answered: Optional[str]) -> Optional[str]:
    """The topic a question was answered on: the ``topic`` slot after its reply when that reply is an
    answer (a type the visitor may rate), so a question marked "not helpful" or answered though unsure
    is likely about it; ``None`` after any other reply (the likeliest topics, a miss)."""
    return answered if answer_type(response) in RATED_TYPES else None


def suggested_topic(data: Mapping[str, Any]) -> Optional[str]:
    """The first topic a fallback reply (a bot event's JSON) offered as a button, the likeliest topic
    the assistant saw in a question it could not place: what that question is likely about. The
    "English only" reply offers "Talk to a person" before its topics. ``None`` for another reply, or
    one that offers no topic (the honest miss)."""
    metadata = data.get("metadata")
    response = metadata.get("utter_action") if isinstance(metadata, dict) else None
    if answer_type(response if isinstance(response, str) else None) != FALLBACK_TYPE:
        return None
    for button in buttons_of(data):
        asked = parse_payload(button.payload)
        topic = _name(topic_for(asked[0])) if asked else None
        if topic:
            return topic
    return None


def slot_topic(row: Mapping[str, Any]) -> Optional[str]:
    """The topic a ``topic`` slot event (a row of ``events``) sets, sanitised; ``None`` for another
    slot, an emptied one or a value that is no name."""
    data = load_data(row.get("data"))
    if _name(row.get("action_name") or data.get("name")) != TOPIC_SLOT:
        return None
    value = clean_value(data.get("value"))
    return _name(value) if isinstance(value, str) else None


def load_data(raw: Any) -> Dict[str, Any]:
    """``events.data`` as a dict; damaged rows become empty dicts instead of breaking a page.

    ``raw`` is ``None`` for rows the query left out because their JSON is over
    ``MAX_EVENT_DATA`` characters, so no single row can make a page parse megabytes.
    """
    if isinstance(raw, dict):
        return raw
    try:
        data = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class UserMessage:
    """The facts of one visitor message that the console stores and filters on."""

    text: str
    intent: Optional[str]
    confidence: Optional[float]
    entities: List[Tuple[str, Any]]
    ranking: List[Tuple[str, float]]

    def values_of(self, entity: str) -> List[Any]:
        return [value for name, value in self.entities if name == entity]

    @property
    def clicked(self) -> bool:
        """Sent by a button (``/intent{...}``): Rasa takes its intent as given, so it is never a missed question."""
        return parse_payload(self.text) is not None

    @property
    def opens_chat(self) -> bool:
        """The widget's greeting payload, sent when the chat opens: not something the visitor wrote."""
        return self.text.strip() == GREETING_PAYLOAD


def _name(value: Any) -> Optional[str]:
    """An intent, entity or action name as stored: sanitised, bounded, ``None`` when empty."""
    return clean_text(value, NAME_LIMIT) or None if value else None


def parse_user(data: Mapping[str, Any]) -> UserMessage:
    """A visitor message from its event JSON, every string in it sanitised (:func:`clean_text`)."""
    parse_data = data.get("parse_data") or {}
    parse_data = parse_data if isinstance(parse_data, dict) else {}
    intent = parse_data.get("intent") or {}
    entities = [
        (clean_text(item.get("entity"), NAME_LIMIT), clean_value(item.get("value")))
        for item in (parse_data.get("entities") or [])[:50]
        if isinstance(item, dict) and item.get("entity")
    ]
    ranking = [
        (clean_text(item.get("name"), NAME_LIMIT), _float(item.get("confidence")) or 0.0)
        for item in (parse_data.get("intent_ranking") or [])[:10]
        if isinstance(item, dict) and item.get("name")
    ]
    return UserMessage(
        text=clean_text(data.get("text")),
        intent=_name(intent.get("name")) if isinstance(intent, dict) else None,
        confidence=_float(intent.get("confidence")) if isinstance(intent, dict) else None,
        entities=entities,
        ranking=ranking,
    )


def _float(value: Any) -> Optional[float]:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def parse_payload(text: str) -> Optional[Tuple[str, Any]]:
    """``/inform{"program":"msit"}`` -> ``("inform", {"program": "msit"})``; ``None`` for plain text."""
    match = re.fullmatch(r"\s*/([\w.\-]+)\s*(\{.*\})?\s*", text or "", flags=re.S)
    if not match:
        return None
    entities: Any = None
    if match.group(2):
        try:
            entities = json.loads(match.group(2))
        except ValueError:
            entities = match.group(2)
    return match.group(1), entities


def same_payload(typed: str, offered: str) -> bool:
    if (typed or "").strip() == (offered or "").strip():
        return True
    parsed = parse_payload(typed)
    return parsed is not None and parsed == parse_payload(offered)


@dataclass
class Button:
    title: str
    payload: str
    clicked: bool = False


def buttons_of(data: Mapping[str, Any]) -> List[Button]:
    """The buttons of a bot message (its event JSON), sanitised, in the order the visitor saw them."""
    payload = data.get("data") or {}
    payload = payload if isinstance(payload, dict) else {}
    return [
        Button(title=clean_text(b.get("title"), NAME_LIMIT), payload=clean_text(b.get("payload"), 1000))
        for b in (payload.get("buttons") or payload.get("quick_replies") or [])[:50]
        if isinstance(b, dict)
    ]


@dataclass
class Turn:
    """One line of a transcript: a visitor message, a bot message or a marker between them."""

    event_id: int
    sender_id: str
    kind: str  # visitor | bot | session | slot | action | opened (the widget's greeting on opening)
    timestamp: Optional[float]
    text: str = ""
    intent: Optional[str] = None
    confidence: Optional[float] = None
    entities: List[Tuple[str, Any]] = field(default_factory=list)
    ranking: List[Tuple[str, float]] = field(default_factory=list)
    miss_reason: Optional[str] = None
    # A visitor question: its topic (:func:`question_topic`), once its answer's ``topic`` slot is read.
    topic: Optional[str] = None
    # A visitor question the NLU could not place, answered all the same (:func:`answered_though_unsure`).
    answered_unsure: bool = False
    # A visitor question: what it was likely about, as the Missed page has it (``staff_messages.likely_topic``):
    # the topic it was answered on, else the first topic its fallback reply offered.
    likely_topic: Optional[str] = None
    payload: Optional[str] = None
    button_title: Optional[str] = None
    buttons: List[Button] = field(default_factory=list)
    action: Optional[str] = None
    policy: Optional[str] = None
    action_confidence: Optional[float] = None
    utter_action: Optional[str] = None
    slot_value: Any = None
    # A visitor turn: the feedback click it is ("yes" / "no"). A bot turn: the feedback it received.
    feedback: Optional[str] = None
    # A bot turn written by a person in a live hand-off: their display name and the kind of event
    # ("message", "joined", "handed_back", ...; core.handoff).
    staff_name: Optional[str] = None
    handoff_kind: Optional[str] = None

    @property
    def missed(self) -> bool:
        return self.miss_reason is not None

    @property
    def likely_intent(self) -> Optional[str]:
        """The intent of :attr:`likely_topic`, as staff assign a topic (the console's topic choices)."""
        return intent_for(self.likely_topic) if self.likely_topic else None

    @property
    def is_staff(self) -> bool:
        """Written by a staff member (a message or an announcement), not by the assistant."""
        return self.handoff_kind is not None

    @property
    def speaker(self) -> str:
        """Who wrote the turn, as transcripts and exports name it: "Jane (staff)" for a person."""
        if self.kind == "visitor":
            return "Visitor"
        if self.is_staff:
            return f"{self.staff_name or 'Admissions'} (staff)"
        return "Assistant"

    @property
    def is_feedback(self) -> bool:
        return self.kind == "visitor" and self.intent == FEEDBACK_INTENT

    @property
    def feedback_label(self) -> str:
        """ "Helpful" / "Not helpful" ("Feedback" for a click whose value cannot be read)."""
        return FEEDBACK_LABELS.get(self.feedback or "", "Feedback")

    @property
    def answer_type(self) -> Optional[str]:
        """The bot message's answer type label ("Known unknown"), ``None`` for small talk."""
        kind = answer_type(self.utter_action)
        return ANSWER_TYPE_LABELS[kind] if kind else None

    @property
    def is_fallback_action(self) -> bool:
        return self.action in FALLBACK_ACTIONS


def _answered(context: "_Context", topic: Optional[str]) -> None:
    """The ``topic`` slot the running action set after its answer: the question it answered was about
    that topic (:func:`question_topic`), and one the NLU could not place was answered, not missed."""
    question, answer = context.question, context.answer
    if topic is None or answer is None or question is None:
        return
    question.topic = question_topic(question.intent, topic)
    question.likely_topic = answered_topic(answer.utter_action, topic) or question.likely_topic
    if answered_though_unsure(question.intent, answer.utter_action, topic):
        question.answered_unsure, question.miss_reason = True, None


def _rate(context: "_Context", value: Optional[str]) -> None:
    """The visitor's feedback on the answer just before it (for "not helpful", its question becomes
    a miss, unless it was a button click); then nothing is left to rate until the next answer."""
    if context.rated is not None:
        context.rated.feedback = value
        question = context.rated_question
        if value == NOT_HELPFUL and question is not None and question.miss_reason is None and not question.payload:
            question.miss_reason = NOT_HELPFUL_REASON
    context.rated = context.rated_question = None


@dataclass
class _Context:
    """What the builder remembers about one conversation between two rows of it."""

    action: Optional[str] = None
    policy: Optional[str] = None
    action_confidence: Optional[float] = None
    offered: List[Button] = field(default_factory=list)
    rated: Optional["Turn"] = None  # the latest answer the visitor could rate
    rated_question: Optional["Turn"] = None  # the visitor message that answer replied to
    question: Optional["Turn"] = None  # the latest visitor message that was not a feedback click
    # The latest reply of an answer type in the running action: the ``topic`` slot after it says what
    # the question was about (any other event but a bot message or a slot ends the action's events).
    answer: Optional["Turn"] = None
    # The visitor is writing to a person (live hand-off) or answering the follow-up form: no misses.
    handoff_state: Optional[str] = None
    in_form: bool = False

    @property
    def to_person(self) -> bool:
        return self.handoff_state in ACTIVE_STATES or self.in_form

    def holds(self, turn: Turn) -> bool:
        """Whether a later event may still change ``turn``: the latest question (its reply may say it
        is out of scope) and the answer the visitor may rate, with the question it replied to."""
        return any(turn is held for held in (self.question, self.rated, self.rated_question))

    def release(self, turn: Turn) -> None:
        """Forget ``turn`` as one a later event may change (it has been written out)."""
        if self.question is turn:
            self.question = None
        if self.rated is turn or self.rated_question is turn:
            self.rated = self.rated_question = None


class TurnBuilder:
    """Builds :class:`Turn` objects from event rows in id order.

    Two facts need the rows before: which action produced a bot message (the ``action`` event just
    before it) and which button a payload message clicked (the buttons of the bot messages since the
    visitor last wrote). And later rows change earlier turns: a reply saying a question is out of scope,
    and a "not helpful" click, make the question missed. The builder keeps that context per
    conversation, bounded to the most recent ``max_conversations``; a streamed export reads the turns
    through :meth:`settled`, which holds back only the turns a later row may still change.
    """

    def __init__(self, threshold: float, mask: Callable[[Any], Any], max_conversations: int = 20_000) -> None:
        self.threshold = threshold
        self.mask = mask
        self.max_conversations = max_conversations
        self._contexts: "OrderedDict[str, _Context]" = OrderedDict()

    def _context(self, sender_id: str) -> _Context:
        context = self._contexts.pop(sender_id, None) or _Context()
        self._contexts[sender_id] = context
        if len(self._contexts) > self.max_conversations:
            self._contexts.popitem(last=False)
        return context

    def feed(self, row: Mapping[str, Any]) -> Optional[Turn]:
        """Turn one row (id, sender_id, type_name, timestamp, action_name, data) into a turn."""
        kind = row["type_name"]
        sender_id = row["sender_id"]
        context = self._context(sender_id)
        base: Dict[str, Any] = dict(event_id=row["id"], sender_id=sender_id, timestamp=row["timestamp"])
        if kind not in ("bot", "slot"):
            context.answer = None
        if kind == "action":
            return self._action(row, context, base)
        if kind in ("user", "bot") and row.get("data") is None and (row.get("data_length") or 0) > MAX_EVENT_DATA:
            return Turn(kind="visitor" if kind == "user" else "bot", text=too_large_note(row["data_length"]), **base)
        if kind == "user":
            return self._visitor(load_data(row["data"]), context, base)
        if kind == "bot":
            return self._bot(load_data(row["data"]), context, base)
        if kind == "slot":
            data = load_data(row["data"])
            name = _name(row.get("action_name") or data.get("name"))
            if name == HANDOFF_SLOT:
                value = data.get("value")
                context.handoff_state = value if isinstance(value, str) else None
            _answered(context, slot_topic(row))
            if name in HIDDEN_SLOTS:
                return None
            return Turn(
                kind="slot",
                action=name,
                slot_value=self.mask(clean_value(data.get("value"))),
                **base,
            )
        if kind == "session_started":
            context.offered = []
            context.handoff_state, context.in_form = None, False
            return Turn(kind="session", **base)
        if kind == "active_loop":
            context.in_form = row.get("action_name") == FOLLOWUP_FORM
        elif kind in ("restart", "reset_slots"):
            context.handoff_state, context.in_form = None, False
        return None

    def _action(self, row: Mapping[str, Any], context: _Context, base: Dict[str, Any]) -> Optional[Turn]:
        name = _name(row.get("action_name"))
        if name in SILENT_ACTIONS:
            return None
        data = load_data(row.get("data"))
        context.action = name
        context.policy = _name(data.get("policy"))
        context.action_confidence = _float(data.get("confidence"))
        return Turn(
            kind="action", action=name, policy=context.policy, action_confidence=context.action_confidence, **base
        )

    def _visitor(self, data: Mapping[str, Any], context: _Context, base: Dict[str, Any]) -> Turn:
        message = parse_user(data)
        if message.opens_chat:
            # The widget greeting on opening: a marker, neither a visitor message nor a question.
            context.offered, context.action = [], None
            return Turn(kind="opened", intent=message.intent, **base)
        asks_assistant = not (context.to_person or message.clicked)
        turn = Turn(
            kind="visitor",
            text=self.mask(message.text),
            intent=message.intent,
            confidence=message.confidence,
            entities=[(name, self.mask(value)) for name, value in message.entities],
            ranking=message.ranking[:5],
            miss_reason=miss_reason(message.intent, message.confidence, self.threshold) if asks_assistant else None,
            topic=question_topic(message.intent, None),
            **base,
        )
        if message.intent == FEEDBACK_INTENT:
            # Not a question: the click rates the answer just before it (never a miss, no raw payload).
            values = [feedback_value(value) for value in message.values_of(FEEDBACK_ENTITY)]
            turn.feedback = next(filter(None, values), None)
            turn.miss_reason = None
            turn.text = f"Feedback on the answer: {turn.feedback_label}"
            _rate(context, turn.feedback)
            context.action = None
            return turn
        if message.intent == COMPLAINT_INTENT:
            _rate(context, NOT_HELPFUL)  # typed ("that's not what I asked"): shown as written
        context.rated = context.rated_question = None
        context.question = turn
        if parse_payload(message.text):
            turn.payload = turn.text
            clicked = next((b for b in context.offered if same_payload(message.text, b.payload)), None)
            if clicked:
                clicked.clicked = True
                turn.button_title = clicked.title
        context.offered = []
        context.action = None
        return turn

    def _bot(self, data: Mapping[str, Any], context: _Context, base: Dict[str, Any]) -> Turn:
        buttons = buttons_of(data)
        context.offered = (context.offered + buttons)[-50:]
        metadata = data.get("metadata") or {}
        turn = Turn(
            kind="bot",
            # The assistant's own words (e.g. the admissions office's public e-mail) are not masked.
            text=clean_text(data.get("text")),
            buttons=buttons,
            action=context.action,
            policy=context.policy,
            action_confidence=context.action_confidence,
            utter_action=_name(metadata.get("utter_action")) if isinstance(metadata, dict) else None,
            **base,
        )
        if is_staff_event(metadata):
            turn.handoff_kind = _name(metadata[HANDOFF_EVENT_KEY])
            turn.staff_name = clean_text(metadata.get(STAFF_NAME_KEY), 80) or None
            turn.action = turn.policy = turn.action_confidence = None
        if answer_type(turn.utter_action) is not None and not turn.is_staff:
            context.answer = turn
        if asks_feedback(turn.utter_action):
            context.rated, context.rated_question = turn, context.question
        question = context.question
        offered = suggested_topic(data)
        if offered is not None and question is not None:
            question.likely_topic = offered
        if replies_out_of_scope(turn.utter_action) and question is not None and question.miss_reason is None:
            # "I can only answer about MISM and MSIT": the question was not answered, whatever its intent.
            if not (context.to_person or question.payload):
                question.miss_reason = OUT_OF_SCOPE_REASON
        return turn

    def build(self, rows: Iterable[Mapping[str, Any]]) -> Iterator[Turn]:
        """Each row's turn at once: read them after the last row (a transcript builds a list), since a
        later row may still change an earlier turn."""
        for row in rows:
            turn = self.feed(row)
            if turn is not None:
                yield turn

    def settled(
        self,
        rows: Iterable[Mapping[str, Any]],
        settle_seconds: float = SETTLE_SECONDS,
        max_held: int = MAX_HELD_TURNS,
    ) -> Iterator[Turn]:
        """The turns of ``rows`` in their order, each once no later row can change it, for a stream
        that writes each turn once (an export): a question waits for its reply and for the rating of
        its answer (until the conversation's next question), so the stream agrees with the summaries
        (the Missed page). Memory stays bounded: a turn still open after ``settle_seconds`` of the
        stream's time, or with ``max_held`` turns behind it, is written as it stands."""
        held: Deque[Turn] = deque()
        for row in rows:
            turn = self.feed(row)
            if turn is not None:
                held.append(turn)
            now = row["timestamp"]
            while held and (not self._holds(held[0]) or len(held) > max_held or _older(held[0], now, settle_seconds)):
                yield self._release(held.popleft())
        while held:
            yield held.popleft()

    def _holds(self, turn: Turn) -> bool:
        context = self._contexts.get(turn.sender_id)
        return context is not None and context.holds(turn)

    def _release(self, turn: Turn) -> Turn:
        context = self._contexts.get(turn.sender_id)
        if context is not None:
            context.release(turn)
        return turn


def _older(turn: Turn, now: Optional[float], seconds: float) -> bool:
    """Whether ``turn`` is more than ``seconds`` older than ``now`` (unknown times never are)."""
    return turn.timestamp is not None and now is not None and turn.timestamp < now - seconds
