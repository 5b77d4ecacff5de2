"""A typed complaint ("that's not what I asked") in the console, on SQLite and PostgreSQL.

Unlike a click, it is shown as the visitor wrote it; it rates "not helpful" only the answer that
replied to the visitor's message just before it, never an older one.
"""

from __future__ import annotations

import pytest

from console.conversations.queries import ConversationFilter
from console.missed.queries import MissedFilter
from tests.support.console_events import DAY, NOW, seed_with, start, typed_answer, typed_complaint, user

COMPLAINED_QUESTION = "what do i need to get in to mism"
ANSWERED_QUESTION = "is there an application fee for msit"
COMPLAINT = "thats not what i asked, i meant the gpa"
AFTER_A_MISS = "you didnt understand me at all"


@pytest.fixture
def seeded(db_url) -> str:
    """The shared conversations, plus one with a complaint after an answer and one after a miss."""
    t = NOW - 1 * DAY + 7200
    events = (
        start(t)
        + [user(COMPLAINED_QUESTION, "ask_requirements", 0.91, t + 1)]
        + typed_answer("Requirements, MISM: a bachelor's degree …", t + 2, "utter_answer", "requirements")
        + typed_complaint(COMPLAINT, t + 10)
        + [user(ANSWERED_QUESTION, "ask_application_fee", 0.97, t + 20)]
        + typed_answer("Application fee, MSIT: $75 …", t + 21, "utter_answer", "application_fee")
        + [user("qwerty zxcv", "nlu_fallback", 0.2, t + 30)]
        + typed_answer("Sorry, I'm not sure I understood that.", t + 31, "utter_fallback")
        + typed_complaint(AFTER_A_MISS, t + 40)
    )
    return seed_with(db_url, {"visitor-complaints": events})


def not_helpful_queue(console) -> list:
    groups, _, _ = console.missed_queries.missed_groups(MissedFilter(reason="not_helpful"))
    return [group.text for group in groups]


def test_a_complaint_puts_the_question_it_follows_in_the_missed_queue(console):
    queue = not_helpful_queue(console)
    assert COMPLAINED_QUESTION in queue
    # The fee answer was two messages before the second complaint: that complaint was about the miss.
    assert ANSWERED_QUESTION not in queue
    assert COMPLAINT not in queue and AFTER_A_MISS not in queue, "a complaint is not itself a missed question"


def test_the_transcript_shows_the_complaint_as_typed_and_marks_the_answer(client):
    page = client.get("/staff/conversations/visitor-complaints").get_data(as_text=True)
    assert COMPLAINT in page and AFTER_A_MISS in page
    assert page.count("Visitor feedback: Not helpful") == 1
    assert page.index("a bachelor&#39;s degree") < page.index("Visitor feedback: Not helpful") < page.index(COMPLAINT)


def test_a_conversation_with_a_complaint_is_flagged_for_review(console):
    listed = console.conversation_queries.conversations(ConversationFilter(missed=True)).rows
    assert "visitor-complaints" in [row["sender_id"] for row in listed]
    row = console.conversation_queries.conversation("visitor-complaints")
    assert row["not_helpful"] == 2 and row["visitor_messages"] == 5


def test_complaints_read_one_event_at_a_time_rate_the_same_answer(console):
    """A batch may end between the answer, the complaint and the next question."""
    before = not_helpful_queue(console)
    console.summariser.batch_size = 1
    console.summariser.rebuild()
    assert not_helpful_queue(console) == before == [COMPLAINED_QUESTION]
