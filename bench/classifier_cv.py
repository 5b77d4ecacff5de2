"""Which topic-classifier variant generalises to real phrasing, measured without the held-out set.

The held-out verbatim questions (tests/verbatim_questions.yml) may be measured, never tuned on. The
development questions are few (68 verbatim) and mostly answered already, so they barely tell variants
apart. This script adds a larger development proxy: 5-fold cross-validation over the real questions
in the training data (data/nlu/real_questions.yml, copied from other universities' pages and forums),
with every other training example always in training. Each variant is the TopicClassifier itself
(bot/nlu/topic_classifier.py: English by its full head, sentence vector + character and word n-grams
under one logistic regression; another language by its sentence-vector head, as the stack reads it)
with some of its config.yml settings changed, refitted per fold.

Printed per variant: on the held-back real questions, answered right / answered wrong / unsure (the
fallback's thresholds from config.yml, or ``--threshold`` / ``--agreed``) and right first choice; then the
development set as the stack would classify it, with the verbatim development questions also by
half of their source pages (A, B: sha1 of the URL), so that examples written from one half's misses
are checked on the other half, left unread. Sentence vectors are computed once per run.

    .venv/bin/python bench/classifier_cv.py                 # every variant
    .venv/bin/python bench/classifier_cv.py base real3      # some of them
    .venv/bin/python bench/classifier_cv.py config base --threshold 0.6
    .venv/bin/python bench/classifier_cv.py config --real old_real_questions.yml  # after adding questions
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import yaml
from rasa.shared.nlu.training_data.loading import load_data

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from answer_quality import DEVELOPMENT, Question, load_questions, page_half  # noqa: E402

from bot.nlu.encoder import shared_encoder  # noqa: E402
from bot.nlu.fallback import threshold_for  # noqa: E402
from bot.nlu.language import ENGLISH, language_of  # noqa: E402
from bot.nlu.second_opinion import Memory, shared_minilm  # noqa: E402
from bot.nlu.topic_classifier import TopicClassifier  # noqa: E402

REAL = ROOT / "data" / "nlu" / "real_questions.yml"
FOLDS = 5


@dataclass(frozen=True)
class Variant:
    """One way to fit the TopicClassifier: its config.yml settings with these changed, and the weight
    of the real questions among the examples."""

    changes: Tuple[Tuple[str, float], ...] = ()
    real_weight: float = 1.0


VARIANTS: Dict[str, Variant] = {
    "config": Variant(),  # config.yml as it is
    "base": Variant((("encoder_weight", 1.0),)),  # before 2026-12-04
    "w2": Variant((("encoder_weight", 2.0),)),
    "C100": Variant((("C", 100.0),)),
    "real3": Variant(real_weight=3.0),
}


def pipeline_settings(name: str) -> Dict[str, Any]:
    """A component's settings in config.yml's pipeline."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component["name"].endswith(name):
            return dict(component)
    raise SystemExit(f"config.yml has no {name}")


@dataclass(frozen=True)
class Fallback:
    """The fallback's settings (config.yml's, or changed on the command line) and its decision."""

    threshold: float
    agreed: float
    ambiguity: float

    def unsure(self, row: np.ndarray, top: str, second_opinion: str) -> bool:
        """As bot.nlu.fallback decides: below the threshold (lower when the second opinion agrees), or
        two topics too close to call."""
        first, second = np.sort(row)[::-1][:2]
        needed = threshold_for(top, {"name": second_opinion}, self.threshold, self.agreed)
        return bool(first < needed or first - second < self.ambiguity)


def fallback_settings() -> Fallback:
    """The fallback's thresholds from config.yml."""
    fallback = pipeline_settings("FallbackClassifier")
    return Fallback(
        float(fallback["threshold"]),
        float(fallback.get("agreed_threshold", 1.0)),
        float(fallback.get("ambiguity_threshold", 0.1)),
    )


def training(real_file: Path = REAL) -> Tuple[List[str], np.ndarray, np.ndarray]:
    """Every training example's text and intent, and whether it is a real question of ``real_file``
    (those are held back in turn)."""
    texts: List[str] = []
    labels: List[str] = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for example in load_data(str(path)).intent_examples:
            texts.append(example.get("text"))
            labels.append(example.get("intent"))
    real = {e.get("text") for e in load_data(str(real_file)).intent_examples}
    return texts, np.array(labels), np.array([t in real for t in texts])


