"""NLU pipelines side by side: held-out quality, fallback-threshold table, inference and training cost.

    nice -n 10 .venv/bin/python bench/nlu_variants.py bench/nlu_variants/diet.yml bench/nlu_variants/logreg.yml
    .venv/bin/python bench/nlu_variants.py --model diet=/tmp/diet.tar.gz --model logreg=models/heinz.tar.gz

Each config is trained on the project's data/ (``rasa train nlu --config C``: its wall and CPU time
are printed) unless a trained model is given with ``--model NAME=PATH``. Every model then parses
the held-out set (tests/nlu_holdout.yml, never trained on) in this one process, so the variants are
measured under the same machine load:

- the gate: weighted F1 and accuracy of the intent the pipeline returns, FallbackClassifier
  included, computed as ``rasa test nlu`` does (sklearn's classification report; ``nlu_fallback``
  counts as wrong), i.e. the figure tests/integration/test_rasa.py holds at 0.90;
- the classifier's own top confidence for correct and for wrong predictions (before the fallback);
- for each fallback threshold: how many held-out messages would get a correct answer, a wrong
  intent (``wrong``), and a wrong *answer topic* (``wrong topic``: an ``ask_*`` or ``inform``
  intent that is not the label, i.e. another topic's answer), with the config's ambiguity
  threshold applied as FallbackClassifier does; plus the gate F1 at that threshold. Choose the
  threshold that keeps wrong-topic answers as low as the reference pipeline's while keeping the
  correct ones;
- NLU inference time per message (``Agent.parse_message``, the whole pipeline), wall and CPU,
  over ``--messages`` parses, the variants interleaved round by round.

Nothing is asserted: record the output in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RASA = str(Path(sys.executable).with_name("rasa"))
HOLDOUT = ROOT / "tests" / "nlu_holdout.yml"
FALLBACK = "nlu_fallback"
THRESHOLDS = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9]


@dataclass
class Prediction:
    label: str
    intent: str  # the classifier's top intent, before the fallback
    confidence: float
    second: float  # the runner-up's confidence (for the ambiguity threshold)
    returned: str  # what the whole pipeline returned (nlu_fallback included)


@dataclass
class Variant:
    name: str
    model: Path
    config: Dict = field(default_factory=dict)
    train_wall: Optional[float] = None
    train_cpu: Optional[float] = None
    predictions: List[Prediction] = field(default_factory=list)
    wall: List[float] = field(default_factory=list)
    cpu: List[float] = field(default_factory=list)

    @property
    def ambiguity(self) -> float:
        for component in self.config.get("pipeline", []):
            if str(component.get("name", "")).endswith("FallbackClassifier"):
                return float(component.get("ambiguity_threshold", 0.1))
        return 0.0

    @property
    def threshold(self) -> Optional[float]:
        for component in self.config.get("pipeline", []):
            if str(component.get("name", "")).endswith("FallbackClassifier"):
                return float(component.get("threshold", 0.3))
        return None


def train(config: Path, out: Path) -> Tuple[Path, float, float]:
    """``rasa train nlu`` with this config on data/; the model, wall seconds, CPU seconds (children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [RASA, "train", "nlu", "--config", str(config), "--out", str(out), "--fixed-model-name", config.stem]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"training {config} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out / f"{config.stem}.tar.gz", wall, cpu


def holdout_examples() -> List[Tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(HOLDOUT))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def model_config(model: Path) -> Dict:
    """The FallbackClassifier's settings stored in a trained model (enough for the threshold table)."""
    import json
    import tarfile

    with tarfile.open(model) as archive:
        member = archive.getmember("metadata.json")
        metadata = json.load(archive.extractfile(member))
    nodes = metadata.get("predict_schema", {}).get("nodes", {})
    pipeline = [
        {"name": "FallbackClassifier", **node.get("config", {})}
        for node in nodes.values()
        if "FallbackClassifier" in str(node.get("uses", ""))
    ]
    return {"pipeline": pipeline}


async def parse_all(agent, examples: List[Tuple[str, str]]) -> List[Prediction]:
    predictions = []
    for text, label in examples:
        parsed = await agent.parse_message(text)
        ranking = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != FALLBACK]
        top = ranking[0] if ranking else parsed.get("intent") or {}
        second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
        predictions.append(
            Prediction(
                label,
                top.get("name") or "None",
                float(top.get("confidence") or 0.0),
                float(second),
                (parsed.get("intent") or {}).get("name") or "None",
            )
        )
    return predictions


async def timed_parses(agent, texts: List[str]) -> Tuple[float, float]:
    """Wall and CPU seconds per message for parsing these texts."""
    cpu, started = time.process_time(), time.perf_counter()
    for text in texts:
        await agent.parse_message(text)
    return (time.perf_counter() - started) / len(texts), (time.process_time() - cpu) / len(texts)


def gate(labels: List[str], returned: List[str]) -> Tuple[float, float]:
    """Weighted F1 and accuracy as ``rasa test nlu`` reports them (sklearn's classification report)."""
    from sklearn.metrics import classification_report

    report = classification_report(labels, returned, output_dict=True, zero_division=0)
    return report["weighted avg"]["f1-score"], report["accuracy"]


