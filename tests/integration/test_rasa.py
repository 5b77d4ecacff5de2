"""Rasa's own checks on the project: data validation, conversation tests, held-out NLU evaluation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from console.training.gate import MIN_WEIGHTED_F1  # the gate and the suite share the floor
from core.settings import PROJECT_ROOT

RASA = str(Path(sys.executable).with_name("rasa"))

pytestmark = pytest.mark.slow


def rasa(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([RASA, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)


def test_training_data_is_valid(domain_dict):
    result = rasa("data", "validate")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    warnings = re.findall(r"UserWarning: (.*)", result.stdout + result.stderr)
    # Responses sent from custom actions (the welcomes by action_greet; or, for utter_action_failed, by
    # Rasa when the action server fails: bot/rasa_patches/action_guard.py; the follow-up form's questions
    # by the form itself; the hand-off announcements by the web server) never appear in stories; anything
    # else is a real problem.
    sent_by_actions = re.compile(
        r"The utterance '(utter_answer|utter_unknown|utter_answer_contact|utter_phrase_\w+|utter_fallback"
        r"|utter_handoff\w*|utter_out_of_scope|utter_other_program|utter_action_failed"
        r"|utter_feedback_helpful|utter_feedback_not_helpful|utter_feedback_corrected|utter_read_start"
        r"|utter_offer_\w+|utter_greet\w*|utter_also_asked|utter_suggest_topics?|utter_english_only|utter_in_english|utter_ask_followup_\w+|utter_invalid_\w+|utter_followup_\w+)'"
        r" is not used in any story or rule\."
    )
    # The feedback intent is only ever a button payload (/feedback{"helpful":"no"}): typed phrases
    # like "that helped" belong to `thank` and "not helpful" to `complain`, so it has no NLU examples.
    button_only = "The intent 'feedback' is listed in the domain file, but is not found in the NLU training data."
    unexpected = [w for w in warnings if not sent_by_actions.fullmatch(w.strip()) and w.strip() != button_only]
    assert unexpected == []


def test_conversations(trained_model, tmp_path):
    result = rasa(
        "test",
        "core",
        "--model",
        str(trained_model),
        "--stories",
        "tests/test_conversations.yml",
        "--fail-on-prediction-errors",
        "--out",
        str(tmp_path),
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, details + result.stdout[-3000:] + result.stderr[-3000:]


def test_held_out_nlu_evaluation(trained_model, tmp_path, capsys):
    holdout = PROJECT_ROOT / "tests" / "nlu_holdout.yml"
    examples = [
        line
        for block in yaml.safe_load(holdout.read_text())["nlu"]
        for line in block["examples"].splitlines()
        if line.strip().startswith("- ")
    ]
    assert len(examples) >= 150
    result = rasa("test", "nlu", "--model", str(trained_model), "--nlu", str(holdout), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "intent_report.json").read_text())
    with capsys.disabled():  # the figures belong in the CI log even when the test passes
        print(format_report(report))
    weighted = report["weighted avg"]["f1-score"]
    assert weighted >= MIN_WEIGHTED_F1


def format_report(report: dict) -> str:
    """Rasa's intent report as a per-intent precision / recall / F1 table."""
    lines = [
        "",
        "Held-out NLU evaluation (tests/nlu_holdout.yml)",
        f"{'intent':<24}{'precision':>10}{'recall':>10}{'f1':>8}{'n':>5}",
    ]
    rows = {k: v for k, v in report.items() if isinstance(v, dict) and "f1-score" in v}
    summary = ("macro avg", "weighted avg", "micro avg")
    for intent in [*sorted(k for k in rows if k not in summary), *(k for k in summary if k in rows)]:
        scores = rows[intent]
        lines.append(
            f"{intent:<24}{scores['precision']:>10.3f}{scores['recall']:>10.3f}"
            f"{scores['f1-score']:>8.3f}{scores['support']:>5}"
        )
    lines.append(f"accuracy {report.get('accuracy', 0):.3f}; the suite fails below weighted F1 {MIN_WEIGHTED_F1}")
    return "\n".join(lines)


def test_holdout_examples_never_appear_in_training():
    def normalise(text: str) -> str:
        return re.sub(r"[^\w]+", " ", text.lower()).strip()

    def examples(path: Path):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu", []):
            for line in block.get("examples", "").splitlines():
                if line.strip().startswith("- "):
                    yield normalise(line.strip()[2:])

    training = {e for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml") for e in examples(path)}
    overlap = [e for e in examples(PROJECT_ROOT / "tests" / "nlu_holdout.yml") if e in training]
    assert overlap == []
    # The verbatim held-out questions (bench/answer_quality.py) are never training examples either, nor
    # the second development sets (they measure only while the model has not seen them).
    for name in (
        "verbatim_questions.yml",
        "verbatim_other_languages.yml",
        "verbatim_dev_questions_2.yml",
        "verbatim_dev_other_languages.yml",
    ):
        held_out = yaml.safe_load((PROJECT_ROOT / "tests" / name).read_text(encoding="utf-8"))["questions"]
        assert [q["text"] for q in held_out if normalise(q["text"]) in training] == [], name
