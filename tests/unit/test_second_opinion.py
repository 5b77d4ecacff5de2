"""The second encoder (all-MiniLM-L6-v2 in numpy) and the fallback rule that weighs its opinion."""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.fallback import AgreeingFallbackClassifier, threshold_for
from bot.nlu.second_opinion import shared_minilm
from core.topics import LANGUAGE, SECOND_OPINION

# The first six dimensions of the sentence vectors the model's reference implementation gives
# (transformers' BertModel in PyTorch, mean of the tokens, L2-normalised), for two sentences.
REFERENCE = {
    "how much is tuition?": [0.064363, 0.059835, -0.008749, 0.047352, 0.001973, -0.048712],
    "Do I need the GRE for MISM 和 MSIT?": [-0.064548, -0.048261, 0.048511, -0.029058, 0.015092, -0.036394],
}


def test_the_numpy_encoder_gives_the_reference_implementations_vectors() -> None:
    texts = list(REFERENCE)
    together = shared_minilm().encode(texts)  # padded and masked as one batch
    for row, text in enumerate(texts):
        alone = shared_minilm().encode([text])[0]
        assert np.allclose(alone[:6], REFERENCE[text], atol=1e-5)
        assert np.allclose(together[row], alone, atol=1e-5), "padding must not change a sentence's vector"
        assert np.linalg.norm(alone) == pytest.approx(1.0, abs=1e-5)


def test_the_same_question_in_other_words_is_nearer_than_another_question() -> None:
    cost, reworded, deadline = shared_minilm().encode_many(
        ["how much is tuition?", "what does the program cost?", "when is the application deadline?"]
    )
    assert float(cost @ reworded) > float(cost @ deadline) + 0.2
    assert shared_minilm().encode([]).shape == (0, 384)


def test_odd_input_still_gives_one_finite_unit_vector_each() -> None:
    odd = ["\x00\x00", "🙂🙂🙂", " ", "<script>alert(1)</script>", "' OR 1=1; --", "word " * 400, "\ufffd"]
    vectors = shared_minilm().encode_many(odd)
    assert vectors.shape == (len(odd), 384) and np.isfinite(vectors).all()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5), (
        "every one normalised, the long one too (cut at 256 tokens)"
    )


@pytest.mark.parametrize(
    "opinion, needed",
    [
        ({"name": "ask_cost", "similarity": 0.8}, 0.65),  # agrees: the lower threshold
        ({"name": "ask_deadlines", "similarity": 0.9}, 0.71),  # disagrees: the usual one
        (None, 0.71),  # none asked (a confident or a non-English message)
    ],
)
def test_the_threshold_is_lower_only_when_the_second_opinion_agrees(opinion, needed) -> None:
    assert threshold_for("ask_cost", opinion, 0.71, 0.65) == needed


def parsed(confidence: float, opinion: Optional[Dict[str, Any]]) -> Message:
    ranking = [{"name": "ask_cost", "confidence": confidence}, {"name": "ask_deadlines", "confidence": 0.05}]
    message = Message(data={TEXT: "what will I pay", INTENT: ranking[0], INTENT_RANKING_KEY: list(ranking)})
    if opinion:
        message.set(SECOND_OPINION, opinion)
    return message


def test_the_fallback_answers_a_nearly_sure_topic_only_when_the_second_opinion_names_it() -> None:
    fallback = AgreeingFallbackClassifier({**AgreeingFallbackClassifier.get_default_config(), "threshold": 0.71,
                                           "agreed_threshold": 0.65, "ambiguity_threshold": 0.1})  # fmt: skip
    agreed = parsed(0.68, {"name": "ask_cost", "similarity": 0.7})
    disagreed = parsed(0.68, {"name": "ask_deadlines", "similarity": 0.7})
    alone = parsed(0.68, None)
    too_low = parsed(0.6, {"name": "ask_cost", "similarity": 0.9})
    fallback.process([agreed, disagreed, alone, too_low])
    assert agreed.get(INTENT)["name"] == "ask_cost"
    assert [m.get(INTENT)["name"] for m in (disagreed, alone, too_low)] == ["nlu_fallback"] * 3
    assert disagreed.get(INTENT_RANKING_KEY)[1]["name"] == "ask_cost", "the suggestions keep the ranking"


def test_a_trained_fallback_asks_the_second_opinion_only_for_an_unsure_english_question(tmp_path) -> None:
    storage, resource = LocalModelStorage(tmp_path), Resource("fallback")
    config = {**AgreeingFallbackClassifier.get_default_config(), "threshold": 0.71, "agreed_threshold": 0.65}
    trained = AgreeingFallbackClassifier.create(config, storage, resource, ExecutionContext(None))  # type: ignore[arg-type]
    examples = {
        "ask_cost": ["how much is tuition", "what does the program cost"],
        "ask_test_scores": ["do I need the GRE"],
    }
    trained.train(TrainingData([Message(data={TEXT: t, INTENT: i}) for i, texts in examples.items() for t in texts]))
    fallback = AgreeingFallbackClassifier.load(config, storage, resource, ExecutionContext(None))  # type: ignore[arg-type]
    nearly = Message(data={TEXT: "how much will tuition be", INTENT: {"name": "ask_cost", "confidence": 0.68}})
    sure = Message(data={TEXT: "what does it cost", INTENT: {"name": "ask_cost", "confidence": 0.95}})
    chinese = Message(data={TEXT: "学费多少", INTENT: {"name": "ask_cost", "confidence": 0.68}, LANGUAGE: "zh"})
    unsure = Message(data={TEXT: "do they want my GRE results", INTENT: {"name": "ask_cost", "confidence": 0.4}})
    fallback.process([nearly, sure, chinese, unsure])
    assert nearly.get(SECOND_OPINION)["name"] == "ask_cost" and nearly.get(INTENT)["name"] == "ask_cost"
    assert sure.get(SECOND_OPINION) is None, "above the threshold the answer stands without the second encoder"
    assert chinese.get(SECOND_OPINION) is None and chinese.get(INTENT)["name"] == "nlu_fallback", "English only"
    # Below the band the opinion is still asked (the suggestions use it), and changes no decision.
    assert unsure.get(SECOND_OPINION)["name"] == "ask_test_scores"
    assert unsure.get(INTENT)["name"] == "nlu_fallback"