def is_answer_topic(intent: str) -> bool:
    return intent.startswith("ask_") or intent == "inform"


def threshold_rows(variant: Variant) -> List[str]:
    rows = []
    for threshold in THRESHOLDS:
        kept = [
            p for p in variant.predictions if p.confidence >= threshold and p.confidence - p.second >= variant.ambiguity
        ]
        correct = sum(p.intent == p.label for p in kept)
        wrong = [p for p in kept if p.intent != p.label]
        wrong_topic = sum(is_answer_topic(p.intent) for p in wrong)
        returned = [p.intent if p in kept else FALLBACK for p in variant.predictions]
        f1, accuracy = gate([p.label for p in variant.predictions], returned)
        mark = " <- config" if variant.threshold is not None and abs(threshold - variant.threshold) < 1e-9 else ""
        rows.append(
            f"  {threshold:4.2f}  {correct:7d}  {len(wrong):5d}  {wrong_topic:11d}  {f1:6.3f}  {accuracy:6.3f}{mark}"
        )
    return rows


def confidence_summary(values: List[float]) -> str:
    if not values:
        return "none"
    values = sorted(values)
    quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    bins = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01]
    counts = [sum(lo <= v < hi for v in values) for lo, hi in zip(bins, bins[1:])]
    histogram = " ".join(
        f"[{lo:.1f},{min(hi, 1.0):.1f}{')' if hi < 1 else ']'}:{n}" for lo, hi, n in zip(bins, bins[1:], counts)
    )
    return (
        f"n={len(values)} min {values[0]:.2f} p25 {quartiles[0]:.2f} median {quartiles[1]:.2f} "
        f"p75 {quartiles[2]:.2f}  {histogram}"
    )


def report(variant: Variant) -> None:
    labels = [p.label for p in variant.predictions]
    f1, accuracy = gate(labels, [p.returned for p in variant.predictions])
    f1_raw, accuracy_raw = gate(labels, [p.intent for p in variant.predictions])
    print(f"\n== {variant.name} ({variant.model})")
    if variant.train_wall is not None:
        print(f"training (rasa train nlu): {variant.train_wall:.0f} s wall, {variant.train_cpu:.0f} s CPU")
    print(
        f"held-out gate (pipeline as configured, fallback {variant.threshold}, ambiguity {variant.ambiguity}): "
        f"weighted F1 {f1:.3f}, accuracy {accuracy:.3f}; classifier alone: weighted F1 {f1_raw:.3f}, "
        f"accuracy {accuracy_raw:.3f}"
    )
    print(
        f"inference per message: wall {statistics.median(variant.wall) * 1000:.1f} ms, "
        f"CPU {statistics.median(variant.cpu) * 1000:.1f} ms (median of {len(variant.wall)} rounds)"
    )
    print(
        "top confidence, correct: "
        + confidence_summary([p.confidence for p in variant.predictions if p.intent == p.label])
    )
    print(
        "top confidence, wrong:   "
        + confidence_summary([p.confidence for p in variant.predictions if p.intent != p.label])
    )
    print(
        "  wrong predictions: "
        + ", ".join(
            f"{p.label}->{p.intent} {p.confidence:.2f}"
            for p in sorted(variant.predictions, key=lambda p: -p.confidence)
            if p.intent != p.label
        )
    )
    print(
        f"  threshold  correct  wrong  wrong topic  w. F1  accuracy   (of {len(variant.predictions)} held-out messages)"
    )
    for row in threshold_rows(variant):
        print(row)


async def measure(variants: List[Variant], messages: int, rounds: int) -> None:
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)

    examples = holdout_examples()
    texts = [examples[i % len(examples)][0] for i in range(messages)]
    agents = {}
    for variant in variants:
        agents[variant.name] = Agent.load(str(variant.model))
        variant.predictions = await parse_all(agents[variant.name], examples)
    for _ in range(rounds):  # interleaved, so the neighbours' load falls on every variant alike
        for variant in variants:
            wall, cpu = await timed_parses(agents[variant.name], texts)
            variant.wall.append(wall)
            variant.cpu.append(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="*", type=Path, help="config files to train on data/ and compare")
    parser.add_argument("--model", action="append", default=[], help="NAME=PATH of an already trained model")
    parser.add_argument("--out", type=Path, help="where trained models go (default: a temporary directory)")
    parser.add_argument("--messages", type=int, default=200, help="parses per timing round")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="nlu-variants-"))
    variants: List[Variant] = []
    for spec in args.model:
        name, _, path = spec.partition("=")
        variants.append(Variant(name, Path(path), model_config(Path(path))))
    for config in args.configs:
        model, wall, cpu = train(config, out)
        print(f"trained {config} in {wall:.0f} s wall, {cpu:.0f} s CPU -> {model}", flush=True)
        variants.append(Variant(config.stem, model, yaml.safe_load(config.read_text()), wall, cpu))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before parsing", flush=True)
    asyncio.run(measure(variants, args.messages, args.rounds))
    print(f"load average {os.getloadavg()[0]:.1f} after parsing")
    for variant in variants:
        report(variant)


if __name__ == "__main__":
    main()
