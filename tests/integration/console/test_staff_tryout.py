"""What a visitor/staff tryout found in the console, on SQLite and PostgreSQL: button clicks in the
missed queue, the widget's greeting counted as a visitor message, Rasa's own slot in transcripts, and
a question about a degree we do not cover counted as answered under its intent's topic.

The conversations are written by Rasa's SQLTrackerStore as the assistant writes them
(tests/support/console_events.py).
"""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from rasa.shared.core.events import SlotSet

from console.conversations.queries import ConversationFilter
from console.data.dates import today
from console.missed.queries import MissedFilter
from tests.support.console_events import DAY, NOW, bot, feedback_click, seed_with, start, typed_answer, user

UNSURE_QUESTION = "when do i have to send everything in"
DEADLINE_BUTTON = {"title": "Application deadlines", "payload": '/ask_deadlines{"program":"msit"}'}
TALK_BUTTON = {"title": "Talk to a person", "payload": "/request_human"}
TYPED_QUESTION = "How much is the MSIT tuition?"
OTHER_DEGREE_QUESTION = "when is the MSPPM deadline?"
OUR_DEADLINE_QUESTION = "and when is the MISM deadline?"
PAGE = {"program": "msit", "page_url": "https://admissions.example/msit"}


def clicked(payload: str, intent: str, at: float, entities=None):
    """A button click as Rasa stores it: the payload as text, its intent taken as given (confidence 1)."""
    return user(payload, intent, 1.0, at, entities)


def greeting(at: float):
    """What the widget sends when the chat opens, and the welcome it gets."""
    return [user("/greet", "greet", 1.0, at)] + typed_answer("Hi! Ask me about MISM or MSIT.", at + 1, "utter_greet")


@pytest.fixture
def seeded(db_url) -> str:
    t = NOW - 1 * DAY + 5400
    suggestions = (
        start(t)
        + [user(UNSURE_QUESTION, "nlu_fallback", 0.35, t + 1)]
        + [
            bot("Is this what you're asking about?", t + 2, [DEADLINE_BUTTON, TALK_BUTTON], "utter_suggest_topic"),
            clicked(DEADLINE_BUTTON["payload"], "ask_deadlines", t + 5, [{"entity": "program", "value": "msit"}]),
        ]
        + typed_answer("Deadlines, MSIT: the final deadline is in June.", t + 6, "utter_answer", "deadlines")
        + feedback_click("no", t + 10)
        + [bot("Sorry — would you like to talk to a person?", t + 12, [TALK_BUTTON], "utter_fallback")]
        + [clicked(TALK_BUTTON["payload"], "request_human", t + 15)]
        + typed_answer("You can e-mail the admissions office.", t + 16, "utter_offer_followup")
    )
    t = NOW - 1 * DAY + 6000
    opened_on_msit = (
        start(t)
        + [SlotSet("session_started_metadata", PAGE, timestamp=t + 0.5)]
        + greeting(t + 1)
        + [user(TYPED_QUESTION, "ask_cost", 0.95, t + 10)]
        + typed_answer("Cost, MSIT: tuition is on the official page.", t + 11, "utter_answer", "cost")
    )
    t = NOW - 1 * DAY + 6600
    only_opened = start(t) + greeting(t + 1)
    t = NOW - 1 * DAY + 7200
    other_degree = (
        start(t)
        + [user(OTHER_DEGREE_QUESTION, "ask_deadlines", 0.96, t + 1, [{"entity": "other_program", "value": "MSPPM"}])]
        + typed_answer("I can only answer questions about … MISM and MSIT.", t + 2, "utter_other_program")
    )
    mixed = (
        start(t + 100)
        + [user(OTHER_DEGREE_QUESTION, "ask_deadlines", 0.96, t + 101, [{"entity": "other_program", "value": "MSPPM"}])]
        + typed_answer("I can only answer questions about … MISM and MSIT.", t + 102, "utter_other_program")
        + [user(OUR_DEADLINE_QUESTION, "ask_deadlines", 0.93, t + 110, [{"entity": "program", "value": "mism"}])]
        + typed_answer("Deadlines, MISM: the final round is in March.", t + 111, "utter_answer", "deadlines")
    )
    return seed_with(
        db_url,
        {
            "visitor-clicks": suggestions,
            "visitor-opened-msit": opened_on_msit,
            "visitor-only-opened": only_opened,
            "visitor-other-degree": other_degree,
            "visitor-other-then-ours": mixed,
        },
    )


def queue_texts(console, **flt) -> list:
    groups, _, _ = console.missed_queries.missed_groups(MissedFilter(**flt))
    return [group.text for group in groups]


def listed(console, **flt) -> list:
    return [row["sender_id"] for row in console.conversation_queries.conversations(ConversationFilter(**flt)).rows]


def last_30_days(console):
    until = today(console.tz)
    return console.trend_queries.trends(until - timedelta(days=29), until)


