"""NLU component: Rasa's logistic-regression intent classifier, with its regularisation as a setting.

Rasa 3.6's ``LogisticRegressionClassifier`` trains in seconds and classifies a message in well under
a millisecond (DIET: minutes, and a TensorFlow pass per message), but fixes scikit-learn's ``C`` at
1.0. On this project's word and character counts that regularises so strongly that correct
predictions come out with low confidences, close to the wrong ones, so no FallbackClassifier
threshold keeps both the correct answers and the wrong-topic rate of DIET. A larger ``C`` separates
them; the figures per value are in docs/benchmarks.md ("Throughput and scale-out", NLU), measured
with bench/nlu_variants.py. Everything else (training, ranking, persistence) is Rasa's.
"""

from __future__ import annotations

from typing import Any, Dict, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class RegularisedLogisticRegressionClassifier(LogisticRegressionClassifier):
    """``LogisticRegressionClassifier`` with ``C`` (inverse regularisation strength) configurable."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 1.0}

    def __init__(self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=float(self.config["C"]))
