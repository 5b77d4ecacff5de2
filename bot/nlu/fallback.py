"""When the bot answers and when it offers the likely topics instead: Rasa's FallbackClassifier, plus
one rule. A topic the classifier is nearly sure of (``agreed_threshold`` up to ``threshold``) is
answered when the second opinion (``bot/nlu/second_opinion.py``: the nearest training example by a
second encoder) names the same topic: on the development questions the two agreeing cut the wrong
answers of a lower threshold back to those of the higher one (docs/benchmarks.md). The second
encoder runs only for a message the classifier is not sure of (below ``threshold``); below the band
its opinion does not change the decision, and the suggestions offered instead may use it
(``actions/misses.py``).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Tuple, Type

import numpy as np
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.language import ENGLISH
from bot.nlu.second_opinion import Memory, shared_minilm
from core.topics import LANGUAGE, QUESTIONS, SECOND_OPINION

logger = logging.getLogger(__name__)


def threshold_for(
    intent: Optional[str], second_opinion: Optional[Dict[str, Any]], threshold: float, agreed_threshold: float
) -> float:
    """The confidence ``intent`` needs: ``agreed_threshold`` when the second opinion names it too."""
    if intent and second_opinion and second_opinion.get("name") == intent:
        return min(threshold, agreed_threshold)
    return threshold


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class AgreeingFallbackClassifier(FallbackClassifier):
    """Rasa's FallbackClassifier whose threshold is ``agreed_threshold`` when the second opinion agrees
    (the ambiguity check is unchanged). Trained: it keeps the examples' second-encoder vectors."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**FallbackClassifier.get_default_config(), "agreed_threshold": 1.0}

    @classmethod
    def required_components(cls) -> List[Type]:
        """None that Rasa can check: its training graph holds no classifier upstream of a trained
        component's training, and Rasa's check would refuse this one there. config.yml places it after
        the TopicClassifier, whose confidences it reads."""
        return []

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: Optional[ModelStorage] = None,
        resource: Optional[Resource] = None,
        memory: Optional[Memory] = None,
    ) -> None:
        super().__init__(config)
        self._model_storage = model_storage
        self._resource = resource
        self.memory = memory

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "AgreeingFallbackClassifier":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if examples and self._model_storage is not None and self._resource is not None:
            self.memory = Memory.of([e.get(TEXT) for e in examples], [e.get(INTENT) for e in examples])
            with self._model_storage.write_to(self._resource) as directory:
                np.savez(directory / "memory.npz", vectors=self.memory.vectors, labels=self.memory.labels)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "AgreeingFallbackClassifier":
        try:
            with model_storage.read_from(resource) as directory, np.load(directory / "memory.npz") as saved:
                memory = Memory(saved["vectors"], saved["labels"])
        except (ValueError, FileNotFoundError):
            logger.warning("AgreeingFallbackClassifier: no second-opinion memory; the threshold alone decides.")
            return cls(config, model_storage, resource)
        shared_minilm()  # loaded now, not on the first nearly-sure message
        return cls(config, model_storage, resource, memory)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if self._weighs(message):
                vector = shared_minilm().encode([message.get(TEXT)])[0]
                message.set(SECOND_OPINION, self.memory.opinion(vector), add_to_output=True)  # type: ignore[union-attr]
        return super().process(messages)

    def _weighs(self, message: Message) -> bool:
        """Whether to ask the second opinion: an English question (not a two-question message) the
        classifier is not sure of (below ``threshold``), which it may let through or help suggest."""
        confidence = float((message.get(INTENT) or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        unsure = confidence < float(self.component_config["threshold"])
        english = message.get(LANGUAGE, ENGLISH) == ENGLISH and not message.get(QUESTIONS)
        return self.memory is not None and unsure and english

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
