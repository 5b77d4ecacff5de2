"""The topic classifier on its own: where a message splits into two questions, which language it is in,
and a trained model that survives Rasa's model storage (plain arrays, no pickles) and answers the same.
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np
import pytest
import yaml
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.input_guard import PLACEHOLDER
from bot.nlu.language import language_of
from bot.nlu.topic_classifier import TopicClassifier, question_parts, sentence_pairs, split_candidates, wanted_part
from core.settings import PROJECT_ROOT
from core.topics import CORRECTION, LANGUAGE, QUESTIONS


@pytest.mark.parametrize(
    "text, pairs",
    [
        ("Is there a fee, and when is the deadline?", [("Is there a fee", "when is the deadline?")]),
        ("do I need the GRE? also is it STEM?", [("do I need the GRE?", "also is it STEM?")]),
        # Two things joined by "and" are also read each with the words they share.
        (
            "what's the application fee and the deadline?",
            [
                ("what's the application fee", "the deadline?"),
                ("what's the application fee?", "what's the application deadline?"),
            ],
        ),
        (
            "What are the minimum GRE and TOEFL scores?",
            [
                ("What are the minimum GRE", "TOEFL scores?"),
                ("What are the minimum GRE scores?", "What are the minimum TOEFL scores?"),
            ],
        ),
        (
            "what are the requirements and deadlines for MISM",
            [("what are the requirements for MISM", "what are the deadlines for MISM")],
        ),
        ("deadline & fee", [("deadline", "fee")]),
        ("Can I work and study at the same time?", []),
        # A part with no word of its own asks about the part before it.
        ("What type of financial aid is available and how do I apply?", []),
        ("Do you have a fellowship program? How does it work?", []),
        ("how long and how much is mism", [("how long", "how much is mism")]),
        # Context after a question is not a second question.
        ("should i pick BIDA or the 16 month track? i want data analyst jobs", []),
    ],
)
def test_split_candidates(text: str, pairs: List[Tuple[str, str]]) -> None:
    assert split_candidates(text) == pairs


@pytest.mark.parametrize(
    "text, pairs",
    [
        ("¿Cuánto cuesta el MISM? ¿Y cuándo cierra?", [("¿Cuánto cuesta el MISM?", "¿Y cuándo cierra?")]),
        # CJK marks end a sentence with no space after them.
        ("学费多少？截止日期是哪天？", [("学费多少？", "截止日期是哪天？")]),
        ("MISM需要多长时间？", []),
        # A Latin full stop ends a sentence only before a space ("1.5" is a number).
        ("¿El programa dura 1.5 años?", []),
    ],
)
def test_sentence_pairs_in_any_language(text: str, pairs: List[Tuple[str, str]]) -> None:
    assert sentence_pairs(text) == pairs


@pytest.mark.parametrize(
    "text, parts",
    [
        (
            "is there a fee? when's the deadline? do i need gre?",
            ["is there a fee?", "when's the deadline?", "do i need gre?"],
        ),
        ("Is there a fee, and when is the deadline?", ["Is there a fee", "when is the deadline?"]),
        # Context and a part with no word of its own are not questions.
        ("How long is MISM? I work full time. How does it work?", ["How long is MISM?"]),
    ],
)
def test_question_parts(text: str, parts: List[str]) -> None:
    assert question_parts(text) == parts


@pytest.mark.parametrize(
    "text, language",
    [
        ("How long is the MISM program?", "en"),
        ("MISM需要多长时间？", "zh"),
        ("MISM 지원 마감일이 언제인가요?", "ko"),
        ("क्या MISM के लिए GRE जरूरी है?", "hi"),
        ("¿Cuánto cuesta la maestría MISM?", "es"),
        ("Quanto custa o mestrado MISM?", "pt"),
        ("is the MISM program in Pittsburgh", "en"),
        ("café near campus?", "en"),
        # Latin-script languages by their own words, or one word and a mark English never uses.
        ("¿Cuánto?", "es"),
        ("¿CÓMO APLICAR?", "es"),
        ("Posso trabalhar enquanto estudo nos EUA?", "pt"),
        ("Como faço para pagar a mensalidade?", "pt"),  # "como" and "para" are Spanish words too
        ("Quand faut-il postuler pour le master ?", "fr"),
        ("Warum ist das Studium so teuer?", "de"),
        ("Quanto costa la laurea magistrale?", "it"),
        ("Burs için nasıl başvurabilirim?", "tr"),
        ("Học phí là bao nhiêu?", "vi"),
        ("ĐIỀU KIỆN XIN HỌC BỔNG?", "vi"),
        # Names of programs and tests are no language's words: they do not make a question English.
        ("Posso trabalhar enquanto estudo no MSIT?", "pt"),
        ("¿No necesito el GRE para el MISM?", "es"),
        ("MISM GRE TOEFL?", "en"),
        ("no GRE for MISM?", "en"),
        # English that shares words or letters with them stays English.
        ("as soon as possible", "en"),
        ("no, no GRE", "en"),
        ("My name is Peña, can I apply to MISM?", "en"),
        ("will I die of boredom in Pittsburgh", "en"),
        ("I've got a question, we've been waiting", "en"),
    ],
)
def test_language_of(text: str, language: str) -> None:
    assert language_of(text) == language


EXAMPLES = {
    "ask_cost": ["how much is tuition", "what does the program cost", "tuition fees per year", "price of the degree"],
    "ask_deadlines": ["when is the deadline", "application deadline dates", "last day to apply", "when are rounds due"],
    "ask_test_scores": ["do I need the GRE", "is the GMAT required", "GRE waiver", "minimum GRE score"],
    "greet": ["hi", "hello", "good morning", "hey there"],
}


def message(text: str) -> Message:
    return Message(data={TEXT: text})


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Tuple[TopicClassifier, LocalModelStorage, Resource]:
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    resource = Resource("topic_classifier")
    classifier = TopicClassifier.create({}, storage, resource, ExecutionContext(None))  # type: ignore[arg-type]
    examples = [Message(data={TEXT: text, INTENT: intent}) for intent, texts in EXAMPLES.items() for text in texts]
    classifier.train(TrainingData(examples))
    return classifier, storage, resource


def test_a_trained_model_loads_back_and_ranks_the_same(trained) -> None:
    classifier, storage, resource = trained
    loaded = TopicClassifier.load({}, storage, resource, ExecutionContext(None))  # type: ignore[arg-type]
    texts = ["how much does it cost", "what is the deadline to apply", "do you need GRE scores"]
    assert np.allclose(classifier.probabilities(texts), loaded.probabilities(texts))
    assert loaded.classes == sorted(EXAMPLES)


def test_every_message_gets_a_ranking_its_language_and_two_questions_when_it_asks_two(trained, monkeypatch) -> None:
    classifier, _, _ = trained
    monkeypatch.setitem(classifier.config, "split_confidence", 0.3)  # four examples a topic: modest confidences
    one, two, wordless, chinese = (
        message("how much is tuition"),
        message("how much is tuition, and when is the deadline?"),
        message(PLACEHOLDER),
        message("学费多少"),
    )
    classifier.process([one, two, wordless, chinese])
    assert one.get(INTENT)["name"] == "ask_cost" and one.get(QUESTIONS) is None
    assert [q[INTENT]["name"] for q in two.get(QUESTIONS)] == ["ask_cost", "ask_deadlines"]
    assert two.get(INTENT)["name"] == "ask_cost", "the message's intent is its first question's"
    assert wordless.get(INTENT)["confidence"] == 0.0, "a message without words is left to the fallback"
    assert chinese.get(LANGUAGE) == "zh" and one.get(LANGUAGE) == "en"
    assert all(len(m.get(INTENT_RANKING_KEY)) >= 1 for m in (one, two, wordless, chinese))


def test_two_sentences_in_another_language_are_two_questions_only_when_each_is_sure(trained, monkeypatch) -> None:
    """A Spanish message asking the cost and the deadline was answered with the cost alone (only English
    was split); a part the meaning head is not sure of still keeps the message one question."""
    classifier, _, _ = trained
    both = "¿Cuánto cuesta la matrícula? ¿Cuándo es la fecha límite?"
    monkeypatch.setitem(classifier.config, "other_split_confidence", 0.0)
    sure = message(both)
    classifier.process([sure])
    monkeypatch.setitem(classifier.config, "other_split_confidence", 1.0)
    unsure = message(both)
    classifier.process([unsure])
    assert sure.get(LANGUAGE) == "es"
    assert [q["text"] for q in sure.get(QUESTIONS)] == ["¿Cuánto cuesta la matrícula?", "¿Cuándo es la fecha límite?"]
    assert sure.get(INTENT)["name"] == sure.get(QUESTIONS)[0][INTENT]["name"]
    assert unsure.get(QUESTIONS) is None


def test_a_confident_ngram_match_skips_the_encoder(trained, monkeypatch) -> None:
    classifier, _, _ = trained
    calls: List[object] = []
    real_vectors = classifier._vectors
    monkeypatch.setattr(classifier, "_vectors", lambda texts: calls.append(texts) or real_vectors(texts))
    monkeypatch.setitem(classifier.config, "shortcut_confidence", 0.0)  # every message takes the shortcut
    shortcut = message("do I need the GRE")
    classifier.process([shortcut])
    monkeypatch.setitem(classifier.config, "shortcut_confidence", 1.1)  # no message does
    full = message("do I need the GRE")
    classifier.process([full])
    assert shortcut.get(INTENT)["name"] == full.get(INTENT)["name"] == "ask_test_scores"
    assert len(calls) == 1, "only the message the n-grams were not sure of was encoded"


def test_a_question_in_context_is_ranked_by_itself_when_it_agrees(trained, monkeypatch) -> None:
    """Context around one question dilutes it; the question alone is trusted only when it names the
    same topic as the whole message."""
    classifier, _, _ = trained
    monkeypatch.setitem(classifier.config, "shortcut_confidence", 1.1)  # the full model, as for an unsure message
    monkeypatch.setitem(classifier.config, "split_below", 1.1)
    text = "I come from a small town in Mongolia where nobody has heard of this school. When is the deadline?"
    alone = classifier.probabilities(["When is the deadline?"])[0]
    whole = classifier.probabilities([text])[0]
    assert classifier.classes[int(whole.argmax())] == "ask_deadlines" and alone.max() > whole.max()
    in_context = message(text)
    classifier.process([in_context])
    assert in_context.get(INTENT) == {"name": "ask_deadlines", "confidence": pytest.approx(float(alone.max()))}
    # A question that names nothing ("Is that OK?") never overrides what the whole message is about.
    # The rule itself, on set rows: a question alone that is surer of another topic is ignored.
    vague = "I already took the GMAT last year and my scores were fine. Is that OK?"
    scores, cost = classifier.classes.index("ask_test_scores"), classifier.classes.index("ask_cost")
    whole_vague, alone_vague = np.full(len(classifier.classes), 0.1), np.full(len(classifier.classes), 0.02)
    whole_vague[scores], alone_vague[cost] = 0.5, 0.9
    ranking = classifier._ranking(whole_vague)
    assert classifier._with_the_question_alone(vague, whole_vague, ranking, {"Is that OK?": alone_vague}) == ranking
    alone_vague[scores], alone_vague[cost] = 0.9, 0.02
    surer = classifier._with_the_question_alone(vague, whole_vague, ranking, {"Is that OK?": alone_vague})
    assert surer[0] == {"name": "ask_test_scores", "confidence": pytest.approx(0.9)}


def test_a_topic_asked_twice_over_is_ranked_by_its_clearest_question(trained, monkeypatch) -> None:
    classifier, _, _ = trained
    monkeypatch.setitem(classifier.config, "shortcut_confidence", 1.1)
    monkeypatch.setitem(classifier.config, "split_below", 1.1)
    text = "my family keeps asking about money. how much is tuition? is it the same every year?"
    rows = classifier.probabilities(question_parts(text))
    whole = classifier.probabilities([text])[0]
    assert classifier.classes[int(whole.argmax())] == "ask_cost" and rows.max() > whole.max()
    asked = message(text)
    classifier.process([asked])
    assert asked.get(INTENT) == {"name": "ask_cost", "confidence": pytest.approx(float(rows.max()))}


def test_each_question_of_an_unsure_message_is_encoded_once(trained, monkeypatch) -> None:
    """The two-question reading, the question alone and the third question share their encodings."""
    classifier, _, _ = trained
    encoded: List[str] = []
    real_vectors = classifier._vectors
    monkeypatch.setattr(classifier, "_vectors", lambda texts: encoded.extend(texts) or real_vectors(texts))
    monkeypatch.setitem(classifier.config, "shortcut_confidence", 1.1)
    monkeypatch.setitem(classifier.config, "split_below", 1.1)
    monkeypatch.setitem(classifier.config, "split_confidence", 1.1)  # no two-question reading: every path runs
    classifier.process([message("how much is tuition? when is the deadline? do I need the GRE?")])
    assert "when is the deadline?" in encoded and len(encoded) == len(set(encoded)), encoded


@pytest.mark.parametrize(
    "text, wanted",
    [
        ("thats not what i asked, i wanted the start date", "the start date"),
        ("thats wrong, i meant the bida track", "the bida track"),
        ("not helpful, my question was whether the gre is required", "whether the gre is required"),
        ("no i meant for msit", "msit"),
        ("that isn't what i wanted to know", None),
        ("you didn't answer what i asked", None),
        ("wrong", None),
    ],
)
def test_what_a_complaint_says_was_wanted(text: str, wanted) -> None:
    assert wanted_part(text) == wanted


def test_a_complaint_carries_the_topic_it_wanted_only_when_sure(trained) -> None:
    """ "that's not what I asked, I wanted the deadline": the wanted words' own topic, for the action
    to answer; words that name no topic confidently leave it to the topic being discussed."""
    classifier, _, _ = trained
    text = "thats not what i asked, i wanted the deadline"
    sure, unsure = np.full(len(classifier.classes), 0.02), np.full(len(classifier.classes), 0.2)
    sure[classifier.classes.index("ask_deadlines")] = 0.9
    complaint = message(text)
    classifier._correction(complaint, text, {"the deadline": sure})
    assert complaint.get(CORRECTION) == {
        "text": "the deadline",
        INTENT: {"name": "ask_deadlines", "confidence": pytest.approx(0.9)},
    }
    vague = message(text)
    classifier._correction(vague, text, {"the deadline": unsure})
    assert vague.get(CORRECTION) == {"text": "the deadline", INTENT: None}
    plain = message("wrong")
    classifier._correction(plain, "wrong", {})
    assert plain.get(CORRECTION) is None


def test_two_sentences_in_another_language_need_what_the_fallback_asks_of_a_whole_message():
    """config.yml sets the same number twice (a component cannot read another's settings): a retuned
    fallback threshold must move ``other_split_confidence`` with it."""
    pipeline = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["pipeline"]
    settings = {component["name"].rsplit(".", 1)[-1]: component for component in pipeline}
    threshold = settings["AgreeingFallbackClassifier"]["threshold"]
    assert settings["TopicClassifier"]["other_split_confidence"] == threshold
