"""The assistant's side of the live hand-off: quiet while an officer owns the conversation,
talking again when they hand it back; and the offer a visitor gets when they ask for a person.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.policies.handoff import HandoffPolicy
from core.handoff import HANDOFF_SLOT, LIVE, QUEUED
from core.settings import PROJECT_ROOT
from tests.support.chat import post, texts


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def policy(tmp_path: Path) -> HandoffPolicy:
    context = ExecutionContext(GraphSchema({}), "test")
    return HandoffPolicy.create(HandoffPolicy.get_default_config(), LocalModelStorage(tmp_path), Resource("h"), context)


def tracker(domain: Domain, state: Any) -> DialogueStateTracker:
    events = [
        ActionExecuted(ACTION_LISTEN_NAME),
        SlotSet(HANDOFF_SLOT, state),
        UserUttered("hello?", {"name": "greet"}),
    ]
    return DialogueStateTracker.from_events("visitor", events, domain.slots)


@pytest.mark.parametrize("state", [QUEUED, LIVE])
def test_while_a_person_owns_the_conversation_the_assistant_listens(tmp_path, domain, state):
    prediction = policy(tmp_path).predict_action_probabilities(tracker(domain, state), domain)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    assert domain.action_names_or_texts[best] == ACTION_LISTEN_NAME
    assert prediction.max_confidence == 1.0 and prediction.policy_priority > 6  # outranks RulePolicy


def test_otherwise_it_leaves_the_turn_to_the_rules(tmp_path, domain):
    prediction = policy(tmp_path).predict_action_probabilities(tracker(domain, None), domain)
    assert prediction.max_confidence == 0.0


# -- through the real stack --------------------------------------------------------------------------


def say(stack, sender: str, text: str) -> List[Dict[str, Any]]:
    replies, _ = post(f"{stack.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": text})
    return replies


def append(stack, sender: str, events: List[Dict[str, Any]]) -> None:
    post(f"{stack.rasa_url}/conversations/{sender}/tracker/events?token={stack.token}", events)  # type: ignore[arg-type]


def user_texts(stack, sender: str) -> List[str]:
    url = f"{stack.rasa_url}/conversations/{sender}/tracker?token={stack.token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return [e.get("text") for e in json.loads(response.read())["events"] if e.get("event") == "user"]


@pytest.mark.slow
def test_the_assistant_is_quiet_during_a_hand_off_and_keeps_every_message(stack):
    sender = f"handoff-{uuid.uuid4()}"
    assert "MISM" in texts(say(stack, sender, "How long is the MISM program?"))
    append(stack, sender, [{"event": "slot", "name": HANDOFF_SLOT, "value": LIVE}])
    assert say(stack, sender, "Hi Jane, what are the MISM deadlines?") == []
    assert say(stack, sender, "/ask_deadlines") == []  # a button click does not wake the bot either
    assert "Hi Jane, what are the MISM deadlines?" in user_texts(stack, sender)
    append(stack, sender, [{"event": "slot", "name": HANDOFF_SLOT, "value": None}])
    assert "deadline" in texts(say(stack, sender, "What are the MISM deadlines?")).lower()


@pytest.mark.slow
def test_asking_for_a_person_with_nobody_available_offers_a_follow_up_and_the_contact(stack):
    replies = say(stack, f"handoff-{uuid.uuid4()}", "can I talk to a real person?")
    text = texts(replies)
    assert "follow-up" in text.lower() or "e-mail you back" in text
    assert "@" in text  # the admissions e-mail, whatever else happens
    titles = [b["title"] for r in replies for b in r.get("buttons") or []]
    assert "Leave a follow-up request" in titles and "Chat with an admissions officer" not in titles
