"""Reading Rasa tracker events (rows of the ``events`` table) into what staff look at.

Rasa stores each event as JSON in ``events.data`` (see ``SQLTrackerStore.save``). This module is the
only place that knows that JSON's shape: visitor messages (``user``), bot messages (``bot``), the
actions that produced them (``action``), slots (``slot``) and session starts. Everything else in the
console works with :class:`Turn` objects and the small helpers below.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

import yaml

# Intents that mean the assistant did not understand the visitor.
MISS_INTENTS = {"nlu_fallback": "fallback", "out_of_scope": "out of scope"}
# Intents that are conversation mechanics rather than a topic a visitor asked about.
SMALL_TALK_INTENTS = frozenset(
    {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "inform"} | set(MISS_INTENTS)
)
# Every intent of the assistant's domain, in the order staff see them in menus.
KNOWN_INTENTS = (
    "ask_program_overview",
    "ask_program_length",
    "ask_tracks",
    "ask_format",
    "ask_stem_opt",
    "ask_capstone",
    "ask_internship",
    "ask_careers",
    "ask_how_to_apply",
    "ask_deadlines",
    "ask_requirements",
    "ask_cost",
    "ask_events",
    "ask_contact",
    "inform",
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "out_of_scope",
    "nlu_fallback",
)
KNOWN_PROGRAMS = ("mism", "msit")
PROGRAM_LABELS = {"mism": "MISM", "msit": "MSIT"}
# Actions that only mark turn boundaries; the transcript does not show them.
SILENT_ACTIONS = frozenset({"action_listen", "action_session_start"})
# Actions that answer a miss (the assistant's own and Rasa's default).
FALLBACK_ACTIONS = frozenset({"action_handle_miss", "action_fallback", "action_default_fallback"})


DOMAIN_FILE = Path(__file__).resolve().parent.parent / "domain.yml"


def domain_intents(domain_file: Optional[Path] = None) -> Tuple[str, ...]:
    """The intents of the assistant's ``domain.yml`` plus ``nlu_fallback``, else :data:`KNOWN_INTENTS`.

    Read from the domain so the intent menus follow the assistant when intents are added; cached
    until the file changes.
    """
    path = domain_file or DOMAIN_FILE
    try:
        modified = path.stat().st_mtime
    except OSError:
        return KNOWN_INTENTS
    return _read_intents(str(path), modified)


@lru_cache(maxsize=4)
def _read_intents(path: str, modified: float) -> Tuple[str, ...]:
    try:
        with open(path, encoding="utf-8") as handle:
            declared = (yaml.safe_load(handle) or {}).get("intents") or []
    except (OSError, yaml.YAMLError, AttributeError):
        return KNOWN_INTENTS
    names = [str(next(iter(item))) if isinstance(item, dict) else str(item) for item in declared]
    names = [name for name in names if name]
    if not names:
        return KNOWN_INTENTS
    topics = [name for name in names if is_topic(name)]
    others = [name for name in names if not is_topic(name)]
    return tuple(topics + others + [intent for intent in MISS_INTENTS if intent not in names])


def topic_label(intent: Optional[str]) -> str:
    """``ask_stem_opt`` -> ``stem opt``: short, readable labels for chips and charts."""
    if not intent:
        return "(none)"
    name = intent[4:] if intent.startswith("ask_") else intent
    return name.replace("_", " ")


def is_topic(intent: Optional[str]) -> bool:
    return bool(intent) and intent not in SMALL_TALK_INTENTS


def normalise_program(value: Any) -> Optional[str]:
    """Map entity/slot values such as ``MSIT`` or ``msit-pm`` onto ``mism``/``msit``."""
    if not isinstance(value, str) or not value.strip():
        return None
    lowered = value.strip().lower()
    for program in KNOWN_PROGRAMS:
        if program in lowered:
            return program
    return lowered[:40]


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


def load_data(raw: Any) -> Dict[str, Any]:
    """``events.data`` as a dict; damaged rows become empty dicts instead of breaking a page."""
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

    @property
    def programs(self) -> List[str]:
        found = (normalise_program(value) for name, value in self.entities if name == "program")
        return [program for program in found if program]


def parse_user(data: Mapping[str, Any]) -> UserMessage:
    parse_data = data.get("parse_data") or {}
    intent = parse_data.get("intent") or {}
    entities = [
        (str(item.get("entity")), item.get("value"))
        for item in parse_data.get("entities") or []
        if isinstance(item, dict) and item.get("entity")
    ]
    ranking = [
        (str(item.get("name")), _float(item.get("confidence")) or 0.0)
        for item in parse_data.get("intent_ranking") or []
        if isinstance(item, dict) and item.get("name")
    ]
    return UserMessage(
        text=str(data.get("text") or ""),
        intent=intent.get("name") if isinstance(intent, dict) else None,
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


@dataclass
class Turn:
    """One line of a transcript: a visitor message, a bot message or a marker between them."""

    event_id: int
    sender_id: str
    kind: str  # visitor | bot | session | slot | action
    timestamp: Optional[float]
    text: str = ""
    intent: Optional[str] = None
    confidence: Optional[float] = None
    entities: List[Tuple[str, Any]] = field(default_factory=list)
    ranking: List[Tuple[str, float]] = field(default_factory=list)
    miss_reason: Optional[str] = None
    payload: Optional[str] = None
    button_title: Optional[str] = None
    buttons: List[Button] = field(default_factory=list)
    action: Optional[str] = None
    policy: Optional[str] = None
    action_confidence: Optional[float] = None
    utter_action: Optional[str] = None
    slot_value: Any = None

    @property
    def missed(self) -> bool:
        return self.miss_reason is not None

    @property
    def is_fallback_action(self) -> bool:
        return self.action in FALLBACK_ACTIONS


@dataclass
class _Context:
    """What the builder remembers about one conversation between two rows of it."""

    action: Optional[str] = None
    policy: Optional[str] = None
    action_confidence: Optional[float] = None
    offered: List[Button] = field(default_factory=list)


class TurnBuilder:
    """Builds :class:`Turn` objects from event rows in id order.

    Two facts need the rows before: which action produced a bot message (the ``action`` event just
    before it) and which button a payload message clicked (the buttons of the bot messages since the
    visitor last wrote). The builder keeps that context per conversation, bounded to the most recent
    ``max_conversations`` so a streamed export over millions of rows uses constant memory.
    """

    def __init__(
        self,
        threshold: float,
        mask: Callable[[Any], Any],
        max_conversations: int = 20_000,
    ) -> None:
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
        base = dict(event_id=row["id"], sender_id=sender_id, timestamp=row["timestamp"])
        if kind == "action":
            return self._action(row, context, base)
        if kind == "user":
            return self._visitor(load_data(row["data"]), context, base)
        if kind == "bot":
            return self._bot(load_data(row["data"]), context, base)
        if kind == "slot":
            data = load_data(row["data"])
            return Turn(
                kind="slot",
                action=row.get("action_name") or data.get("name"),
                slot_value=self.mask(data.get("value")),
                **base,
            )
        if kind == "session_started":
            context.offered = []
            return Turn(kind="session", **base)
        return None

    def _action(self, row: Mapping[str, Any], context: _Context, base: dict) -> Optional[Turn]:
        name = row.get("action_name")
        if name in SILENT_ACTIONS:
            return None
        data = load_data(row.get("data"))
        context.action = name
        context.policy = data.get("policy")
        context.action_confidence = _float(data.get("confidence"))
        return Turn(
            kind="action", action=name, policy=context.policy, action_confidence=context.action_confidence, **base
        )

    def _visitor(self, data: Mapping[str, Any], context: _Context, base: dict) -> Turn:
        message = parse_user(data)
        turn = Turn(
            kind="visitor",
            text=self.mask(message.text),
            intent=message.intent,
            confidence=message.confidence,
            entities=[(name, self.mask(value)) for name, value in message.entities],
            ranking=message.ranking[:5],
            miss_reason=miss_reason(message.intent, message.confidence, self.threshold),
            **base,
        )
        if parse_payload(message.text):
            turn.payload = message.text
            clicked = next((b for b in context.offered if same_payload(message.text, b.payload)), None)
            if clicked:
                clicked.clicked = True
                turn.button_title = clicked.title
        context.offered = []
        context.action = None
        return turn

    def _bot(self, data: Mapping[str, Any], context: _Context, base: dict) -> Turn:
        payload = data.get("data") or {}
        buttons = [
            Button(title=str(b.get("title") or ""), payload=str(b.get("payload") or ""))
            for b in (payload.get("buttons") or payload.get("quick_replies") or [])
            if isinstance(b, dict)
        ]
        context.offered.extend(buttons)
        metadata = data.get("metadata") or {}
        return Turn(
            kind="bot",
            # The assistant's own words (e.g. the admissions office's public e-mail) are not masked.
            text=str(data.get("text") or ""),
            buttons=buttons,
            action=context.action,
            policy=context.policy,
            action_confidence=context.action_confidence,
            utter_action=metadata.get("utter_action") if isinstance(metadata, dict) else None,
            **base,
        )

    def build(self, rows: Iterable[Mapping[str, Any]]) -> Iterator[Turn]:
        for row in rows:
            turn = self.feed(row)
            if turn is not None:
                yield turn
