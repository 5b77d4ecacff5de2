"""The cached action-reply validator and event-class lookup (deploy/speedups.py) give exactly what Rasa's do."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.utils.common import all_subclasses
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


def test_cached_event_lookup_matches_rasas_own():
    before = Event.resolve_by_type
    names = sorted({cls.type_name for cls in all_subclasses(Event)})
    expected = {name: speedups.RASA_RESOLVE_BY_TYPE(name) for name in names}
    try:
        speedups.install()
        assert Event.resolve_by_type is not speedups.RASA_RESOLVE_BY_TYPE
        for _ in range(2):  # the second pass comes from the cache
            assert {name: Event.resolve_by_type(name) for name in names} == expected
        assert Event.resolve_by_type("no_such_event", SlotSet) is SlotSet
        assert Event.resolve_by_type("no_such_event", ActionExecuted) is ActionExecuted  # not cached
        with pytest.raises(ValueError, match="Unknown event name"):
            Event.resolve_by_type("no_such_event")
        stored = [UserUttered("hi", {"name": "greet"}), BotUttered("hello"), SlotSet("program", "mism")]
        assert [Event.from_parameters(e.as_dict()) for e in stored] == stored
    finally:
        Event.resolve_by_type = staticmethod(before)
