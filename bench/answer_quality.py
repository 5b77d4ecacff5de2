"""Answer quality on held-out visitor questions, measured against the real stack.

Each question of ``tests/visitor_questions.yml`` (never used in training) is sent as the first
message of a fresh conversation over the REST channel, with the page's program as message metadata
as the widget sends it. The bot's first reply is then read back from the tracker (token-protected
HTTP API): which response it used (``utter_action``) and which topic it settled on (the ``topic``
slot, or the response name for bots that name the topic in it).

Printed, per stack (the project, and optionally a baseline checkout in the same run):
- first-turn answer rate: in-scope questions whose first reply answers (a fact or an honest
  "I don't have that"), rather than asking back or missing;
- ask-back rate: in-scope questions whose first reply only asks which program;
- on-topic rate: answerable questions (a fact exists) whose reply is about the expected topic;
- honest-unknown rate: known unknowns answered with that topic's specific "I don't have ...";
- none handled honestly: questions no topic covers that got a miss / out-of-scope reply;
- misleading rate: all questions that got another topic's answer.

Usage:
    .venv/bin/python bench/answer_quality.py                        # this checkout
    .venv/bin/python bench/answer_quality.py --baseline-tree ../old # and a baseline checkout
    .venv/bin/python bench/answer_quality.py --show-misses          # list the wrong answers
Each tree is started with its own ``python -m webapp.launcher`` and ``models/heinz.tar.gz``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.knowledge import load_knowledge  # noqa: E402
from core.topics import topic_for  # noqa: E402

QUESTIONS = ROOT / "tests" / "visitor_questions.yml"
# Topic ids the first version of the bot used in its response names.
OLD_TOPIC_NAMES = {"overview": "program_overview", "length": "program_length"}
MISS_RESPONSES = {"utter_fallback", "utter_out_of_scope", "utter_handoff", "utter_handoff_live"}
# "Can I talk to someone?" is answered with a way to reach a person (a live chat or a follow-up
# request, with the admissions contact): the contact topic's answer.
PERSON_RESPONSES = {"utter_offer_live", "utter_offer_followup", "utter_ask_followup_name"}


@dataclass
class Outcome:
    question: Dict[str, str]
    kind: str  # answer | unknown | askback | miss | other | error
    topic: Optional[str]
    responses: List[str] = field(default_factory=list)
    intent: Optional[str] = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningStack:
    """A checkout's own launcher on free ports, conversations in a throw-away SQLite file."""

    def __init__(self, tree: Path, workdir: Path) -> None:
        self.tree = tree
        self.token = secrets.token_hex(16)
        self.rasa_port, self.action_port, self.web_port = free_port(), free_port(), free_port()
        env = {
            **os.environ,
            "RASA_PORT": str(self.rasa_port),
            "ACTION_PORT": str(self.action_port),
            "WEB_PORT": str(self.web_port),
            "RASA_TOKEN": self.token,
            "DATABASE_URL": f"sqlite:///{workdir / 'conversations.db'}",
            "PYTHONPATH": str(tree),
        }
        self.log = open(workdir / "launcher.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "webapp.launcher"],
            cwd=tree,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def wait(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack in {self.tree} exited; see {self.log.name}")
            try:
                status = requests.get(f"{self.url}/status", params={"token": self.token}, timeout=2)
                action = requests.get(f"http://127.0.0.1:{self.action_port}/health", timeout=2)
                if status.ok and status.json().get("model_file") and action.ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        raise TimeoutError(f"the stack in {self.tree} did not start in {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def ask(stack: RunningStack, question: Dict[str, str]) -> Outcome:
    """Send one question as a new conversation's first message; read back what the bot did."""
    sender = f"bench-{uuid.uuid4().hex}"
    metadata = {"page_url": f"http://localhost/{question['page']}"}
    if question["page"] != "home":
        metadata["program"] = question["page"]
    body = {"sender": sender, "message": question["text"], "metadata": metadata}
    try:
        requests.post(f"{stack.url}/webhooks/rest/webhook", json=body, timeout=30).raise_for_status()
        tracker = requests.get(
            f"{stack.url}/conversations/{sender}/tracker", params={"token": stack.token}, timeout=30
        ).json()
    except (requests.RequestException, ValueError) as error:
        return Outcome(question, "error", None, [str(error)])
    return classify(question, tracker)


def classify(question: Dict[str, str], tracker: Dict) -> Outcome:
    events = tracker.get("events") or []
    responses = [(e.get("metadata") or {}).get("utter_action") or "(text)" for e in events if e.get("event") == "bot"]
    intent = ((tracker.get("latest_message") or {}).get("intent") or {}).get("name")
    slot_topic = (tracker.get("slots") or {}).get("topic")
    first = responses[0] if responses else ""
    named = _topic_in_response(first)
    topic = OLD_TOPIC_NAMES.get(named or "", named) or OLD_TOPIC_NAMES.get(slot_topic or "", slot_topic)
    if first == "utter_ask_program":
        kind = "askback"
    elif first.startswith("utter_answer"):
        kind = "answer"
    elif first.startswith("utter_unknown"):
        kind = "unknown"
    elif first in MISS_RESPONSES:
        kind, topic = "miss", None
    elif first in PERSON_RESPONSES:
        kind, topic = "answer", "contact"
    else:
        kind = "other"
    if kind == "askback":
        topic = OLD_TOPIC_NAMES.get(slot_topic or "", slot_topic) or topic_for(intent)
    return Outcome(question, kind, topic, responses, intent)


def _topic_in_response(name: str) -> Optional[str]:
    """``utter_answer_deadlines`` -> ``deadlines`` (the first bot's naming); else ``None``."""
    for prefix in ("utter_answer_", "utter_unknown_"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return None


def score(outcomes: List[Outcome], unknowns: set) -> Dict[str, Tuple[int, int]]:
    def expected(o: Outcome) -> str:
        label = o.question["topic"]
        return OLD_TOPIC_NAMES.get(label, label)

    in_scope = [o for o in outcomes if expected(o) != "none"]
    answerable = [o for o in in_scope if expected(o) not in unknowns]
    unknown_qs = [o for o in in_scope if expected(o) in unknowns]
    none_qs = [o for o in outcomes if expected(o) == "none"]
    return {
        "first-turn answer rate": (sum(o.kind in ("answer", "unknown") for o in in_scope), len(in_scope)),
        "ask-back rate": (sum(o.kind == "askback" for o in in_scope), len(in_scope)),
        "on-topic rate (answerable)": (
            sum(o.kind in ("answer", "unknown", "askback") and o.topic == expected(o) for o in answerable),
            len(answerable),
        ),
        "honest-unknown rate (known unknowns)": (
            sum(o.kind == "unknown" and o.topic == expected(o) for o in unknown_qs),
            len(unknown_qs),
        ),
        "none handled honestly": (sum(o.kind in ("miss", "unknown") for o in none_qs), len(none_qs)),
        "misleading rate (another topic's answer)": (
            sum(o.kind == "answer" and o.topic != expected(o) for o in outcomes),
            len(outcomes),
        ),
    }


def run_tree(tree: Path, questions: List[Dict[str, str]]) -> List[Outcome]:
    with tempfile.TemporaryDirectory(prefix="answer-quality-") as tmp:
        stack = RunningStack(tree, Path(tmp))
        try:
            stack.wait()
            return [ask(stack, q) for q in questions]
        finally:
            stack.stop()


def load_questions(path: Path) -> List[Dict[str, str]]:
    return list((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("questions") or [])


def report(name: str, outcomes: List[Outcome], unknowns: set, show_misses: bool) -> Dict[str, Tuple[int, int]]:
    scores = score(outcomes, unknowns)
    print(f"\n== {name}: {len(outcomes)} questions ({Counter(o.question['page'] for o in outcomes)})")
    for metric, (hits, total) in scores.items():
        print(f"  {metric:<42} {hits:>4}/{total:<4} {100 * hits / max(total, 1):5.1f}%")
    if show_misses:
        for o in outcomes:
            label = OLD_TOPIC_NAMES.get(o.question["topic"], o.question["topic"])
            if o.kind == "answer" and o.topic == label:
                continue
            if label == "none" and o.kind == "miss":
                continue
            if o.kind == "unknown" and o.topic == label:
                continue
            got = o.topic or "-"
            print(
                f"  [{o.kind:7}] want {label:<24} got {got:<24} ({o.intent}) {o.question['page']}: {o.question['text']}"
            )
    return scores


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to measure (default: this one)")
    parser.add_argument("--baseline-tree", type=Path, help="a second checkout measured in the same run")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--show-misses", action="store_true", help="list every question not answered as labelled")
    args = parser.parse_args(argv)
    questions = load_questions(args.questions)
    unknowns = set(load_knowledge(args.tree / "knowledge" / "programs.yml").known_unknowns()) - {"contact"}
    print(f"{len(questions)} held-out questions; known unknowns: {', '.join(sorted(unknowns))}")
    trees: Iterator[Tuple[str, Path]] = iter(
        [("baseline", args.baseline_tree)] * bool(args.baseline_tree) + [("this checkout", args.tree)]
    )
    for name, tree in trees:
        started = time.monotonic()
        outcomes = run_tree(tree.resolve(), questions)
        report(f"{name} ({tree})", outcomes, unknowns, args.show_misses)
        print(f"  ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
