"""When the bot answers and when it offers the likely topics instead: Rasa's FallbackClassifier, plus
one rule. A topic the classifier is nearly sure of (``agreed_threshold``, below ``threshold``) is
answered when the second opinion (``bot/nlu/second_opinion.py``: the nearest training example by a
second encoder) names the same topic: on the development questions the two agreeing cut the wrong
answers of a lower threshold back to those of the higher one (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text, Tuple

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

SECOND_OPINION = "second_opinion"  # message property set by the TopicClassifier: {"name", "similarity"}


def threshold_for(
    intent: Optional[str], second_opinion: Optional[Dict[str, Any]], threshold: float, agreed_threshold: float
) -> float:
    """The confidence ``intent`` needs: ``agreed_threshold`` when the second opinion names it too."""
    if intent and second_opinion and second_opinion.get("name") == intent:
        return min(threshold, agreed_threshold)
    return threshold


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class AgreeingFallbackClassifier(FallbackClassifier):
    """Rasa's FallbackClassifier whose threshold is ``agreed_threshold`` when the second opinion agrees
    (the ambiguity check is unchanged)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**FallbackClassifier.get_default_config(), "agreed_threshold": 1.0}

    def _nlu_confidence_below_threshold(self, message: Message) -> Tuple[bool, float]:
        intent = message.get(INTENT) or {}
        confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        needed = threshold_for(
            intent.get(INTENT_NAME_KEY),
            message.get(SECOND_OPINION),
            float(self.component_config["threshold"]),
            float(self.component_config["agreed_threshold"]),
        )
        return confidence < needed, confidence