def fit_predict(
    variant: Variant,
    texts: Sequence[str],
    vectors: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    second_vectors: np.ndarray,
    new_texts: Sequence[str],
    new_vectors: np.ndarray,
    new_second_vectors: np.ndarray,
) -> Tuple[List[str], np.ndarray, List[str]]:
    """The component itself fitted and asked as the stack asks it (an English text by the full head,
    sentence vector and n-grams; another language by the sentence vector alone), and the fallback's
    second opinion (English only, as the fallback asks it): the classes, the probabilities and the
    second opinions ("" where none is asked)."""
    config = {**pipeline_settings("TopicClassifier"), **dict(variant.changes)}
    config.pop("name")
    classifier = TopicClassifier(config, None, None)  # type: ignore[arg-type]  # never persisted here
    classifier.fit(texts, labels, vectors, weights=weights, heads=("full", "meaning"))
    english = np.array([language_of(text) == ENGLISH for text in new_texts])
    rows = np.zeros((len(new_texts), len(classifier.classes)))
    for flag in (True, False):
        chosen = np.where(english == flag)[0]
        if len(chosen):
            picked = [new_texts[i] for i in chosen]
            rows[chosen] = classifier.probabilities(picked, english=flag, vectors=new_vectors[chosen])
    memory = Memory(second_vectors, np.asarray(labels, dtype=str))
    opinions = [memory.opinion(vector)["name"] if flag else "" for vector, flag in zip(new_second_vectors, english)]
    return classifier.classes, rows, opinions


def development_figures(
    classes: List[str], probabilities: np.ndarray, opinions: List[str], questions: List[Question], fallback: Fallback
) -> str:
    counts: Dict[str, List[int]] = {}  # group -> [right, wrong, in scope, questions]
    for row, opinion, question in zip(probabilities, opinions, questions):
        top = classes[int(np.argmax(row))]
        answered = not fallback.unsure(row, top, opinion) and top.startswith("ask_")
        for group in ("all", page_half(question)):
            figures = counts.setdefault(group, [0, 0, 0, 0])
            figures[2] += bool(question.topics)
            figures[3] += 1
            if answered:
                figures[0 if top[len("ask_") :] in question.topics else 1] += 1
    right, wrong, in_scope, total = counts["all"]
    halves = ", ".join(
        f"{group} {c[0]}/{c[2]} wrong {c[1]}" for group, c in sorted(counts.items()) if group in ("A", "B")
    )
    return f"dev on topic {right}/{in_scope}, wrong {wrong}/{total} (verbatim pages: {halves})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument(
        "--threshold", type=float, nargs="+", help="the fallback threshold, or several (default: config.yml's)"
    )
    parser.add_argument("--agreed", type=float, help="the threshold when the second opinion agrees")
    parser.add_argument("--show-wrong", action="store_true", help="list the real questions answered wrongly")
    parser.add_argument(
        "--real",
        type=Path,
        default=REAL,
        help="hold back only the real questions of this file (an earlier copy of real_questions.yml: the "
        "same questions before and after new ones are added, the new ones always in training)",
    )
    args = parser.parse_args()
    configured = fallback_settings()
    fallbacks = [
        Fallback(
            threshold,
            args.agreed if args.agreed is not None else configured.agreed,
            configured.ambiguity,
        )
        for threshold in (args.threshold or [configured.threshold])
    ]
    texts, labels, is_real = training(args.real)
    questions = load_questions(DEVELOPMENT)
    question_texts = [q.text for q in questions]
    encoder, second = shared_encoder(2), shared_minilm()
    # The training examples' vectors come from the cache training keeps (the same texts, the same vectors).
    vectors, question_vectors = encoder.encode_examples(texts), encoder.encode(question_texts)
    second_vectors, question_second = second.encode_examples(texts), second.encode_many(question_texts)
    held = np.random.RandomState(0).permutation(np.where(is_real)[0])
    print(f"{len(texts)} examples, {len(held)} real questions in {FOLDS} folds; fallback {fallbacks[0]}")
    for name in args.variants:
        variant, started = VARIANTS[name], time.monotonic()
        weights = np.where(is_real, variant.real_weight, 1.0)
        held_back: List[Tuple[List[str], np.ndarray, str, int]] = []  # classes, row, opinion, index
        for fold in range(FOLDS):
            test = held[fold::FOLDS]
            train = np.setdiff1d(np.arange(len(texts)), test)
            classes, rows, opinions = fit_predict(
                variant,
                [texts[i] for i in train],
                vectors[train],
                labels[train],
                weights[train],
                second_vectors[train],
                [texts[i] for i in test],
                vectors[test],
                second_vectors[test],
            )
            held_back.extend((classes, row, opinion, index) for row, opinion, index in zip(rows, opinions, test))
        classes, rows, opinions = fit_predict(
            variant, texts, vectors, labels, weights, second_vectors, question_texts, question_vectors, question_second
        )
        for fallback in fallbacks:
            right = wrong = doubtful = first = 0
            for fold_classes, row, opinion, index in held_back:
                top = fold_classes[int(np.argmax(row))]
                first += top == labels[index]
                if fallback.unsure(row, top, opinion):
                    doubtful += 1
                elif top == labels[index]:
                    right += 1
                else:
                    wrong += 1
                    if args.show_wrong:
                        print(
                            f"  wrong at {fallback.threshold:.2f}: {labels[index]} read as {top} {row.max():.2f}:"
                            f" {texts[index]}"
                        )
            print(
                f"{name:9s} {fallback.threshold:.2f} real questions: right {right}, wrong {wrong}, unsure {doubtful},"
                f" right first choice {first} | {development_figures(classes, rows, opinions, questions, fallback)}"
                f" ({time.monotonic() - started:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
