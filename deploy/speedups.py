"""Measured fixes inside the Rasa server: cached action-reply validation and event-class lookup.

Rasa 3.6's ``RemoteAction._validate_action_result`` calls ``jsonschema.validate(result, schema)`` on
every custom-action reply. That function first checks the (constant, large) events schema itself
against the JSON Schema meta-schema, then builds a new validator: about a fifth of the Rasa
server's CPU under load in the profile (docs/benchmarks.md, "Throughput and scale-out"). Here the
schema is checked and the validator built once; every reply is still validated against the same
schema and an invalid one still raises the same ``jsonschema.ValidationError`` (with Rasa's hint).

Rasa 3.6's ``Event.resolve_by_type`` finds an event's class by walking every subclass of ``Event``
(``all_subclasses``, recursively, with ``inspect.isabstract``) for every stored event it reads
back: about a tenth of the Rasa server's busy time under load once the SQLite connections were
pooled. Here each type name's class is remembered after Rasa's own lookup found it; an unknown name
still goes through Rasa's lookup (its default or its ``ValueError``).

``install()`` is called by ``deploy.tracker_store.GuardedSQLTrackerStore`` when Rasa creates it
from the endpoints, i.e. in every Rasa server this project starts.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text, Type

from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event

_validator: Optional[Any] = None
# Rasa's own method, kept for comparison in tests/test_scale_speedups.py.
RASA_VALIDATE_ACTION_RESULT = RemoteAction._validate_action_result


def _action_result_validator() -> Any:
    global _validator
    if _validator is None:
        schema = RemoteAction.action_response_format_spec()
        cls = validators.validator_for(schema)
        cls.check_schema(schema)
        _validator = cls(schema)
    return _validator


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
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


# Rasa's own lookup, kept for comparison in tests/test_scale_speedups.py.
RASA_RESOLVE_BY_TYPE = Event.resolve_by_type
_event_classes: Dict[Text, Type[Event]] = {}


def _resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    cls = _event_classes.get(type_name)
    if cls is None:
        cls = RASA_RESOLVE_BY_TYPE(type_name, default)
        if cls is not None and getattr(cls, "type_name", None) == type_name:
            _event_classes[type_name] = cls
    return cls


def install() -> None:
    """Replace the per-reply schema check and the per-event class search with cached ones (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_by_type)