# -- 1. a button click is not a typed question --------------------------------------------------------


def test_button_clicks_are_not_in_the_missed_queue(console, client):
    queue = queue_texts(console, status="all")
    assert UNSURE_QUESTION in queue, "the typed question the assistant was unsure of is still missed"
    assert not [text for text in queue if text.startswith("/")], queue
    page = html.unescape(client.get("/staff/missed?status=all").get_data(as_text=True))
    assert UNSURE_QUESTION in page
    assert "/ask_deadlines" not in page and "/request_human" not in page
    assert not [text for text in queue_texts(console, reason="not_helpful")], "the rated answer replied to a click"
    row = console.conversation_queries.conversation("visitor-clicks")
    assert row["visitor_messages"] == 3 and row["missed_messages"] == 1


def test_the_transcript_shows_clicks_by_their_title_and_never_as_missed(client):
    page = client.get("/staff/conversations/visitor-clicks").get_data(as_text=True)
    assert "Clicked “Application deadlines”" in page and "Clicked “Talk to a person”" in page
    assert page.count("Missed:") == 1, "only the typed question is missed"
    assert "Visitor feedback: Not helpful" in page, "the rating stays on the answer"


# -- 2. the widget's greeting on opening is not a visitor message --------------------------------------


def test_the_widget_greeting_is_not_a_visitor_message(console, client):
    row = console.conversation_queries.conversation("visitor-opened-msit")
    assert row["visitor_messages"] == 1 and row["first_message"] == TYPED_QUESTION
    assert row["topics_list"] == ["ask_cost"]
    # Opening the chat and writing nothing is a visit without messages.
    assert "visitor-only-opened" not in listed(console)
    assert "visitor-only-opened" in listed(console, include_empty=True)
    assert console.conversation_queries.conversation("visitor-only-opened")["visitor_messages"] == 0
    search = console.conversation_queries.conversations(ConversationFilter(search="greet")).rows
    assert [r["sender_id"] for r in search] == []
    page = client.get("/staff/conversations/visitor-opened-msit").get_data(as_text=True)
    assert "Visitor opened the chat" in page and "/greet" not in page
    assert "<dt>Visitor messages</dt><dd>1</dd>" in page


# -- 3. Rasa's own slot is not shown ---------------------------------------------------------------------


def test_the_transcript_hides_rasas_session_metadata_slot(client):
    page = client.get("/staff/conversations/visitor-opened-msit").get_data(as_text=True)
    assert "session_started_metadata" not in page and "admissions.example/msit" not in page
    assert "Remembered <strong>topic</strong>" in page, "the slots staff care about are still shown"
    api = client.get("/staff/api/conversations/visitor-opened-msit").json
    assert not [t for t in api["turns"] if t["kind"] == "slot" and "session_started" in str(t)]


# -- 5. a question about a degree we do not cover is out of scope, not answered under its intent ---------


def test_a_question_about_another_degree_is_missed_as_out_of_scope(console, client):
    assert OTHER_DEGREE_QUESTION in queue_texts(console, reason="out_of_scope")
    assert OUR_DEADLINE_QUESTION not in queue_texts(console, status="all")
    row = console.conversation_queries.conversation("visitor-other-degree")
    assert row["topics_list"] == [] and row["missed_messages"] == 1
    assert "visitor-other-degree" in listed(console, missed=True)
    assert "visitor-other-degree" not in listed(console, topic="ask_deadlines")
    # Asked about our deadline too: that topic stays.
    mixed = console.conversation_queries.conversation("visitor-other-then-ours")
    assert mixed["topics_list"] == ["ask_deadlines"] and mixed["missed_messages"] == 1
    page = client.get("/staff/conversations/visitor-other-degree").get_data(as_text=True)
    assert "Missed: out of scope" in page


def test_trends_count_the_other_degree_question_under_no_topic(console):
    topics = dict(last_30_days(console).topics)
    # The seed's one deadlines question, the click on "Application deadlines" and "the MISM deadline?".
    assert topics["ask_deadlines"] == 3
    mix = last_30_days(console).answers
    assert mix.total.types["out_of_scope"] == 2 and "deadlines" in mix.topics
    assert mix.topics["deadlines"].types["out_of_scope"] == 0


def test_out_of_scope_questions_are_the_same_when_read_one_event_at_a_time(console):
    """The reply may be read in a later batch than the question it replies to."""
    before = listed(console, include_empty=True)
    rows = {r["sender_id"]: r for r in console.conversation_queries.conversations(ConversationFilter()).rows}
    queue = queue_texts(console, status="all")
    console.summariser.batch_size = 1
    console.summariser.rebuild()
    assert listed(console, include_empty=True) == before
    assert {r["sender_id"]: r for r in console.conversation_queries.conversations(ConversationFilter()).rows} == rows
    assert queue_texts(console, status="all") == queue
