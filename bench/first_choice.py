"""How often the classifier's first choice (and its top three) is a topic the question asks about.

The ceiling of any threshold or calibration: the fallback can only let through a first choice, and
the suggestions only offer the top three. Measured, never tuned on, for the held-out verbatim set
and the verbatim development sets, with the trained model (``models/heinz.tar.gz``), questions with
at least one topic only.

    .venv/bin/python bench/first_choice.py
    .venv/bin/python bench/first_choice.py --model /tmp/other.tar.gz
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from answer_quality import DEVELOPMENT, HELD_OUT, Question, load_questions  # noqa: E402

from core.topics import FALLBACK_INTENT, topic_for  # noqa: E402

SETS = {"held-out, verbatim": [HELD_OUT], "development, verbatim": DEVELOPMENT[1:]}


async def first_and_top3(agent, questions: List[Question]) -> Tuple[int, int]:
    first = top3 = 0
    for question in questions:
        parsed = await agent.parse_message(question.text)
        # The classifier's own ranking (the fallback puts nlu_fallback first): an intent that is no
        # topic (out_of_scope, chitchat) ranked first is a wrong first choice.
        ranked = [topic_for(e["name"]) for e in parsed.get("intent_ranking") or [] if e["name"] != FALLBACK_INTENT]
        first += bool(ranked) and ranked[0] in question.topics
        top3 += any(topic in question.topics for topic in ranked[:3] if topic)
    return first, top3


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "heinz.tar.gz")
    args = parser.parse_args()
    from rasa.core.agent import Agent  # slow to import: after the arguments are read

    agent = Agent.load(str(args.model))
    for name, paths in SETS.items():
        questions = [q for q in load_questions(paths) if q.topics]
        first, top3 = await first_and_top3(agent, questions)
        print(f"{name}: {len(questions)} questions with a topic; first choice right {first}, in the top three {top3}")


if __name__ == "__main__":
    asyncio.run(main())
