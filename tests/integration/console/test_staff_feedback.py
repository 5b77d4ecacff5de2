"""Visitor feedback and answer-type analytics in the console, on SQLite and PostgreSQL.

The conversations are written by Rasa's SQLTrackerStore (tests/support/console_events.py) the way the
assistant writes them: answers carry their response name and the topic slot, and a feedback click
is a visitor event right after the answer it rates.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from console.conversations.queries import ConversationFilter
from console.data.dates import day_range, local_day, today
from console.exports.formats import export_chunks
from console.missed.queries import MissedFilter
from tests.support.console_events import DAY, NOW, feedback_click, seed_with, start, typed_answer, user

RATED_QUESTION = "How much does the MISM program cost in total?"
PRAISED_QUESTION = "are there scholarships for MISM students"


@pytest.fixture
def seeded(db_url) -> str:
    """The shared seven conversations, plus one with rated answers and one that ends in a hand-off."""
    t = NOW - 1 * DAY + 3600
    rated = (
        start(t)
        + [user(RATED_QUESTION, "ask_cost", 0.97, t + 1)]
        + typed_answer("Cost, MISM: tuition is on the official page.", t + 2, "utter_answer", "cost")
        + feedback_click("no", t + 10)
        + [user(PRAISED_QUESTION, "ask_scholarships", 0.95, t + 20)]
        + typed_answer(
            "I'm sorry — I don't have scholarship amounts for MISM.", t + 21, "utter_unknown", "scholarships"
        )
        + feedback_click("yes", t + 30)
    )
    t = NOW - 2 * DAY + 3600
    handed_off = (
        start(t)
        + [user("qwerty asdf", "nlu_fallback", 0.2, t + 1)]
        + typed_answer("Sorry, I'm not sure I understood that.", t + 2, "utter_fallback")
        + [user("can you book me a flight", "out_of_scope", 0.9, t + 10)]
        + typed_answer("I can't help with that one, sorry.", t + 11, "utter_handoff")
    )
    return seed_with(db_url, {"visitor-feedback": rated, "visitor-handoff": handed_off})


def last_30_days(console):
    until = today(console.tz)
    return console.trend_queries.trends(until - timedelta(days=29), until)


def test_transcript_shows_the_feedback_on_the_answer_it_rates(client, console):
    page = client.get("/staff/conversations/visitor-feedback").get_data(as_text=True)
    assert page.count("Visitor feedback: Not helpful") == 1 and page.count("Visitor feedback: Helpful") == 1
    # Each badge sits on its own answer, in the order of the conversation.
    assert page.index("tuition is on the official page") < page.index("Visitor feedback: Not helpful")
    assert page.index("Visitor feedback: Not helpful") < page.index("have scholarship amounts")
    assert page.index("have scholarship amounts") < page.index("Visitor feedback: Helpful")
    assert "Visitor rated the answer above" in page
    assert "/feedback" not in page, "the click is labelled, not shown as its raw payload"
    assert "Known unknown" in page and "Answered from knowledge" in page


def test_a_not_helpful_answer_puts_its_question_in_the_missed_queue(console, client):
    groups, _, _ = console.missed_queries.missed_groups(MissedFilter(reason="not_helpful"))
    assert [group.text for group in groups] == [RATED_QUESTION]
    everything, _, _ = console.missed_queries.missed_groups(MissedFilter())
    texts = [group.text for group in everything]
    assert RATED_QUESTION in texts and PRAISED_QUESTION not in texts
    assert not any("feedback" in text for text in texts), "a feedback click is not a question"
    page = client.get("/staff/missed?reason=not_helpful").get_data(as_text=True)
    assert RATED_QUESTION in page
    # The conversation is listed among those with a missed message.
    listed = console.conversation_queries.conversations(ConversationFilter(missed=True)).rows
    assert "visitor-feedback" in [row["sender_id"] for row in listed]


def test_feedback_clicks_are_not_counted_as_visitor_messages(console):
    row = console.conversation_queries.conversation("visitor-feedback")
    assert row["visitor_messages"] == 2 and row["missed_messages"] == 1


def test_trends_count_answer_types_containment_and_feedback(console):
    mix = last_30_days(console).answers
    assert mix.total.types == {
        "knowledge": 1,
        "known_unknown": 1,
        "fallback": 1,
        "out_of_scope": 0,
        "handoff": 1,
        "handed_to_person": 0,
        "followup": 0,
        "action_failed": 0,
    }
    # Containment: suggesting the contact keeps a conversation contained (only a person or a
    # follow-up request ends it; see test_staff_followups.py).
    written = sum(last_30_days(console).conversations)
    assert written >= 5 and (mix.total.conversations, mix.total.contained) == (written, written)
    assert (mix.total.helpful, mix.total.not_helpful) == (1, 1)
    assert mix.topics["cost"].types["knowledge"] == 1 and mix.topics["cost"].not_helpful == 1
    assert mix.topics["scholarships"].helpful == 1 and mix.topics["scholarships"].containment == 1.0
    assert mix.topics[""].types["handoff"] == 1 and mix.topics[""].containment == 1.0
    per_day = {day: tally for day, tally in zip(last_30_days(console).days, mix.days) if tally.replies}
    feedback_day = local_day(NOW - 1 * DAY + 3602, console.tz)
    assert per_day[feedback_day].not_helpful == 1
    assert per_day[feedback_day].contained == per_day[feedback_day].conversations
    handoff_day = local_day(NOW - 2 * DAY + 3602, console.tz)
    assert per_day[handoff_day].types["handoff"] == 1
    assert per_day[handoff_day].contained == per_day[handoff_day].conversations


def test_trends_page_and_cli_print_the_numbers(client, settings):
    from tests.support.console_client import run_cli

    page = client.get("/staff/trends").get_data(as_text=True)
    assert "Answer types" in page and "Containment" in page and "Visitor feedback" in page
    assert "6 of 6 conversations" in page and "100.0%" in page
    assert "suggesting the contact does" in page, "the note says what containment means"
    code, text = run_cli(settings, "stats", "--days", "30")
    assert code == 0
    assert "Containment: 100.0% (6 of 6 conversations without a person or a follow-up request)" in text
    assert "Feedback: 1 helpful, 1 not helpful (50.0% helpful)" in text
    assert "Contact suggested (25.0%)" in text


def test_exports_label_feedback_clicks(console):
    since = local_day(NOW - 30 * DAY, console.tz)
    start_at, end_at = day_range(since, local_day(NOW, console.tz), console.tz)
    text = "".join(export_chunks(console.store, "messages", "csv", start_at, end_at, console.threshold, console.tz))
    rows = [row for row in csv.DictReader(io.StringIO(text)) if row["intent"] == "feedback"]
    assert [row["text"] for row in rows] == ["Feedback on the answer: Not helpful", "Feedback on the answer: Helpful"]
    assert "/feedback{" not in text


def test_summaries_are_the_same_when_read_one_event_at_a_time(console):
    """A batch may end between a question, its answer, the answer's topic and the feedback click."""
    expected = last_30_days(console).answers
    queue = console.missed_queries.missed_groups(MissedFilter(reason="not_helpful"))[0]
    console.summariser.batch_size = 1
    console.summariser.rebuild()
    again = last_30_days(console).answers
    assert again.total == expected.total and again.topics == expected.topics
    assert [g.text for g in console.missed_queries.missed_groups(MissedFilter(reason="not_helpful"))[0]] == [
        g.text for g in queue
    ]
