"""One measured fix inside the Rasa server: validate action-server replies with a cached validator.

Rasa 3.6's ``RemoteAction._validate_action_result`` calls ``jsonschema.validate(result, schema)`` on
every custom-action reply. That function first checks the (constant, large) events schema itself
against the JSON Schema meta-schema, then builds a new validator: about a fifth of the Rasa
server's CPU under load in the profile (docs/benchmarks.md, "Throughput and scale-out"). Here the
schema is checked and the validator built once; every reply is still validated against the same
schema and an invalid one still raises the same ``jsonschema.ValidationError`` (with Rasa's hint).

``install()`` is called by ``deploy.tracker_store.GuardedSQLTrackerStore`` when Rasa creates it
from the endpoints, i.e. in every Rasa server this project starts.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

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


def install() -> None:
    """Replace the per-reply schema check with the cached one (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result
