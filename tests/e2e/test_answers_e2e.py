"""Visitors' first questions over the real REST channel, as the widget sends them from each page.

The widget sends the page's program as message metadata; these tests check what a visitor on the
home page, the MISM page and the MSIT page reads on their first turn.
"""

from __future__ import annotations

import uuid

import pytest

from tests.support.chat import ask, buttons, shown
from tests.support.facts import ADMISSIONS_EMAIL

pytestmark = pytest.mark.slow


def test_on_the_msit_page_how_to_apply_answers_for_msit_with_a_switch(stack):
    replies = ask(stack, "How do I apply?", program="msit")
    assert shown(replies).startswith("How to apply, MSIT:")
    assert "[MSIT how-to-apply page](" in shown(replies)
    assert "Ask about MISM instead" in buttons(replies)


def test_on_the_home_page_how_to_apply_answers_both_programs(stack):
    replies = ask(stack, "How do I apply?")
    text = shown(replies)
    assert "• MISM:" in text and "• MSIT:" in text
    assert {"More on MISM", "More on MSIT"} <= set(buttons(replies))
    assert "Which program" not in text


def test_on_the_mism_page_the_page_program_carries_through_the_conversation(stack):
    sender = f"page-{uuid.uuid4()}"
    assert shown(ask(stack, "what are the deadlines?", "mism", sender)).startswith("Application deadlines, MISM:")
    assert "69H-V8-50" in shown(ask(stack, "Do you need GRE scores?", "mism", sender))
    switched = shown(ask(stack, "What about the online program?", "mism", sender))
    assert "MSIT" in switched and "GRE" in switched


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Is there an application fee?", "There is no application fee at Heinz College"),
        ("What does my employer need for STEM OPT?", "E-Verify"),
        ("Any info sessions coming up?", "Heinz events page"),
        ("when do I have to pay tuition?", "due January 15"),
    ],
)
def test_general_first_questions_get_an_answer_not_a_question(stack, question, expected):
    text = shown(ask(stack, question))
    assert expected in text and "Which program" not in text


@pytest.mark.parametrize(
    "question, missing",
    [
        ("what's the minimum TOEFL score for international applicants?", "minimum English-test scores"),
        ("can I postpone my start by a year?", "deferral policy"),
        ("how big is a typical MISM class?", "class-profile figures"),
    ],
)
def test_known_unknowns_are_honest_and_specific(stack, question, missing):
    text = shown(ask(stack, question))
    assert "I don't have" in text and missing in text
    assert ADMISSIONS_EMAIL in text


def test_a_question_no_topic_covers_gets_no_other_topics_answer(stack):
    replies = ask(stack, "where can I park my car on campus?")
    text = shown(replies)
    assert ADMISSIONS_EMAIL in text
    assert not any(
        r.get("text", "").startswith(("Application deadlines", "How to apply", "Info sessions")) for r in replies
    )
