"""``python -m console.training.job MODEL_ID``: train a candidate with staff's examples, check it, store it.

Started in the background by the console (``console.training.views``), one at a time; every step is
written to the model's row, so the page shows the progress after a reload. The steps:

1. the project's training data plus staff's examples (``data/nlu/staff_examples.yml`` in a copy);
2. ``rasa train`` (the same command as ``make train``);
3. the held-out NLU set (``tests/nlu_holdout.yml``): per-intent F1 of the current model and of the
   candidate, and the held-out verbatim questions (``tests/verbatim_questions.yml``): how often the
   first prediction at the fallback threshold is on topic, or a confident wrong topic (misleading);
4. the conversation tests (``rasa test core --fail-on-prediction-errors``) on the candidate;
5. the answer-quality bench (``bench/answer_quality.py --held-out-only``) on both models: each
   held-out verbatim question asked of a running stack, as visitors ask (on topic, recovered by a
   suggestion, misleading);
6. which of staff's examples the candidate now classifies as staff said (and the current model did not).

The gate (``console.training.gate``) decides whether the candidate may be activated.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import yaml

from console.data.database import ConsoleDatabase
from console.data.review import Reviews, nlu_yaml
from console.training import STEPS, gate
from core.model_store import ModelStore
from core.settings import PROJECT_ROOT, fallback_threshold, load_settings

logger = logging.getLogger(__name__)

RASA = str(Path(sys.executable).parent / "rasa")
SHIPPED_MODEL = PROJECT_ROOT / "models" / "heinz.tar.gz"
HOLDOUT = PROJECT_ROOT / "tests" / "nlu_holdout.yml"
VERBATIM = PROJECT_ROOT / "tests" / "verbatim_questions.yml"
CONVERSATIONS = PROJECT_ROOT / "tests" / "test_conversations.yml"
BENCH = PROJECT_ROOT / "bench" / "answer_quality.py"


def holdout_examples() -> List[Tuple[str, str]]:
    pairs = []
    for block in (yaml.safe_load(HOLDOUT.read_text(encoding="utf-8")) or {}).get("nlu") or []:
        for line in str(block.get("examples", "")).splitlines():
            if line.strip().startswith("- "):
                pairs.append((line.strip()[2:].strip(), block["intent"]))
    return pairs


def verbatim_questions() -> List[Tuple[str, List[str]]]:
    entries = (yaml.safe_load(VERBATIM.read_text(encoding="utf-8")) or {}).get("questions") or []
    return [(entry["text"], [f"ask_{t}" for t in entry.get("topics") or [] if t != "none"]) for entry in entries]


def prepare(workdir: Path, examples: Dict[str, List[str]]) -> Path:
    data = workdir / "data"
    shutil.copytree(PROJECT_ROOT / "data", data)
    (data / "nlu" / "staff_examples.yml").write_text(nlu_yaml(examples), encoding="utf-8")
    return data


def train(workdir: Path, data: Path) -> Path:
    out = workdir / "models"
    command = [
        RASA,
        "train",
        "--data",
        str(data),
        "--config",
        str(PROJECT_ROOT / "config.yml"),
        "--domain",
        str(PROJECT_ROOT / "domain.yml"),
        "--out",
        str(out),
        "--fixed-model-name",
        "candidate",
    ]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError("training failed: " + (result.stderr or result.stdout)[-1500:])
    return out / "candidate.tar.gz"


def predictions(model: Path, texts: Sequence[str]) -> List[Tuple[str, float]]:
    """The intent and confidence the model gives each text (Rasa's own agent, no server needed)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def parse_all() -> List[Tuple[str, float]]:
        found = []
        for text in texts:
            intent = (await agent.parse_message(text)).get("intent") or {}
            found.append((str(intent.get("name")), float(intent.get("confidence") or 0.0)))
        return found

    return asyncio.run(parse_all())


def evaluate(model: Path, threshold: float, examples: Dict[str, List[str]]) -> Dict[str, Any]:
    from sklearn.metrics import classification_report

    holdout = holdout_examples()
    verbatim = verbatim_questions()
    staff = [(text, intent) for intent, texts in examples.items() for text in texts]
    predicted = predictions(model, [t for t, _ in holdout] + [t for t, _ in verbatim] + [t for t, _ in staff])
    on_holdout, on_verbatim, on_staff = (
        predicted[: len(holdout)],
        predicted[len(holdout) : len(holdout) + len(verbatim)],
        predicted[len(holdout) + len(verbatim) :],
    )
    report = classification_report(
        [i for _, i in holdout], [p for p, _ in on_holdout], output_dict=True, zero_division=0
    )
    per_intent = {k: round(v["f1-score"], 3) for k, v in report.items() if isinstance(v, dict) and k.startswith("ask_")}
    answerable = [(labels, p) for (_, labels), p in zip(verbatim, on_verbatim) if labels]
    confident = [(labels, name) for labels, (name, conf) in answerable if conf >= threshold]
    return {
        "weighted_f1": round(report["weighted avg"]["f1-score"], 3),
        "per_intent_f1": per_intent,
        "held_out_questions": len(answerable),
        "on_topic": sum(name in labels for labels, name in confident),
        "misleading": sum(name.startswith("ask_") and name not in labels for labels, name in confident),
        "staff_examples": [
            {"text": text, "intent": intent, "predicted": name, "answered": name == intent and conf >= threshold}
            for (text, intent), (name, conf) in zip(staff, on_staff)
        ],
    }


def conversation_tests(model: Path, workdir: Path) -> Dict[str, Any]:
    out = workdir / "conversation-tests"
    command = [
        RASA,
        "test",
        "core",
        "--model",
        str(model),
        "--stories",
        str(CONVERSATIONS),
        "--fail-on-prediction-errors",
        "--out",
        str(out),
    ]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1800)
    failed_file = out / "failed_test_stories.yml"
    failed = failed_file.read_text(encoding="utf-8").count("- story:") if failed_file.exists() else 0
    return {"passed": result.returncode == 0 and failed == 0, "failed_stories": failed}


