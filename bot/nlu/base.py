"""A base for NLU components that need only their configuration: nothing trained, nothing saved."""

from __future__ import annotations

from typing import Any, Dict, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.training_data import TrainingData


class ConfigOnlyComponent(GraphComponent):
    """Rasa builds these from ``config.yml`` alone, at training and at prediction time alike."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ConfigOnlyComponent":
        return cls({**cls.get_default_config(), **config})

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.config = config

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training data is left alone: these components only act on visitors' messages."""
        return training_data
