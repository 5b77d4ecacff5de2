"""The real stack: action server + Rasa server (REST channel) + SQL tracker store on SQLite."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
import uuid

import pytest
from sqlalchemy.engine import make_url

from tests.support.chat import post, say, socketio_exchange, texts
from tests.support.facts import ADMISSIONS_EMAIL, ADMISSIONS_PHONE, MISM_LENGTH_ANSWER

pytestmark = pytest.mark.slow


def test_multi_turn_conversation_is_answered_and_stored(stack, knowledge):
    sender = f"e2e-{uuid.uuid4()}"
    mism_deadlines, msit_deadlines = (knowledge.lookup(p, None, "deadlines") for p in ("mism", "msit"))
    turns = [
        ("hi", lambda r: "MISM" in texts(r) and len(r[0]["buttons"]) >= 4),
        (
            "How long is the MISM program?",
            lambda r: (
                MISM_LENGTH_ANSWER in texts(r)
                and "https://www.heinz.cmu.edu/programs/information-systems-management-master/" in texts(r)
            ),
        ),
        (
            "What about the online program?",
            lambda r: (
                "I don't have the official program length in months for MSIT" in texts(r)
                and ADMISSIONS_EMAIL in texts(r)
            ),
        ),
        (
            "what are its deadlines?",
            lambda r: (
                "Application deadlines, MSIT" in texts(r)
                and all(d.label in texts(r) for d in msit_deadlines.deadlines())
            ),
        ),
        ("what are the deadlines for MISM", lambda r: f"For the {mism_deadlines.cycle}" in texts(r)),
        ("thank you", lambda r: "welcome" in texts(r)),
    ]
    for message, check in turns:
        replies = say(stack, sender, message)
        assert check(replies), f"{message!r} got {texts(replies)!r}"

    database = make_url(stack.settings.database_url).database
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT type_name, data FROM events WHERE sender_id = ? ORDER BY id", (sender,)
        ).fetchall()
    user_texts = [json.loads(data)["text"] for kind, data in rows if kind == "user"]
    assert user_texts == [message for message, _ in turns]
    bot_texts = [json.loads(data)["text"] for kind, data in rows if kind == "bot"]
    assert any(MISM_LENGTH_ANSWER in text for text in bot_texts)
    slots = [(json.loads(data)["name"], json.loads(data)["value"]) for kind, data in rows if kind == "slot"]
    assert ("program", "msit") in slots and ("program", "mism") in slots


def test_an_answer_for_both_programs_has_buttons_to_go_deeper(stack, knowledge):
    sender = f"e2e-{uuid.uuid4()}"
    replies = say(stack, sender, "when is the application deadline?")
    assert replies[0]["text"].startswith("Application deadlines, MISM and MSIT:")
    deeper = {b["title"]: b["payload"] for b in replies[0]["buttons"]}
    assert deeper["More on MSIT"] == '/ask_deadlines{"program":"msit"}'
    answer = texts(say(stack, sender, deeper["More on MSIT"]))
    assert answer.startswith("Application deadlines, MSIT:")
    assert all(d.label in answer for d in knowledge.lookup("msit", None, "deadlines").deadlines())


@pytest.mark.parametrize(
    "message",
    ["", "   ", "😀🎓", "x" * 4000, "<img src=x onerror=alert(1)>", "'; DROP TABLE events; --", "\u0000\ufffd"],
)
def test_bad_input_gets_a_sensible_reply(stack, message):
    replies = say(stack, f"e2e-{uuid.uuid4()}", message)
    if len(message) > 1000:  # said first: only the start of a message this long is read
        assert replies[0]["text"].startswith("Your message was long, so I read only its first 1,000 characters")
        replies = replies[1:]
    assert replies, "no reply"
    reply = texts(replies)
    assert "<img" not in reply and "onerror" not in reply
    # None of these is a question: each gets the friendly "not sure" / "outside what I can help
    # with" reply, with the admissions contact and a way to a person, never an answer out of thin air.
    assert reply.startswith(("Sorry, I'm not sure I understood that.", "That's outside what I can help with"))
    assert ADMISSIONS_EMAIL in reply and ADMISSIONS_PHONE in reply
    assert {"/request_human", "/ask_contact"} & {b["payload"] for b in replies[0]["buttons"]}


def test_longest_allowed_message_is_stored_whole(stack):
    # MAX_MESSAGE_CHARS (4,000 by default) is the edge's limit; up to it nothing is cut.
    sender = f"e2e-{uuid.uuid4()}"
    message = ("How long is MISM?" + " really" * 3000)[: stack.settings.max_message_chars]
    say(stack, sender, message)
    database = make_url(stack.settings.database_url).database
    with sqlite3.connect(database) as connection:
        (data,) = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,)
        ).fetchone()
    assert json.loads(data)["text"] == message


def test_http_api_needs_the_token(stack):
    with pytest.raises(urllib.error.HTTPError) as refused:
        post(f"{stack.rasa_url}/model/parse", {"text": "hi"})
    assert refused.value.code == 401
    parsed, _ = post(f"{stack.rasa_url}/model/parse?token={stack.token}", {"text": "How long is MISM?"})
    assert parsed["intent"]["name"] == "ask_program_length"
    assert {"entity": "program", "value": "mism"}.items() <= parsed["entities"][0].items()


def test_cors_allows_only_the_configured_origins(stack):
    allowed = stack.settings.cors_origins[0]
    _, headers = post(
        f"{stack.rasa_url}/webhooks/rest/webhook", {"sender": "cors", "message": "hi"}, {"Origin": allowed}
    )
    assert headers.get("Access-Control-Allow-Origin") == allowed
    _, headers = post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        {"sender": "cors", "message": "hi"},
        {"Origin": "https://evil.example"},
    )
    assert headers.get("Access-Control-Allow-Origin") is None


def test_socketio_channel_answers(stack):
    session = str(uuid.uuid4())
    _, replies = socketio_exchange(
        stack,
        ("session_request", {"session_id": session}),
        ("user_uttered", {"message": "How long is the MISM program?", "session_id": session}),
    )
    assert MISM_LENGTH_ANSWER in replies[0]["text"]


def test_feedback_on_an_answer_is_acknowledged_and_reaches_the_console(stack):
    from datetime import timedelta, timezone

    from console.data.database import ConsoleDatabase
    from console.data.dates import today
    from console.data.sync import Summariser
    from console.data.vocabulary import Vocabulary
    from console.missed.queries import MissedFilter, MissedQueries
    from console.trends.queries import TrendQueries

    sender = f"e2e-{uuid.uuid4()}"
    question = "How much is tuition for MISM?"
    replies = say(stack, sender, question)
    # The answer, then the marker the widget puts the Helpful / Not helpful buttons under.
    assert replies[0]["text"] and replies[-1] == {"recipient_id": sender, "custom": {"feedback": True}}
    ack = say(stack, sender, '/feedback{"helpful":"no"}')
    assert "what were you looking for?" in texts(ack) and ADMISSIONS_EMAIL in texts(ack)
    assert not any("custom" in reply for reply in ack), "an acknowledgement is not rated itself"
    after = say(stack, sender, "are there any scholarships?")
    assert after[-1].get("custom") == {"feedback": True}, "the next question is answered as usual"

    store = ConsoleDatabase(stack.settings.database_url)
    try:
        store.create_schema()
        Summariser(store, Vocabulary()).run()
        missed = MissedQueries(store, 0.6, timezone.utc).missed_groups(MissedFilter(reason="not_helpful"))[0]
        assert question in [group.text for group in missed]
        until = today(timezone.utc)
        mix = TrendQueries(store, 0.6, timezone.utc).trends(until - timedelta(days=1), until).answers
        assert mix.topics["cost"].not_helpful == 1 and mix.total.replies >= 3
    finally:
        store.dispose()


def test_the_rasa_server_warms_its_nlu_up_before_the_first_visitor(stack):
    """The first parse loads the sentence encoder; the server does that parse itself once it is up."""
    log = (stack.log_dir / "rasa.log").read_text(encoding="utf-8", errors="replace")
    assert "NLU warmed up in" in log, log[-2000:]
    assert "NLU warm-up failed" not in log
