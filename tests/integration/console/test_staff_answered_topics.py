"""A visitor's question counts under the topic its answer was about, on SQLite and PostgreSQL.

The answer action sets the ``topic`` slot to the topic it answered, right after its reply; that may
be another topic than the NLU's intent ("how much is that?" right after the deposit is classified as
cost and answered as the deposit). Staff count the question where it was answered: in the
conversation's topics, the trends, and both exports. The conversations are written by Rasa's
SQLTrackerStore as the assistant writes them (tests/support/console_events.py).
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
from tests.support.console_events import DAY, NOW, action, bot, seed_with, start, typed_answer, user

DEPOSIT_QUESTION = "is there a deposit for msit"
AMOUNT_OF_IT = "how much is that"
COST_QUESTION = "what does the msit program cost"


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
    return seed_with(db_url, {"visitor-deposit": deposit, "visitor-cost": cost})


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


def what_staff_see(console) -> Dict[str, Any]:
    return {
        "trends": top_topics(console),
        "deposit topics": console.conversation_queries.conversation("visitor-deposit")["topics_list"],
        "cost conversations": listed(console, topic="ask_cost"),
        "deposit conversations": listed(console, topic="ask_deposit"),
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
    """The answer, the note under it and the topic slot may each be read in another batch."""
    before = what_staff_see(console)
    console.summariser.batch_size = batch_size
    console.summariser.rebuild()
    assert what_staff_see(console) == before