def answer_quality(current: Path, candidate: Path, workdir: Path) -> Dict[str, Dict[str, List[int]]]:
    """The bench's held-out figures for both models, each measured on its own running stack."""
    out = workdir / "answer-quality.json"
    command = [
        sys.executable,
        str(BENCH),
        "--held-out-only",
        "--baseline-model",
        str(current),
        "--model",
        str(candidate),
        "--json",
        str(out),
    ]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0 or not out.exists():
        raise RuntimeError("the answer-quality bench failed: " + (result.stderr or result.stdout)[-1500:])
    figures = json.loads(out.read_text(encoding="utf-8"))
    return {
        "before": figures["baseline model"]["held-out, verbatim"],
        "after": figures["this checkout"]["held-out, verbatim"],
    }


def run(model_id: int, database_url: str) -> None:
    store = ModelStore.at(database_url)
    console_db = ConsoleDatabase(database_url)
    try:
        examples = Reviews(console_db).assigned_examples()
        threshold = fallback_threshold()
        with tempfile.TemporaryDirectory(prefix="heinz-training-") as tmp:
            workdir = Path(tmp)
            store.progress(model_id, 1, STEPS[0])
            data = prepare(workdir, examples)
            store.progress(model_id, 2, STEPS[1])
            candidate = train(workdir, data)
            store.progress(model_id, 3, STEPS[2])
            current = current_model(store, workdir)
            before = evaluate(current, threshold, examples)
            after = evaluate(candidate, threshold, examples)
            store.progress(model_id, 4, STEPS[3])
            conversations = conversation_tests(candidate, workdir)
            store.progress(model_id, 5, STEPS[4])
            bench = answer_quality(current, candidate, workdir)
            store.progress(model_id, 6, STEPS[5])
            report = {
                "before": before,
                "after": after,
                "conversations": conversations,
                "bench": bench,
                "threshold": threshold,
            }
            report["gate"] = gate.verdict(before, after, conversations, bench)
            store.finish(model_id, candidate, report)
    except Exception as error:  # noqa: BLE001 - whatever happened, the page must say the run failed
        logger.error("Training %s failed: %s", model_id, traceback.format_exc())
        store.fail(model_id, f"{type(error).__name__}: {error}")
    finally:
        console_db.dispose()
        store.engine.dispose()


def current_model(store: ModelStore, workdir: Path) -> Path:
    """The model visitors get now: the active one from the console, else the shipped one."""
    active = store.active()
    if active is None:
        return SHIPPED_MODEL
    path = workdir / f"current-{active.id}.tar.gz"
    path.write_bytes(store.model_bytes(active.id))
    return path


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run(int(sys.argv[1]), load_settings().database_url)


if __name__ == "__main__":
    main()
