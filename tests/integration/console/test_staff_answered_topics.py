"""What a question was about, and whether it was answered, decided by its answer, on SQLite and PostgreSQL.

The answer action sets the ``topic`` slot to the topic it answered, right after its reply; that may
be another topic than the NLU's intent ("how much is that?" right after the deposit is classified as
cost and answered as the deposit). Staff count the question where it was answered: in the
conversation's topics, the trends, and both exports. And a message the NLU could not place
(``nlu_fallback``) that the miss action answered as a follow-up of the topic being discussed ("ok
what about msit") is answered, not missed, yet still findable on the Missed page for training. The
conversations are written by Rasa's SQLTrackerStore as the assistant writes them
(tests/support/console_events.py).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any, Dict, List

import pytest
from rasa.shared.core.events import ActionExecuted, SlotSet

from console.conversations.queries import ConversationFilter
from console.data.dates import day_range, local_day, today
from console.exports.formats import export_chunks
from console.missed.queries import MissedFilter
from tests.support.console_client import csrf_token
from tests.support.console_events import DAY, NOW, action, bot, seed_with, start, typed_answer, user

DEPOSIT_QUESTION = "is there a deposit for msit"
AMOUNT_OF_IT = "how much is that"
COST_QUESTION = "what does the msit program cost"
DEADLINE_QUESTION = "when is the mism deadline"
FOLLOW_UP = "ok what about msit"  # nlu_fallback, answered as the deadlines for MSIT
SUGGESTED = "and what about the other thing"  # nlu_fallback, answered with the likeliest topics
UNKNOWN = "qwerty asdf"  # nlu_fallback, the honest miss


@pytest.fixture
def seeded(db_url) -> str:
    """The shared conversations (three cost questions answered without a topic slot), plus one asking
    the deposit's amount right after the deposit and one asking the cost."""
    t = NOW - 1 * DAY + 3600
    deposit = (
        start(t)
        + [user(DEPOSIT_QUESTION, "ask_deposit", 0.95, t + 1)]
        + typed_answer("Deposit, MSIT: a $500 deposit holds your place.", t + 2, "utter_answer", "deposit")
        + [user(AMOUNT_OF_IT, "ask_cost", 0.9, t + 10)]
        # The answer, a note under it (not an answer type), then the slots the action set: as Rasa stores them.
        + [
            action("action_answer_topic", t + 11),
            bot("Deposit, MSIT: the deposit is $500.", t + 11.01, utter="utter_answer"),
            bot("You also asked about:", t + 11.02, utter="utter_also_asked"),
            SlotSet("topic", "deposit", timestamp=t + 11.03),
            SlotSet("program", "msit", timestamp=t + 11.04),
            ActionExecuted("action_listen", timestamp=t + 11.05),
        ]
    )
    cost = (
        start(t + 600)
        + [user(COST_QUESTION, "ask_cost", 0.96, t + 601)]
        + typed_answer("Cost, MSIT: tuition is on the official page.", t + 602, "utter_answer", "cost")
    )
    t = NOW - 1 * DAY + 5400
    follow_up = (
        start(t)
        + [user(DEADLINE_QUESTION, "ask_deadlines", 0.95, t + 1, [{"entity": "program", "value": "mism"}])]
        + typed_answer("Deadlines, MISM: the final round is in March.", t + 2, "utter_answer", "deadlines")
        + [user(FOLLOW_UP, "nlu_fallback", 0.4, t + 10, [{"entity": "program", "value": "msit"}])]
        + typed_answer("Deadlines, MSIT: the final deadline is in June.", t + 11, "utter_answer", "deadlines", MISS)
    )
    t = NOW - 1 * DAY + 6000
    missed = (
        start(t)
        + [user(DEADLINE_QUESTION, "ask_deadlines", 0.95, t + 1)]
        + typed_answer("Deadlines, MISM: the final round is in March.", t + 2, "utter_answer", "deadlines")
        # A topic slot after a reply that is no answer (the likeliest topics) does not make it answered.
        + [user(SUGGESTED, "nlu_fallback", 0.3, t + 10)]
        + typed_answer("Is this what you're asking about?", t + 11, "utter_suggest_topic", "deadlines", MISS)
        + [user(UNKNOWN, "nlu_fallback", 0.2, t + 20)]
        + typed_answer("Sorry, I'm not sure I understood that.", t + 21, "utter_fallback", None, MISS)
    )
    return seed_with(
        db_url,
        {"visitor-deposit": deposit, "visitor-cost": cost, "visitor-follow-up": follow_up, "visitor-missed-2": missed},
    )


MISS = "action_handle_miss"


def top_topics(console) -> Dict[str, int]:
    until = today(console.tz)
    return dict(console.trend_queries.trends(until - timedelta(days=29), until).topics)


def listed(console, **flt: Any) -> List[str]:
    return [row["sender_id"] for row in console.conversation_queries.conversations(ConversationFilter(**flt)).rows]


def export_rows(console, kind: str) -> List[Dict[str, str]]:
    since = local_day(NOW - 30 * DAY, console.tz)
    start_at, end_at = day_range(since, local_day(NOW, console.tz), console.tz)
    text = "".join(export_chunks(console.store, kind, "csv", start_at, end_at, console.threshold, console.tz))
    return list(csv.DictReader(io.StringIO(text)))


