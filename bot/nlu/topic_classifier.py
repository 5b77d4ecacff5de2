"""NLU component: which topic a visitor's message asks about, and each of two questions in one message.

A logistic regression over two kinds of features:
- what the sentence means, from a pretrained multilingual sentence encoder (``bot/nlu/encoder.py``),
  so "what does it cost" lands on tuition although no example says it that way;
- its character and word n-grams (TF-IDF), so names, typos and abbreviations ("GRE", "I-20",
  "apllication") still count.
The classifier owns its features instead of reading them from featurizers upstream because it also
classifies *parts* of a message: "what's the fee, and when is the deadline?" is split at a clause
boundary, and when each part asks a different topic confidently the message carries both
(``questions``), so the action answers both. Its ranking is the first part's.

The sentence encoder is most of the cost of a turn, so a message the n-grams alone classify with
high confidence (``shortcut_confidence``, tuned on the development questions: there a third head over
the n-grams alone is as precise as the full model above it) is answered without it; only the
questions worded unlike our examples pay for the encoder.

It also tells which language the message is in (``language``): answers are in English only. A
message in another language is classified by a second regression over the sentence vector alone:
the n-grams of English examples say nothing about Chinese or Spanish words, and a program name among
them ("MISM需要多长时间？") would otherwise outweigh the meaning.
The trained model is plain arrays and vocabularies (no pickled objects) in Rasa's model storage.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import numpy as np
from joblib import Parallel, delayed
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.nlu.encoder import shared_encoder, training_threads
from bot.nlu.input_guard import PLACEHOLDER
from bot.nlu.language import ENGLISH, language_of
from core.topics import ALSO_ASKED, ANSWER_INTENT_PREFIX, COMPLAINT_INTENT, CORRECTION, LANGUAGE, QUESTIONS

logger = logging.getLogger(__name__)

# "full": sentence vector + n-grams; "meaning": the sentence vector alone (other languages);
# "ngrams": the n-grams alone (the confident shortcut).
HEADS = ("full", "meaning", "ngrams")
# Where a message may hold a second question: after a sentence's end, at a semicolon or line break,
# at "and / also / plus" followed by a question word or a new noun phrase, or at an "and" between two
# things asked about ("the minimum GRE and TOEFL scores?"): a reading counts only when each part is
# confidently about a different topic.
# Verbs that follow an "and" joining two things one does ("can I work and study"): one question.
DOING = (
    r"study|studying|work|working|apply|get|take|live|pay|start|finish|stay|attend|complete|graduate|"
    r"transfer|switch|change|defer|enroll|submit|send|earn|have|be|do|go|come|learn|use|keep|make|still"
)
ASKING = r"what|what's|whats|when|where|how|is|are|do|does|did|can|could|will|would|should|which|who|why|any"
SPLIT = re.compile(
    r"(?<=[?!.])\s+(?=\S)|\s*[;\n]\s*|,?\s+(?:and|also|plus|&)\s+(?=(?:" + ASKING + r"|the|i|also)\b)"
    r"|\s+(?:and|&)\s+(?!(?:" + DOING + r")\b)(?=\w)",
    re.IGNORECASE,
)
# The two things an "and" joins, and the words they share ("the minimum GRE and TOEFL scores"): the
# word before it and the one after it (its article dropped: the words before it hold one); neither a
# question word nor a verb of doing.
JOINING = re.compile(r",?\s+(?:and|&)\s+", re.IGNORECASE)
ASKING_WORDS = frozenset(ASKING.split("|"))
DOING_WORDS = frozenset(DOING.split("|"))
JOINED_BEFORE = re.compile(r"(\w[\w'’-]*)\s*$")
JOINED_AFTER = re.compile(r"^(?:(?:the|a|an|my|your|its)\s+)?(?P<word>\w[\w'’-]*)", re.IGNORECASE)
# A sentence's end in any script: Latin marks before a space, CJK and Devanagari marks anywhere.
SENTENCE_END = re.compile(r"(?<=[?!.])\s+(?=\S)|(?<=[？！。।])\s*(?=[^\s？！。।])")
MAX_SPLITS = 2  # candidate split points tried per message (each adds two or four parts to encode)
MAX_PARTS = 4  # questions of an unsure message encoded one by one
# A part made only of these words names nothing of its own ("How does it work? How do I apply?"):
# it asks about the part before it, so it is not a second question.
REFERRING = frozenset(
    "how do does i we you apply it this that work works for to can what is are the one them they".split()
)
# A second part that starts like a question ("... and when is the deadline").
QUESTION_START = re.compile(r"^(?:(?:and|also|plus|&)\s+)?(?:" + ASKING + r")\b", re.IGNORECASE)

# What a complaint says was wanted: the words after "I meant", "I wanted", "I was asking about".
WANTED = re.compile(
    r"^.*\b(?:i\s+(?:meant|mean|wanted|want|was\s+asking|am\s+asking|asked|was\s+looking\s+for|need(?:ed)?)"
    r"|my\s+question\s+(?:is|was))\b(?:\s+(?:to\s+know|to\s+ask|about|for|is|was|the\s+answer\s+to))*"
    r"\s*[:,-]?\s*(?P<wanted>.*\w.*)$",
    re.IGNORECASE | re.DOTALL,
)
NOTHING_WANTED = re.compile(r"^(?:to\s+(?:know|ask|say|hear)|it|that|this)?\W*$", re.IGNORECASE)


def wanted_part(text: str) -> Optional[str]:
    """The words of a complaint that say what was wanted ("i wanted the start date": "the start date";
    the last such clause, and none in "that isn't what I wanted to know")."""
    found = WANTED.search(text)
    wanted = found.group("wanted").strip(" ?.!,") if found else ""
    return None if NOTHING_WANTED.match(wanted) else wanted


def asks(part: str) -> bool:
    """A part reads as a question of its own: it ends with "?" or starts like one ("when is ...")."""
    return part.rstrip().endswith("?") or bool(QUESTION_START.match(part.strip()))


def split_candidates(text: str) -> List[Tuple[str, str]]:
    """Two-part readings of ``text`` at up to ``MAX_SPLITS`` clause boundaries: the text before and
    after one where the second part asks something ("... ? i want data analyst jobs" is one question
    with context, not two), and, at an "and" joining two things, each thing with the words they share."""
    pairs: List[Tuple[str, str]] = []
    points = 0
    for match in SPLIT.finditer(text):
        found = []
        left, right = text[: match.start()].strip(" ,"), text[match.end() :].strip(" ,")
        own_words = set(re.findall(r"[a-z']+", right.lower())) - REFERRING
        if re.search(r"\w", left) and re.search(r"\w\w", right) and asks(right) and own_words:
            found.append((left, right))
        shared = shared_readings(text, match)
        if shared:
            found.append(shared)
        pairs.extend(found)
        points += bool(found)
        if points == MAX_SPLITS:
            break
    return pairs


def shared_readings(text: str, match: "re.Match[str]") -> Optional[Tuple[str, str]]:
    """The things an "and" joins, each with everything else the message says about both: "what's the
    fee and deadline for MISM?" read as "what's the fee for MISM?" and "what's the deadline for MISM?".
    ``None`` when either is a word that names nothing of its own, or both are the same word."""
    if not JOINING.fullmatch(match.group(0)):
        return None
    before, after = text[: match.start()], text[match.end() :]
    first, second = JOINED_BEFORE.search(before), JOINED_AFTER.match(after)
    if not first or not second:
        return None
    one, other = first.group(1), second.group("word")
    words = {one.lower(), other.lower()}
    if words & (REFERRING | ASKING_WORDS | DOING_WORDS) or len(words) == 1:
        return None
    prefix, suffix = before[: first.start()], after[second.end() :]
    return (prefix + one + suffix).strip(" ,"), (prefix + other + suffix).strip(" ,")


def sentence_pairs(text: str) -> List[Tuple[str, str]]:
    """Two-part readings of ``text`` at a sentence's end ("?", "。", "？"...), for a message in any
    language."""
    pairs = []
    for match in SENTENCE_END.finditer(text):
        left, right = text[: match.start()].strip(), text[match.end() :].strip()
        if re.search(r"\w", left) and re.search(r"\w", right):
            pairs.append((left, right))
        if len(pairs) == MAX_SPLITS:
            break
    return pairs


def question_parts(text: str) -> List[str]:
    """Every clause of ``text`` that asks something of its own: a message with three or more of them
    asks more than the two questions answered."""
    pieces: List[str] = []
    start = 0
    for match in SPLIT.finditer(text):
        pieces.append(text[start : match.start()])
        start = match.end()
    pieces.append(text[start:])
    parts = [piece.strip(" ,") for piece in pieces]
    return [
        part
        for part in parts
        if re.search(r"\w\w", part) and asks(part) and set(re.findall(r"[a-z']+", part.lower())) - REFERRING
    ]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TopicClassifier(IntentClassifier, GraphComponent):
    """Config: ``C``, ``meaning_C``, ``ngram_C`` (inverse regularisation of the three heads),
    ``encoder_weight`` (scale of the sentence vector against the n-grams), ``shortcut_confidence``
    (the n-gram head answers alone from here), ``split_confidence`` (each part of a two-question
    message must reach it; ``other_split_confidence`` in another language, where the meaning head
    alone reads it), ``split_below`` (the parts are encoded only when the whole message's
    confidence is below it), ``ranking_length``, ``threads`` (encoder threads)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "C": 30.0,
            "meaning_C": 100.0,
            "ngram_C": 100.0,
            "shortcut_confidence": 0.9,
            "encoder_weight": 1.0,
            "split_confidence": 0.6,
            "other_split_confidence": 0.76,
            "split_below": 0.9,
            "ranking_length": 10,
            "threads": 1,
            "max_iter": 3000,
        }

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, lowercase=True)
        self.words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
        self.classes: List[str] = []
        self.heads: Dict[str, Head] = {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TopicClassifier":
        return cls(config, model_storage, resource)

    # -- training --------------------------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            return self._resource
        texts = [e.get(TEXT) for e in examples]
        vectors = shared_encoder(int(self.config["threads"])).encode_examples(texts)
        self.fit(texts, [e.get(INTENT) for e in examples], vectors)
        self.persist()
        return self._resource

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        vectors: np.ndarray,
        weights: Optional[np.ndarray] = None,
        heads: Sequence[str] = HEADS,
    ) -> None:
        """Fit the vocabularies and ``heads`` on texts whose sentence vectors are already known, so
        the benchmark of variants (bench/classifier_cv.py) refits exactly this model per fold without
        encoding again. ``weights``: one per example (all 1 in training)."""
        self.chars.fit(texts)
        self.words.fit(texts)
        # Built only for the heads asked for (the benchmark fits the full head alone).
        features = {
            "full": lambda: self._features(texts, vectors),
            "meaning": lambda: vectors,
            "ngrams": lambda: self._ngrams(texts),
        }
        strength = {"full": "C", "meaning": "meaning_C", "ngrams": "ngram_C"}

        models = [
            LogisticRegression(C=float(self.config[strength[name]]), max_iter=int(self.config["max_iter"]))
            for name in heads
        ]
        # The heads are independent, and their solver holds the GIL most of the time: each is fitted
        # in a process of its own (joblib's, as scikit-learn uses), one per core.
        fitted = Parallel(n_jobs=min(len(heads), training_threads()), backend="loky")(
            delayed(model.fit)(features[name](), list(labels), sample_weight=weights)
            for name, model in zip(heads, models)
        )
        for name, model in zip(heads, fitted):
            self.heads[name] = Head(model.coef_, model.intercept_)
            self.classes = [str(label) for label in model.classes_]

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        return shared_encoder(int(self.config["threads"])).encode(texts)

    def _ngrams(self, texts: Sequence[str]) -> csr_matrix:
        return hstack([self.chars.transform(texts), self.words.transform(texts)]).tocsr()

    def _features(self, texts: Sequence[str], vectors: np.ndarray) -> csr_matrix:
        weighted = csr_matrix(vectors * float(self.config["encoder_weight"]))
        return hstack([weighted, self._ngrams(texts)]).tocsr()

    def probabilities(
        self, texts: Sequence[str], english: bool = True, vectors: Optional[np.ndarray] = None
    ) -> np.ndarray:
        """One row of class probabilities per text (multinomial logistic regression); ``english=False``
        uses the sentence-vector-only head. ``vectors``: the texts' sentence vectors, if known."""
        vectors = self._vectors(texts) if vectors is None else vectors
        if english:
            return self.heads["full"].probabilities(self._features(texts, vectors))
        return self.heads["meaning"].probabilities(vectors)

    def ngram_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities from the n-gram head alone (no encoder: well under a millisecond)."""
        return self.heads["ngrams"].probabilities(self._ngrams(texts))

    # -- prediction -------------------------------------------------------------------------------

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            language = language_of(text)
            message.set(LANGUAGE, language, add_to_output=True)
            if not self.heads or text == PLACEHOLDER:
                # No words (or no trained model): nothing to rank, and the fallback takes it.
                self._set_ranking(message, [{"name": None, "confidence": 0.0}])
                continue
            if language == ENGLISH:
                self._classify(message, text)
            else:
                self._classify_other_language(message, text)
        return messages

    def _classify_other_language(self, message: Message, text: str) -> None:
        """A message in another language by its meaning alone; two sentences that each ask a
        different topic confidently are two questions, as in English (only sentences are split:
        the clause words of other languages are not known here)."""
        whole = self.probabilities([text], english=False)[0]
        pairs = sentence_pairs(text)
        questions = None
        if pairs and float(whole.max()) < float(self.config["split_below"]):
            rows = self.probabilities([part for pair in pairs for part in pair], english=False)
            questions = self._two_questions(pairs, rows, float(self.config["other_split_confidence"]))
        if questions:
            self._set_questions(message, questions)
        self._set_ranking(message, self._ranking(questions[0][1] if questions else whole))

    def _classify(self, message: Message, text: str) -> None:
        """The n-grams first (the whole message, and each part of a possible two-question reading):
        when they are confident the encoder is not run; otherwise the full model decides, and for a
        question wrapped in context, the question alone may make it surer. Each text of the message
        is encoded at most once (``encoded``)."""
        pairs = split_candidates(text)
        parts = [part for pair in pairs for part in pair]
        rows = self.ngram_probabilities([text, *parts])
        shortcut = float(self.config["shortcut_confidence"])
        questions = self._two_questions(pairs, rows[1:], shortcut)
        encoded: Dict[str, np.ndarray] = {}
        ranking = self._ranking(rows[0])
        if questions is None and float(rows[0].max()) < shortcut:
            whole = self._encoded([text], encoded)[0]
            ranking = self._ranking(whole)
            # The parts are encoded only when the whole message is not clearly about one topic.
            if float(whole.max()) < float(self.config["split_below"]):
                if parts:
                    split = float(self.config["split_confidence"])
                    questions = self._two_questions(pairs, self._encoded(parts, encoded), split)
                if questions is None:
                    ranking = self._with_the_question_alone(text, whole, ranking, encoded)
        if questions:
            ranking = self._ranking(questions[0][1])
            self._set_questions(message, questions)
        if ranking[0]["name"] == COMPLAINT_INTENT:
            self._correction(message, text, encoded)
        answered = [self._ranking(row)[0]["name"] for _, row in questions] if questions else [ranking[0]["name"]]
        also = self._also_asked(text, answered, encoded)
        if also:
            message.set(ALSO_ASKED, also, add_to_output=True)
        self._set_ranking(message, ranking)

    def _correction(self, message: Message, text: str, encoded: Dict[str, np.ndarray]) -> None:
        """A complaint that says what was wanted carries those words and, when they alone are
        confidently about a topic, that topic (else the action keeps the topic being discussed)."""
        wanted = wanted_part(text)
        if not wanted:
            return
        top = self._ranking(self._encoded([wanted], encoded)[0])[0]
        confident = (
            top["name"].startswith(ANSWER_INTENT_PREFIX) and top["confidence"] >= self.config["split_confidence"]
        )
        message.set(CORRECTION, {"text": wanted, INTENT: top if confident else None}, add_to_output=True)

    def _encoded(self, texts: Sequence[str], encoded: Dict[str, np.ndarray]) -> np.ndarray:
        """The full model's rows for ``texts``, encoding only those not in ``encoded`` (which keeps them)."""
        new = [text for text in dict.fromkeys(texts) if text not in encoded]
        if new:
            encoded.update(zip(new, self.probabilities(new)))
        return np.vstack([encoded[text] for text in texts])

    def _with_the_question_alone(
        self, text: str, whole: np.ndarray, ranking: List[Dict[str, Any]], encoded: Dict[str, np.ndarray]
    ) -> List[Dict[str, Any]]:
        """A question wrapped in context ("im 38 and worried ill be the oldest"), or asked twice over
        ("Is deferral normal? What are the acceptable reasons?"): when one of its questions alone is
        more clearly about the same topic as the whole message, that question's ranking. A question
        alone is never trusted against the whole: "Is that OK?" names nothing."""
        parts = [part for part in question_parts(text)[:MAX_PARTS] if part.strip() != text.strip()]
        if not parts:
            return ranking
        top = int(whole.argmax())
        agreeing = [row for row in self._encoded(parts, encoded) if int(row.argmax()) == top]
        best = max(agreeing, key=lambda row: float(row.max()), default=None)
        return self._ranking(best) if best is not None and float(best.max()) > float(whole.max()) else ranking

    def _also_asked(self, text: str, answered: Sequence[str], encoded: Dict[str, np.ndarray]) -> List[Dict[str, Any]]:
        """The topics of a message's further questions ("is there a fee? when's the deadline? do I
        need the GRE?"), each confidently another topic than the ones answered; only for a message of
        three or more questions, so the encoder runs again only for those."""
        parts = question_parts(text)
        if len(parts) < 3:
            return []
        also: List[Dict[str, Any]] = []
        seen = set(answered)
        for part, row in zip(parts, self._encoded(parts, encoded)):
            top = self._ranking(row)[0]
            name = top["name"]
            if (
                name.startswith(ANSWER_INTENT_PREFIX)
                and name not in seen
                and top["confidence"] >= self.config["split_confidence"]
            ):
                seen.add(name)
                also.append({"text": part, INTENT: top})
        return also

    def _set_ranking(self, message: Message, ranking: List[Dict[str, Any]]) -> None:
        message.set(INTENT, ranking[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking[: int(self.config["ranking_length"])], add_to_output=True)

    def _two_questions(
        self, pairs: Sequence[Tuple[str, str]], rows: np.ndarray, threshold: float
    ) -> Optional[List[Tuple[str, np.ndarray]]]:
        """The most confident reading in which both parts ask different topics, each at least
        ``threshold`` likely."""
        best: Optional[List[Tuple[str, np.ndarray]]] = None
        best_score = 0.0
        for index, (left, right) in enumerate(pairs):
            left_row, right_row = rows[2 * index], rows[2 * index + 1]
            left_top, right_top = int(left_row.argmax()), int(right_row.argmax())
            names = self.classes[left_top], self.classes[right_top]
            if left_top == right_top or not all(name.startswith(ANSWER_INTENT_PREFIX) for name in names):
                continue
            score = min(float(left_row[left_top]), float(right_row[right_top]))
            if score >= threshold and score > best_score:
                best, best_score = [(left, left_row), (right, right_row)], score
        return best

    def _set_questions(self, message: Message, questions: Sequence[Tuple[str, np.ndarray]]) -> None:
        message.set(
            QUESTIONS, [{"text": part, INTENT: self._ranking(row)[0]} for part, row in questions], add_to_output=True
        )

    def _ranking(self, row: np.ndarray) -> List[Dict[str, Any]]:
        order = np.argsort(-row)
        return [{"name": self.classes[i], "confidence": float(row[i])} for i in order]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    # -- storage ------------------------------------------------------------------------------------

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            arrays = {f"{name}_{part}": array for name, head in self.heads.items() for part, array in head.arrays()}
            np.savez(directory / "weights.npz", **arrays)
            vocabularies = {
                "classes": self.classes,
                "chars": _vocabulary(self.chars),
                "words": _vocabulary(self.words),
            }
            (directory / "vocabularies.json").write_text(json.dumps(vocabularies), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "TopicClassifier":
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                weights = np.load(directory / "weights.npz", allow_pickle=False)
                vocabularies = json.loads((directory / "vocabularies.json").read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            logger.warning("TopicClassifier: no trained model in storage; every message will fall back.")
            return component
        names = {key.rsplit("_", 1)[0] for key in weights.files}
        component.heads = {name: Head(weights[f"{name}_coef"], weights[f"{name}_intercept"]) for name in names}
        component.classes = list(vocabularies["classes"])
        _restore(component.chars, vocabularies["chars"])
        _restore(component.words, vocabularies["words"])
        return component


@dataclass(frozen=True)
class Head:
    """One trained multinomial logistic regression, as plain arrays."""

    coef: np.ndarray
    intercept: np.ndarray

    def probabilities(self, features: Any) -> np.ndarray:
        scores = np.asarray(features @ self.coef.T + self.intercept)
        exp = np.exp(scores - np.max(scores, axis=1, keepdims=True))
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def arrays(self) -> List[Tuple[str, np.ndarray]]:
        return [("coef", self.coef), ("intercept", self.intercept)]


def _vocabulary(vectorizer: TfidfVectorizer) -> Dict[str, Any]:
    terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    return {"terms": terms, "idf": [float(v) for v in vectorizer.idf_]}


def _restore(vectorizer: TfidfVectorizer, saved: Dict[str, Any]) -> None:
    vectorizer.set_params(vocabulary={term: i for i, term in enumerate(saved["terms"])})
    vectorizer.idf_ = np.asarray(saved["idf"], dtype=np.float64)
