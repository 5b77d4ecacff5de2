"""The one home of the dialogue's names: which intents ask about a topic, which mean a miss, and
which actions answer them.

Topics themselves are declared in the knowledge file (``Knowledge.topics``); an intent asks about a
topic by its name alone (``ask_<topic>``), so the action server, the console and the tests derive
one from the other instead of keeping lists that drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional

if TYPE_CHECKING:  # pragma: no cover - typing only
    from core.knowledge import Knowledge

ANSWER_INTENT_PREFIX = "ask_"
ANSWER_ACTION = "action_answer_topic"
MISS_ACTION = "action_handle_miss"

FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE_INTENT = "out_of_scope"
# Intents that mean the assistant did not understand, with the label staff see for each.
MISS_INTENTS: Dict[str, str] = {FALLBACK_INTENT: "fallback", OUT_OF_SCOPE_INTENT: "out of scope"}
# Intents that are conversation mechanics rather than a question about a topic.
CONVERSATION_INTENTS = ("inform", "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge")


def intent_for(topic: str) -> str:
    """``deadlines`` -> ``ask_deadlines``."""
    return f"{ANSWER_INTENT_PREFIX}{topic}"


def topic_for(intent: Optional[str]) -> Optional[str]:
    """``ask_deadlines`` -> ``deadlines``; ``None`` for an intent that asks about no topic."""
    if intent and intent.startswith(ANSWER_INTENT_PREFIX) and len(intent) > len(ANSWER_INTENT_PREFIX):
        return intent[len(ANSWER_INTENT_PREFIX) :]
    return None


def topic_labels(knowledge: "Knowledge") -> Dict[str, str]:
    """Topic id -> short label for menus and charts, in the knowledge file's order."""
    return {topic_id: topic.label for topic_id, topic in knowledge.topics.items()}
