"""NLU component: keep the classifiers away from input they were never meant to see.

Visitors paste anything into a chat box: 20,000 characters, HTML, emoji only, nothing at all, SQL.
The guard runs first in the pipeline and gives the tokenizer a bounded, markup-free text; a message
with no words left (empty, emoji, punctuation, markup only) or that is code rather than a question
(``'; DROP TABLE events; --``, whose one English word would otherwise pick a topic) gets a
zero-confidence intent so the FallbackClassifier turns it into ``nlu_fallback`` and the bot answers
with its friendly "not sure" instead of another topic's answer.
The visitor's original text is untouched in the conversation log: Rasa stores ``UserUttered.text``
from the incoming message, not from the parsed copy. A message cut to ``max_chars`` says so
(``read_chars``), and the reply tells the visitor only its start was read.
"""

from __future__ import annotations

import html
import re
from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.base import ConfigOnlyComponent
from core.topics import READ_CHARS

TAG = re.compile(r"<[^>]{0,500}>")
SPACE = re.compile(r"\s+")
WORD = re.compile(r"[^\W_]", re.UNICODE)  # a letter or digit in any script
# SQL statements and injection fragments: no visitor's question looks like these.
CODE = re.compile(
    r";\s*(drop|delete|insert|update|select|alter|truncate|exec)\b"
    r"|\b(drop|truncate|alter)\s+table\b|\bunion\s+(all\s+)?select\b|\bselect\s+\*\s+from\b"
    r"|'\s*or\s+'?\w+'?\s*=\s*'?\w+|;\s*--|/\*.*\*/",
    re.IGNORECASE,
)
PLACEHOLDER = "?"  # what the tokenizer sees for a message with no words, or code


def clean_text(text: str, max_chars: int) -> str:
    """Markup removed, entities decoded, whitespace folded, cut to ``max_chars``."""
    return folded(text, max_chars)[:max_chars]


def folded(text: str, max_chars: int) -> str:
    """Markup removed, entities decoded, whitespace folded (of a bounded prefix: a little over ``max_chars``)."""
    text = html.unescape(TAG.sub(" ", text[: max_chars * 4]))
    return SPACE.sub(" ", text).strip()


def has_words(text: str) -> bool:
    return bool(WORD.search(text))


def looks_like_code(text: str) -> bool:
    return bool(CODE.search(text))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class InputGuard(ConfigOnlyComponent):
    """Bounds and cleans the text before tokenization. Config: ``max_chars`` (default 1000)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"max_chars": 1000}

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self.max_chars = int(config["max_chars"])

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            whole = folded(message.get(TEXT) or "", self.max_chars)
            cleaned = whole[: self.max_chars]
            message.set(TEXT, cleaned if has_words(cleaned) and not looks_like_code(cleaned) else PLACEHOLDER)
            if len(whole) > self.max_chars:  # the reply says only the start was read
                message.set(READ_CHARS, self.max_chars, add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class WordlessMessageFilter(ConfigOnlyComponent):
    """Sets a zero-confidence intent on messages without words (or code); place it before FallbackClassifier."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if message.get(TEXT) == PLACEHOLDER and message.get(INTENT):
                intent = {**message.get(INTENT), "confidence": 0.0}
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages
