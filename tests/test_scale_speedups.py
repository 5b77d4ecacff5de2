"""The cached action-reply validator (deploy/speedups.py) accepts and rejects exactly what Rasa's does."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from deploy import speedups

GOOD = {
    "events": [{"event": "slot", "name": "program", "value": "mism", "timestamp": None}],
    "responses": [{"response": "utter_answer_deadlines", "subject": "MISM"}],
}
BAD = [
    {"events": [{"event": "slot", "value": "mism"}], "responses": []},  # a slot event without its name
    {"events": "not a list", "responses": []},
    {"events": [], "responses": ["not an object"]},
]


def test_cached_validator_matches_rasas_own():
    action = RemoteAction("action_answer_topic", EndpointConfig("http://127.0.0.1:1/webhook"))
    stock, before = speedups.RASA_VALIDATE_ACTION_RESULT, RemoteAction._validate_action_result
    try:
        assert stock(action, GOOD) is True
        for bad in BAD:
            with pytest.raises(ValidationError):
                stock(action, bad)
        speedups.install()
        assert RemoteAction._validate_action_result is not stock
        assert action._validate_action_result(GOOD) is True
        for bad in BAD:
            with pytest.raises(ValidationError, match="Failed to validate Action server response"):
                action._validate_action_result(bad)
    finally:
        RemoteAction._validate_action_result = before
