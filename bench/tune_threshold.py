"""The fallback threshold and the suggestion floor, tuned on the development questions only.

    .venv/bin/python bench/tune_threshold.py [--model models/heinz.tar.gz]

Parses every development question (bench/answer_quality.py's DEVELOPMENT: our paraphrases and both
verbatim development sets; never the held-out sets) with the trained model, then replays the
FallbackClassifier for a range of thresholds (with the model's ambiguity threshold) and prints, per threshold:
- on topic: answerable questions answered about a topic they ask;
- misleading: questions answered about a topic they do not ask;
- recovered: unsure questions whose suggestions (actions/misses.py) include a right topic;
- unsure, no right suggestion.
A first message that names only a program (``inform``) is answered with the program overview, as
the action does. Nothing is asserted: choose the threshold, set it in config.yml, and record the
table in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from answer_quality import DEVELOPMENT, Question, load_questions  # noqa: E402

from actions import misses  # noqa: E402
from core.knowledge import load_knowledge  # noqa: E402
from core.topics import FALLBACK_INTENT, topic_for  # noqa: E402

THRESHOLDS = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7]
OVERVIEW = "program_overview"  # what a message naming only a program gets


async def parse_all(model: Path, questions: List[Question]) -> List[Dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return [await agent.parse_message(q.text) for q in questions]


def answered(parsed: Dict[str, Any], threshold: float, ambiguity: float) -> List[str]:
    """The topics the bot would answer at this threshold; empty when it would be unsure."""
    ranking = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT]
    if not ranking:
        return []
    top, second = ranking[0], (ranking[1]["confidence"] if len(ranking) > 1 else 0.0)
    if top["confidence"] < threshold or top["confidence"] - second < ambiguity:
        return []
    if parsed.get("questions"):
        return [topic_for(q["intent"]["name"]) or "" for q in parsed["questions"]]
    if top["name"] == "inform":
        return [OVERVIEW]
    topic = topic_for(top["name"])
    return [topic] if topic else []


def table(questions: List[Question], parsed: List[Dict[str, Any]], ambiguity: float, topics: List[str]) -> None:
    print(f"{'threshold':>9} {'on topic':>10} {'misleading':>11} {'recovered':>10} {'unsure, none right':>19}")
    answerable = sum(bool(q.topics) for q in questions)
    for threshold in THRESHOLDS:
        on_topic = wrong = recovered = lost = 0
        for question, parse in zip(questions, parsed):
            got = answered(parse, threshold, ambiguity)
            if got:
                on_topic += bool(question.topics) and any(t in question.topics for t in got)
                wrong += any(t not in question.topics for t in got)
            elif question.topics:
                offered = misses.suggested_topics({"intent_ranking": parse.get("intent_ranking")}, topics)
                if any(t in question.topics for t in offered):
                    recovered += 1
                else:
                    lost += 1
        print(
            f"{threshold:9.2f} {on_topic:4d}/{answerable:<5d} {wrong:5d}/{len(questions):<5d}"
            f" {recovered:10d} {lost:19d}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "heinz.tar.gz")
    parser.add_argument("--ambiguity", type=float, default=0.1, help="the FallbackClassifier's ambiguity_threshold")
    parser.add_argument("--show", type=float, help="list the misleading answers at this threshold")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    questions = load_questions(DEVELOPMENT)
    topics = list(load_knowledge().topics)
    parsed = asyncio.run(parse_all(args.model, questions))
    print(f"{len(questions)} development questions ({', '.join(p.name for p in DEVELOPMENT)})")
    table(questions, parsed, args.ambiguity, topics)
    if args.show is not None:
        for question, parse in zip(questions, parsed):
            got = answered(parse, args.show, args.ambiguity)
            if any(t not in question.topics for t in got):
                want, confidence = ",".join(question.topics) or "none", parse["intent"]["confidence"]
                print(f"  want {want:<28} got {','.join(got):<28} {confidence:.2f} {question.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