def queue(console, **flt: Any) -> List[str]:
    groups, _, _ = console.missed_queries.missed_groups(MissedFilter(**flt))
    return [group.text for group in groups]


def what_staff_see(console) -> Dict[str, Any]:
    return {
        "trends": top_topics(console),
        "deposit topics": console.conversation_queries.conversation("visitor-deposit")["topics_list"],
        "cost conversations": listed(console, topic="ask_cost"),
        "deposit conversations": listed(console, topic="ask_deposit"),
    }


def what_is_missed(console) -> Dict[str, Any]:
    until = today(console.tz)
    trends = console.trend_queries.trends(until - timedelta(days=29), until)
    follow_up = console.conversation_queries.conversation("visitor-follow-up")
    return {
        "missed": queue(console, status="all"),
        "answered unsure": queue(console, status="all", reason="answered_unsure"),
        "fallbacks": queue(console, status="all", reason="fallback"),
        "missed per day": sum(trends.missed),
        "follow-up": (follow_up["missed_messages"], follow_up["hard_misses"], follow_up["topics_list"]),
        "flagged": listed(console, missed=True),
    }


def test_a_question_counts_under_the_topic_its_answer_was_about(console):
    seen = what_staff_see(console)
    # The seed's three tuition questions and "what does the msit program cost"; not "how much is that".
    assert seen["trends"]["ask_cost"] == 4 and seen["trends"]["ask_deposit"] == 2
    assert seen["deposit topics"] == ["ask_deposit"]
    assert "visitor-deposit" not in seen["cost conversations"] and "visitor-cost" in seen["cost conversations"]
    assert seen["deposit conversations"] == ["visitor-deposit"]


def test_exports_give_the_question_the_topic_of_its_answer(console):
    messages = {row["text"]: row for row in export_rows(console, "messages") if row["speaker"] == "visitor"}
    assert messages[AMOUNT_OF_IT]["topic"] == "deposit" and messages[AMOUNT_OF_IT]["intent"] == "ask_cost"
    assert messages[DEPOSIT_QUESTION]["topic"] == "deposit" and messages[COST_QUESTION]["topic"] == "cost"
    assert messages["What's the tuition?"]["topic"] == "cost", "no topic slot: the intent's topic"
    conversations = {row["conversation_id"]: row for row in export_rows(console, "conversations")}
    assert conversations["visitor-deposit"]["topics"] == "ask_deposit"


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5])
def test_topics_do_not_depend_on_batch_boundaries(console, batch_size):
    """The question, the answer, the note under it and the topic slot may each be read in another batch."""
    before = what_staff_see(console), what_is_missed(console)
    console.summariser.batch_size = batch_size
    console.summariser.rebuild()
    assert (what_staff_see(console), what_is_missed(console)) == before


def test_a_follow_up_the_assistant_answered_is_not_missed(console):
    seen = what_is_missed(console)
    assert FOLLOW_UP not in seen["missed"] and FOLLOW_UP not in seen["fallbacks"]
    # A fallback answered with the likeliest topics, or with the honest miss, is still missed.
    assert SUGGESTED in seen["fallbacks"] and UNKNOWN in seen["fallbacks"]
    assert seen["follow-up"] == (0, 0, ["ask_deadlines"])
    assert "visitor-follow-up" not in seen["flagged"] and "visitor-missed-2" in seen["flagged"]
    # The seed's five misses and the two fallbacks above, in the trends as in the totals.
    assert seen["missed per day"] == console.trend_queries.totals()["missed_messages"] == 7


def test_a_follow_up_answered_stays_findable_for_training(console, client):
    """Listed on the Missed page under its own filter, where assigning a topic makes a training example."""
    assert what_is_missed(console)["answered unsure"] == [FOLLOW_UP]
    page = client.get("/staff/missed?status=all&reason=answered_unsure").get_data(as_text=True)
    assert FOLLOW_UP in page and "Low confidence, answered" in page and UNKNOWN not in page
    token = csrf_token(client, "/staff/missed?reason=answered_unsure")
    form = {"csrf_token": token, "key": ["ok what about msit"], "action": "assigned", "intent": "ask_deadlines"}
    response = client.post("/staff/review/group", data={**form, "reason": "answered_unsure"})
    assert response.status_code == 302
    assert "- ok what about msit" in client.get("/staff/export/nlu.yml").get_data(as_text=True)
    assert queue(console, reason="answered_unsure") == [] and queue(
        console, status="assigned", reason="answered_unsure"
    )


def test_the_transcript_and_the_export_show_the_follow_up_answered(console, client):
    page = client.get("/staff/conversations/visitor-follow-up").get_data(as_text=True)
    assert FOLLOW_UP in page and "Missed:" not in page and "Low confidence, answered" in page
    turns = client.get("/staff/api/conversations/visitor-follow-up").json["turns"]
    follow_up = next(turn for turn in turns if turn["text"] == FOLLOW_UP)
    assert follow_up["missed"] is None and follow_up["answered_unsure"] is True
    rows = {row["text"]: row for row in export_rows(console, "messages") if row["speaker"] == "visitor"}
    assert rows[FOLLOW_UP]["missed"] == "" and rows[FOLLOW_UP]["topic"] == "deadlines"
    assert rows[UNKNOWN]["missed"] == "fallback" and rows[SUGGESTED]["missed"] == "fallback"
