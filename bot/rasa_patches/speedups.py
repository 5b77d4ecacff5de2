"""Measured fixes inside the Rasa server: action-reply validation, event-class lookup, NLU off the event loop.

Rasa 3.6's ``RemoteAction._validate_action_result`` calls ``jsonschema.validate(result, schema)`` on
every custom-action reply. That function first checks the (constant, large) events schema itself
against the JSON Schema meta-schema, then builds a new validator: about a fifth of the Rasa
server's CPU under load in the profile (docs/benchmarks.md, "Throughput and scale-out"). Here the
schema is checked and the validator built once; every reply is still validated against the same
schema and an invalid one still raises the same ``jsonschema.ValidationError`` (with Rasa's hint).
Validating a reply was then still about 1 ms: each event is checked against the ``oneOf`` of all
twenty-odd event schemas, every one of them tried. Each of those schemas is told apart by its
``event`` constant (checked when the validators are built), so an event is valid exactly when it
is valid against the one schema of its own type; that is checked first, and only a reply that
fails it goes through the full ``oneOf`` validation, which then raises Rasa's error.

Rasa 3.6's ``Event.resolve_by_type`` finds an event's class by walking every subclass of ``Event``
(``all_subclasses``, recursively, with ``inspect.isabstract``) for every stored event it reads
back: about a tenth of the Rasa server's busy time under load once the SQLite connections were
pooled. Here each type name's class is remembered after Rasa's own lookup found it; an unknown name
still goes through Rasa's lookup (its default or its ``ValueError``).

Rasa 3.6's ``MessageProcessor.parse_message`` runs the NLU pipeline on the event loop. The sentence
encoder's pass is the largest part of a turn and runs in C without Python's GIL, yet the event loop
would wait for it and the server's second core stay idle. Here the pipeline runs on one NLU thread
(one parse at a time, as before, so the components see no concurrency they did not see before)
while the event loop serves the other conversations' database reads and writes, rules and action
calls. What ``parse_message`` returns is unchanged (``tests/unit/test_scale_speedups.py``).

``bot/rasa_patches/install.py`` installs them in every Rasa server this project configures.
"""

from __future__ import annotations

import asyncio
import copy
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Text, Tuple, Type

import structlog
from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_patches.patch import Patch

# Rasa's own method, kept for comparison in tests/unit/test_scale_speedups.py.
RASA_VALIDATE_ACTION_RESULT = RemoteAction._validate_action_result


@functools.lru_cache(maxsize=None)
def _action_result_validator() -> Any:
    """Rasa's schema for action replies, checked against the meta-schema once, as a reusable validator."""
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@functools.lru_cache(maxsize=None)
def _event_dispatch() -> Optional[Tuple[Any, Dict[Text, Any]]]:
    """Validators for the reply's outer shape and for each event type, or None if the schema has no such split.

    The split is exact only when every ``oneOf`` branch names its own ``event`` constant: an event
    (which must have a string ``event``, by the outer schema) then fails every branch but its own.
    """
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    try:
        events = schema["properties"]["events"]
        items = events["items"]
        branches: List[Dict[Text, Any]] = items["oneOf"]
        if set(items) - {"type", "properties", "required", "oneOf"} or events.get("type") != "array":
            return None
        by_event: Dict[Text, Any] = {}
        for branch in branches:
            name = branch["properties"]["event"]["const"]
            if not isinstance(name, str) or name in by_event:
                return None
            single = {key: value for key, value in items.items() if key != "oneOf"}
            by_event[name] = cls({**single, "allOf": [branch]})
    except (KeyError, TypeError):
        return None
    outer = copy.deepcopy(schema)
    outer["properties"]["events"] = {"type": "array"}
    return cls(outer), by_event


def _valid_by_event_type(result: Any) -> bool:
    """True when the reply is valid, checking each event against its own type's schema only."""
    dispatch = _event_dispatch()
    if dispatch is None:
        return False
    outer, by_event = dispatch
    if not outer.is_valid(result):
        return False
    for event in result.get("events") or []:
        name = event.get("event") if isinstance(event, dict) else None
        validator = by_event.get(name) if isinstance(name, str) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    if _valid_by_event_type(result):
        return True
    error = exceptions.best_match(_action_result_validator().iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


# Rasa's own lookup, kept for comparison in tests/unit/test_scale_speedups.py.
RASA_RESOLVE_BY_TYPE = Event.resolve_by_type
_event_classes: Dict[Text, Type[Event]] = {}


def _resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    cls = _event_classes.get(type_name)
    if cls is None:
        cls = RASA_RESOLVE_BY_TYPE(type_name, default)
        if cls is not None and getattr(cls, "type_name", None) == type_name:
            _event_classes[type_name] = cls
    return cls


# Rasa's own method, kept for comparison in tests/unit/test_scale_speedups.py.
RASA_PARSE_MESSAGE = MessageProcessor.parse_message
_nlu_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu")
_structlogger = structlog.get_logger()


async def _parse_message(
    self: MessageProcessor,
    message: UserMessage,
    tracker: Optional[DialogueStateTracker] = None,
    only_output_properties: bool = True,
) -> Dict[Text, Any]:
    """Rasa's ``parse_message``, with the NLU graph run on the NLU thread instead of the event loop."""
    if self.http_interpreter:
        return await RASA_PARSE_MESSAGE(self, message, tracker, only_output_properties)
    if tracker is None:
        tracker = DialogueStateTracker.from_events(message.sender_id, [])
    # The conversation's lock is held for the whole turn, so nothing else touches this tracker meanwhile.
    parse_data: Dict[Text, Any] = await asyncio.get_running_loop().run_in_executor(
        _nlu_thread, self._parse_message_with_graph, message, tracker, only_output_properties
    )
    self._update_full_retrieval_intent(parse_data)
    _structlogger.debug(
        "processor.message.parse",
        parse_data_text=parse_data["text"],
        parse_data_intent=parse_data["intent"],
        parse_data_entities=parse_data["entities"],
    )
    self._check_for_unseen_features(parse_data)
    return parse_data


def patches() -> List[Patch]:
    """The per-reply schema check, the per-event class search and the NLU call, replaced."""
    return [
        Patch(RemoteAction, "_validate_action_result", _validate_action_result),
        Patch(Event, "resolve_by_type", staticmethod(_resolve_by_type)),
        Patch(MessageProcessor, "parse_message", _parse_message),
    ]
