"""The follow-up request: what a visitor types into the form, and what reaches the console.

The unit tests run the real actions with rasa_sdk's Tracker; the conversation tests go through the
real REST channel, NLU, form and action server, and read the stored conversation back through
Rasa's token-protected tracker API.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.followup import (
    ActionSubmitFollowup,
    ProcessLimit,
    ValidateFollowupForm,
    clean_name,
    clean_program,
    clean_question,
    requests_today,
)
from core.handoff import FOLLOWUP_RECORD_SLOT, FOLLOWUPS_PER_CONVERSATION_PER_DAY, clean_email
from tests.support.chat import post, texts


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("jane@example.com", "jane@example.com"),
        ("it's Jane.Doe@Example.COM.", "Jane.Doe@example.com"),
        ("<jane@example.org>", "jane@example.org"),
        ("jane at example dot com", None),
        ("jane@localhost", None),
        ("a@b.com and c@d.com", None),
        ("", None),
        ("x" * 250 + "@example.com", None),
        ("'; DROP TABLE events; --@x.com", None),
    ],
)
def test_email_addresses_are_checked(typed, expected):
    assert clean_email(typed) == expected


def test_a_name_is_a_name_not_a_question_or_an_address():
    assert clean_name("  Jane   Doe ") == "Jane Doe"
    assert clean_name("José Álvarez-Núñez") == "José Álvarez-Núñez"
    assert clean_name("what's the deadline?") is None
    assert clean_name("jane@example.com") is None
    assert clean_name("12345") is None
    assert clean_name("x" * 101) is None


def test_program_answers_map_to_programs_or_undecided():
    known = ["mism", "msit"]
    assert clean_program("msit", known) == "msit"
    assert clean_program("I'm not sure yet", known) == "undecided"
    assert clean_program("undecided", known) == "undecided"
    assert clean_program("the MISM one", known) == "mism"
    assert clean_program("banana", known) is None


def test_questions_are_bounded():
    assert clean_question("  Can I   transfer credits? ") == "Can I transfer credits?"
    assert clean_question("?") is None
    assert clean_question("x" * 1001) is None


def tracker_with(slots: Dict[str, Any], events: List[Dict[str, Any]]) -> Tracker:
    latest = {"intent": {"name": "affirm"}, "entities": [], "text": "yes", "metadata": {"page_url": "http://x/msit"}}
    return Tracker("visitor", slots, latest, events, False, None, {"name": None}, "followup_form")


FILLED = {
    "followup_name": "Jane Doe",
    "followup_email": "jane@example.com",
    "followup_program": "msit",
    "followup_question": "Can I start in spring?",
    "followup_consent": True,
    "session_started_metadata": None,
}


def test_a_consented_request_is_stored_whole_and_the_form_is_cleared():
    dispatcher = CollectingDispatcher()
    events = ActionSubmitFollowup().run(dispatcher, tracker_with(FILLED, []), {})
    [record] = [e for e in events if e["name"] == FOLLOWUP_RECORD_SLOT]
    assert record["value"] == {
        "name": "Jane Doe",
        "email": "jane@example.com",
        "program": "msit",
        "question": "Can I start in spring?",
        "consent": True,
        "submitted_at": pytest.approx(time.time(), abs=5),
        "page_url": "http://x/msit",
    }
    assert {e["name"]: e["value"] for e in events if e["name"] != FOLLOWUP_RECORD_SLOT} == {
        name: None for name in FILLED if name.startswith("followup_")
    }
    assert [m["response"] for m in dispatcher.messages] == ["utter_followup_submitted"]


def test_without_consent_nothing_is_sent():
    dispatcher = CollectingDispatcher()
    events = ActionSubmitFollowup().run(dispatcher, tracker_with({**FILLED, "followup_consent": False}, []), {})
    assert all(e["name"] != FOLLOWUP_RECORD_SLOT for e in events)
    assert [m["response"] for m in dispatcher.messages] == ["utter_followup_no_consent"]
    assert "@" in dispatcher.messages[0]["email"]


def test_a_conversation_cannot_flood_the_inbox():
    now = time.time()
    sent = [
        {"event": "slot", "name": FOLLOWUP_RECORD_SLOT, "value": {"name": "x"}, "timestamp": now - 60}
    ] * FOLLOWUPS_PER_CONVERSATION_PER_DAY
    old = [{"event": "slot", "name": FOLLOWUP_RECORD_SLOT, "value": {"name": "x"}, "timestamp": now - 90000}]
    assert requests_today(sent + old, now) == FOLLOWUPS_PER_CONVERSATION_PER_DAY
    dispatcher = CollectingDispatcher()
    events = ActionSubmitFollowup().run(dispatcher, tracker_with(FILLED, sent), {})
    assert all(e["name"] != FOLLOWUP_RECORD_SLOT for e in events)
    assert [m["response"] for m in dispatcher.messages] == ["utter_followup_limit"]


def test_the_process_wide_limit_slides():
    limit = ProcessLimit(2, window=10)
    assert limit.allow(100) and limit.allow(101)
    assert not limit.allow(105)
    assert limit.allow(111)


# -- through the real stack --------------------------------------------------------------------------


def say(stack, sender: str, text: str) -> List[Dict[str, Any]]:
    body = {"sender": sender, "message": text, "metadata": {"page_url": "http://localhost/msit"}}
    replies, _ = post(f"{stack.rasa_url}/webhooks/rest/webhook", body)
    return replies


def stored_events(stack, sender: str) -> List[Dict[str, Any]]:
    url = f"{stack.rasa_url}/conversations/{sender}/tracker?token={stack.token}&include_events=ALL"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())["events"]


@pytest.mark.slow
def test_a_visitor_leaves_a_follow_up_request_in_their_own_words(stack):
    sender = f"followup-{uuid.uuid4()}"
    assert "What's your name?" in texts(say(stack, sender, "can someone from admissions email me back?"))
    assert "Which e-mail address" in texts(say(stack, sender, "Jane Doe"))
    retry = texts(say(stack, sender, "jane at example dot com"))
    assert "doesn't look like an e-mail address" in retry and "Which e-mail address" in retry
    assert "Which program" in texts(say(stack, sender, "jane@example.com"))
    assert "What would you like to ask" in texts(say(stack, sender, '/inform{"program":"msit"}'))
    assert "contact you at jane@example.com" in texts(say(stack, sender, "Can I start the program in spring?"))
    done = texts(say(stack, sender, "/affirm"))
    assert "Thank you, Jane Doe!" in done and "jane@example.com" in done

    records = [e["value"] for e in stored_events(stack, sender) if e.get("name") == FOLLOWUP_RECORD_SLOT and e["value"]]
    assert len(records) == 1
    assert records[0]["email"] == "jane@example.com" and records[0]["program"] == "msit"
    assert records[0]["question"] == "Can I start the program in spring?" and records[0]["consent"] is True

    # The form is over: the next question is answered as usual.
    assert "MSIT" in texts(say(stack, sender, "how long is the program?"))


@pytest.mark.slow
def test_cancel_stops_the_form_and_keeps_nothing(stack):
    sender = f"followup-{uuid.uuid4()}"
    say(stack, sender, "/request_followup")
    say(stack, sender, "Sam Lee")
    assert "cancelled" in texts(say(stack, sender, "cancel"))
    events = stored_events(stack, sender)
    assert not any(e.get("name") == FOLLOWUP_RECORD_SLOT and e.get("value") for e in events)
    last_name = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == "followup_name"][-1]
    assert last_name is None
    assert "deadline" in texts(say(stack, sender, "what are the MSIT deadlines?")).lower()


def up_to_the_program(stack) -> str:
    """A new conversation whose form has a name and an e-mail and now asks for the program."""
    sender = f"followup-{uuid.uuid4()}"
    for text in ("/request_followup", "Sam Lee", "sam@example.com"):
        say(stack, sender, text)
    return sender


def consent_and_record(stack, sender: str) -> Dict[str, Any]:
    """Consent, then the one request the conversation stored."""
    say(stack, sender, "/affirm")
    events = stored_events(stack, sender)
    [record] = [e["value"] for e in events if e.get("name") == FOLLOWUP_RECORD_SLOT and e["value"]]
    return record


@pytest.mark.slow
def test_a_question_typed_where_the_program_was_asked_is_kept_not_lost(stack):
    """A real visitor typed their question at the program step; it was thrown away and "yes" was sent."""
    sender = f"followup-{uuid.uuid4()}"
    say(stack, sender, "/request_followup")
    assert "Please tell me the name" in texts(say(stack, sender, "yes")), '"yes" is not a name'
    say(stack, sender, "Priya Sharma")
    assert "Which program" in texts(say(stack, sender, "priya@example.com"))
    question = "Is my 3-year B.Sc. from Delhi University enough for MISM?"
    consent = texts(say(stack, sender, question))
    assert "What would you like to ask" not in consent, "the question was asked for a second time"
    assert "contact you at priya@example.com" in consent and question in consent, "the question is shown back"
    record = consent_and_record(stack, sender)
    assert record["question"] == question and record["program"] == "mism"


@pytest.mark.slow
def test_an_address_or_a_question_typed_for_the_name_is_kept_for_its_step(stack):
    """A visitor typed their e-mail, then their question, where the name was asked: both were
    refused as names, with the name question again, and had to be typed twice."""
    sender = f"followup-{uuid.uuid4()}"
    say(stack, sender, "/request_followup")
    noted = texts(say(stack, sender, "kim@example.com"))
    assert "I've noted kim@example.com" in noted and "Please tell me the name" not in noted
    question = "Is a 3-year Indian bachelor's degree accepted for MISM?"
    kept = texts(say(stack, sender, question))
    assert "kept your question" in kept and "What's your name?" in kept
    asked = texts(say(stack, sender, "Kim Lee"))
    assert "Which program" in asked and "Which e-mail address" not in asked, asked
    consent = texts(say(stack, sender, '/inform{"program":"mism"}'))
    assert "contact you at kim@example.com" in consent and question in consent, consent
    record = consent_and_record(stack, sender)
    assert record["email"] == "kim@example.com" and record["question"] == question and record["program"] == "mism"


@pytest.mark.slow
def test_a_question_without_a_program_is_kept_and_the_program_asked_again(stack):
    sender = up_to_the_program(stack)
    question = "do you accept a three-year bachelor's degree from India?"
    kept = texts(say(stack, sender, question))
    assert "kept your question" in kept and "Which program" in kept
    assert question in texts(say(stack, sender, '/inform{"program":"undecided"}'))
    record = consent_and_record(stack, sender)
    assert record["question"] == question and record["program"] == "undecided"


@pytest.mark.slow
def test_yes_is_never_stored_as_the_question(stack):
    sender = up_to_the_program(stack)
    say(stack, sender, '/inform{"program":"msit"}')
    assert "Please type the question" in texts(say(stack, sender, "yes"))
    assert "contact you at sam@example.com" in texts(say(stack, sender, "Can I switch to MISM after a year?"))
    assert consent_and_record(stack, sender)["question"] == "Can I switch to MISM after a year?"


@pytest.mark.slow
def test_not_sure_at_the_program_step_is_a_choice_not_the_question(stack):
    sender = up_to_the_program(stack)
    assert "What would you like to ask" in texts(say(stack, sender, "I'm not sure yet"))
    say(stack, sender, "Which program suits a data analyst?")
    record = consent_and_record(stack, sender)
    assert record["program"] == "undecided" and record["question"] == "Which program suits a data analyst?"


@pytest.mark.parametrize("intent, text", [("complain", "that's wrong"), ("deny", "no"), ("thank", "thanks")])
def test_a_complaint_or_small_talk_is_not_taken_as_a_name_or_a_question(intent, text):
    """ "that's wrong" was a ``deny`` example before complaints had an intent of their own."""
    latest = {"intent": {"name": intent}, "entities": [], "text": text, "metadata": {}}
    tracker = Tracker("visitor", {}, latest, [], False, None, {"name": "followup_form"}, "action_listen")
    form = ValidateFollowupForm()
    name = form.validate_followup_name(text, CollectingDispatcher(), tracker, {})
    question = form.validate_followup_question(text, CollectingDispatcher(), tracker, {})
    assert name.get("followup_name") is None and question == {"followup_question": None}
