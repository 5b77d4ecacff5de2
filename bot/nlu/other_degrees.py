"""NLU component: a question about another degree (an MBA, an MPA, a PhD...) is out of scope.

The assistant answers for MISM and MSIT only. "What jobs do MPA graduates hold?" or "when is the
Tepper MBA deadline?" read to the topic classifier like careers and deadlines questions, and would get
MISM's answer: another program's facts presented as the one asked about. When a message names another
degree and neither one of ours (a program entity, or a master's in general) nor the visitor's own
background ("I already have an MBA"), it gets ``out_of_scope`` at full confidence: the reply says what
the assistant covers and gives the admissions contact. Place it after the program entity extractor.
"""

from __future__ import annotations

import re
from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.base import ConfigOnlyComponent
from bot.nlu.topic_classifier import QUESTIONS
from core.topics import OUT_OF_SCOPE_INTENT

# Degrees that are neither MISM nor MSIT, nor a master's like them.
OTHER_DEGREE = re.compile(
    r"\b(?:e?MBAs?|MPAs?|MPPs?|MPH|MSW|MFA|J\.?D\.?|LL\.?M|Ph\.?\s?D\.?s?|doctoral|doctorate|"
    r"law school|medical school|business school)\b",
    re.IGNORECASE,
)
# The message also asks about a master's like ours ("for most PhD programs ..., but for master's?").
OUR_KIND = re.compile(r"\bmaster'?s?\b|\bmasters\b|\bM\.?S\.?\b|\bMSc\b", re.IGNORECASE)
# The other degree is the visitor's background, not what they ask about ("GRE waived? I have an MBA").
_NAMES = r"(?:e?MBA|MPA|MPP|MPH|MSW|MFA|J\.?D|LL\.?M|Ph\.?\s?D)\b"
BACKGROUND = re.compile(
    r"\b(?:i|i've|we)\s+(?:already\s+)?(?:have|hold|had|did|completed|finished|earned|got)\b[^.?!]{0,20}?\b"
    + _NAMES
    + r"|\b(?:my|with\s+an?|after\s+an?|after\s+my)\s+"
    + _NAMES,
    re.IGNORECASE,
)


def asks_about_another_degree(text: str, names_our_program: bool) -> bool:
    """The message is about a degree the assistant does not cover."""
    return (
        not names_our_program
        and bool(OTHER_DEGREE.search(text))
        and not OUR_KIND.search(text)
        and not BACKGROUND.search(text)
    )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class OtherDegreeFilter(ConfigOnlyComponent):
    """Sets ``out_of_scope`` on a question about another degree; place it after the entity extractor."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            ours = any(e.get("entity") in ("program", "track") for e in message.get(ENTITIES) or [])
            if message.get(INTENT) and asks_about_another_degree(message.get(TEXT) or "", ours):
                intent = {"name": OUT_OF_SCOPE_INTENT, "confidence": 1.0}
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
                message.set(QUESTIONS, [], add_to_output=True)
        return messages
