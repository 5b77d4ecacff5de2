"""Questions about another degree get "outside what I can help with", not MISM's or MSIT's answer;
questions that only mention one (as the visitor's background, or beside ours) keep their topic."""

from __future__ import annotations

from typing import Dict, List

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.other_degrees import OtherDegreeFilter
from bot.nlu.program_entities import ProgramEntityExtractor
from bot.nlu.topic_classifier import QUESTIONS
from core.knowledge import DEFAULT_KNOWLEDGE_FILE


def classified(text: str, intent: str = "ask_careers") -> Message:
    """``text`` as the pipeline leaves it for the filter: the real entity extractor has run and the
    classifier chose ``intent``, with a second question found in the message."""
    message = Message({TEXT: text})
    ProgramEntityExtractor.create({"knowledge_file": str(DEFAULT_KNOWLEDGE_FILE)}, None, None, None).process([message])
    ranking: List[Dict] = [{"name": intent, "confidence": 0.9}, {"name": "ask_cost", "confidence": 0.1}]
    message.set(INTENT, ranking[0])
    message.set(INTENT_RANKING_KEY, ranking)
    message.set(QUESTIONS, [{"text": text, INTENT: ranking[0]}, {"text": text, INTENT: ranking[1]}])
    return OtherDegreeFilter.create({}, None, None, None).process([message])[0]


@pytest.mark.parametrize(
    "text",
    [
        "What Jobs Do MPA Graduates Hold?",
        "when is the application deadline for the Tepper MBA",
        "Where do MPPs work?",
        "do you offer a PhD?",
        "I want to pursue an MBA in the US. I did my B.Com. Am I eligible to apply?",
    ],
)
def test_a_question_about_another_degree_is_out_of_scope(text):
    message = classified(text)
    assert message.get(INTENT) == {"name": "out_of_scope", "confidence": 1.0}
    assert [r["name"] for r in message.get(INTENT_RANKING_KEY)] == ["out_of_scope"]
    assert not message.get(QUESTIONS), "no part of it is answered as one of our topics"


@pytest.mark.parametrize(
    "text",
    [
        "can i get the GRE waived? i already have an MBA",
        "Can I apply with an MBA?",
        "I finished my PhD last year; is the GRE required?",
        "is MISM better than an MBA for a tech career?",  # names ours
        "For PhD programs you need an interview, but for master's programs?",  # asks about a master's
        "what jobs do graduates get?",
    ],
)
def test_a_question_that_only_mentions_another_degree_keeps_its_topic(text):
    message = classified(text)
    assert message.get(INTENT)["name"] == "ask_careers"
    assert len(message.get(QUESTIONS)) == 2
