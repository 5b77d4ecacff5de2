"""Answer quality on held-out visitor questions, measured against the real stack.

Four question sets, side by side:
- ``tests/verbatim_questions.yml``, the held-out set: questions copied word for word from public
  admissions FAQ pages and forum threads, each with its source URL, labelled with every topic that
  answers it. Never used to train or to tune anything;
- ``tests/verbatim_other_languages.yml``, held-out too: real questions in Chinese, Hindi, Spanish,
  Korean and more (the right topic in English, or an honest "English only", never another topic);
- ``tests/visitor_questions.yml``, the development set (our own paraphrases, plus the verbatim
  questions of ``tests/verbatim_dev_questions*.yml``): thresholds are tuned on these only;
- ``tests/verbatim_dev_other_languages.yml``, the development set in other languages (verbatim too).

Each question is sent as the first message of a fresh conversation over the REST channel, with the
page's program as message metadata as the widget sends it (verbatim questions: the home page, where
nothing says which program). The bot's replies are read back from the tracker (token-protected HTTP
API): which response each used (``utter_action``), which topic each answer is about (its heading),
and which topics a "did you mean" reply offered as buttons.

Printed, per set and per stack (the project, and optionally a baseline checkout in the same run):
- first-turn answer rate: in-scope questions whose first reply answers (a fact or an honest
  "I don't have that"), rather than asking back, suggesting or missing;
- ask-back rate: in-scope questions whose first reply only asks which program;
- on-topic rate: answerable questions (a fact exists) answered about a topic they ask;
- recovered by a suggestion: answerable questions whose reply offered a right topic as a button (a
  click on it is the answer);
- honest-unknown rate: known unknowns answered with that topic's specific "I don't have ...";
- none handled honestly: questions no topic covers that got a miss, a suggestion or "I don't have";
- "outside what I can help with" for an admissions question (must be 0);
- both answered: questions labelled with two topics whose replies answered both;
- misleading rate: all questions that got an answer about a topic they do not ask.

Usage:
    .venv/bin/python bench/answer_quality.py                        # this checkout, both sets
    .venv/bin/python bench/answer_quality.py --baseline-tree ../old # and a baseline checkout
    .venv/bin/python bench/answer_quality.py --show-misses          # list the wrong answers (not half B)
    .venv/bin/python bench/answer_quality.py --development-only     # choose a change without the held-out sets
    .venv/bin/python bench/answer_quality.py --held-out-only --baseline-model models/heinz.tar.gz \
        --model candidate.tar.gz --json figures.json                 # a console candidate vs the current model
Each tree is started with its own ``python -m ops.launcher`` and ``models/heinz.tar.gz``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import signal
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
from ops.launcher import free_port  # noqa: E402

HELD_OUT = ROOT / "tests" / "verbatim_questions.yml"
OTHER_LANGUAGES = ROOT / "tests" / "verbatim_other_languages.yml"
OTHER_LANGUAGES_DEVELOPMENT = ROOT / "tests" / "verbatim_dev_other_languages.yml"
DEVELOPMENT = [
    ROOT / "tests" / "visitor_questions.yml",
    ROOT / "tests" / "verbatim_dev_questions.yml",
    ROOT / "tests" / "verbatim_dev_questions_2.yml",
]
# Topic ids the first version of the bot used in its response names and labels.
OLD_TOPIC_NAMES = {"overview": "program_overview", "length": "program_length"}
# "I can only answer about MISM and MSIT" for a question about another degree is a miss too.
MISS_RESPONSES = {
    "utter_fallback",
    "utter_out_of_scope",
    "utter_other_program",
    "utter_handoff",
    "utter_handoff_live",
    "utter_english_only",
}
# Replies that may offer the likeliest topics as buttons ("English only" does, for an unsure question;
# "I can only answer about MISM and MSIT", for a question about another degree, offers its topic).
SUGGEST_RESPONSES = {"utter_suggest_topics", "utter_suggest_topic", "utter_english_only", "utter_other_program"}
# Replies that send a question away as not about our programs: for an admissions question, a failure.
OUTSIDE_RESPONSES = {"utter_out_of_scope", "utter_other_program"}
# "Can I talk to someone?" is answered with a way to reach a person (a live chat or a follow-up
# request, with the admissions contact): the contact topic's answer.
PERSON_RESPONSES = {"utter_offer_live", "utter_offer_followup", "utter_ask_followup_name"}
NOTES = {"utter_in_english"}  # small print after an answer, not a reply of its own


@dataclass
class Question:
    text: str
    topics: List[str]  # every topic that answers it; empty: no topic covers it
    page: str = "home"
    source: str = ""


@dataclass
class Reply:
    kind: str  # answer | unknown | askback | suggest | miss | other
    response: str
    topic: Optional[str] = None
    suggested: List[str] = field(default_factory=list)


@dataclass
class Outcome:
    question: Question
    replies: List[Reply]
    intent: Optional[str] = None
    error: str = ""

    @property
    def first(self) -> Reply:
        return self.replies[0] if self.replies else Reply("error", "")

    @property
    def answered(self) -> List[str]:
        """Topics the replies answered (a fact, "I don't have it", or asking which program)."""
        return [r.topic for r in self.replies if r.kind in ("answer", "unknown", "askback") and r.topic]


class RunningStack:
    """A checkout's own launcher on free ports, conversations in a throw-away SQLite file."""

    def __init__(self, tree: Path, workdir: Path, model: Optional[Path] = None) -> None:
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
        if model is not None:
            env["RASA_MODEL"] = str(model)
        self.log = open(workdir / "launcher.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ops.launcher"],
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


def ask(stack: RunningStack, question: Question, names: TopicNames) -> Outcome:
    """Send one question as a new conversation's first message; read back what the bot did."""
    sender = f"bench-{uuid.uuid4().hex}"
    metadata = {"page_url": f"http://localhost/{question.page}"}
    if question.page != "home":
        metadata["program"] = question.page
    body = {"sender": sender, "message": question.text, "metadata": metadata}
    try:
        requests.post(f"{stack.url}/webhooks/rest/webhook", json=body, timeout=30).raise_for_status()
        tracker = requests.get(
            f"{stack.url}/conversations/{sender}/tracker", params={"token": stack.token}, timeout=30
        ).json()
    except (requests.RequestException, ValueError) as error:
        return Outcome(question, [], error=str(error))
    return classify(question, tracker, names)


def classify(question: Question, tracker: Dict, names: TopicNames) -> Outcome:
    events = tracker.get("events") or []
    slot_topic = (tracker.get("slots") or {}).get("topic")
    slot_topic = OLD_TOPIC_NAMES.get(slot_topic or "", slot_topic)
    intent = ((tracker.get("latest_message") or {}).get("intent") or {}).get("name")
    replies = []
    for event in events:
        if event.get("event") != "bot":
            continue
        response = (event.get("metadata") or {}).get("utter_action") or "(text)"
        if response in NOTES:
            continue
        replies.append(_reply(response, event, names, slot_topic, intent))
    return Outcome(question, replies, intent)


def _reply(response: str, event: Dict, names: TopicNames, slot_topic: Optional[str], intent: Optional[str]) -> Reply:
    text = event.get("text") or ""
    named = _topic_in_response(response)
    heading = next((topic for title, topic in names.headings.items() if text.startswith(f"{title},")), None)
    topic = OLD_TOPIC_NAMES.get(named or "", named) or heading or slot_topic
    if response == "utter_ask_program":
        return Reply("askback", response, slot_topic or topic_for(intent))
    if response.startswith("utter_answer"):
        return Reply("answer", response, "contact" if response == "utter_answer_contact" else topic)
    if response.startswith("utter_unknown"):
        missing = next((t for phrase, t in names.missing.items() if f"have {phrase} for" in text), None)
        return Reply("unknown", response, named or missing or slot_topic)
    if response in SUGGEST_RESPONSES:
        buttons = (event.get("data") or {}).get("buttons") or []
        offered = [topic_for(str(b.get("payload") or "").lstrip("/").split("{")[0]) for b in buttons]
        suggested = [t for t in offered if t]
        if suggested:
            return Reply("suggest", response, None, suggested)
    if response in MISS_RESPONSES:
        return Reply("miss", response)
    if response in PERSON_RESPONSES:
        return Reply("answer", response, "contact")
    return Reply("other", response)


def _topic_in_response(name: str) -> Optional[str]:
    """``utter_answer_deadlines`` -> ``deadlines`` (the first bot's naming); else ``None``."""
    for prefix in ("utter_answer_", "utter_unknown_"):
        if name.startswith(prefix) and name != "utter_answer_contact":
            return name[len(prefix) :]
    return None


def score(outcomes: List[Outcome], unknowns: set) -> Dict[str, Tuple[int, int]]:
    in_scope = [o for o in outcomes if o.question.topics]
    answerable = [o for o in in_scope if set(o.question.topics) - unknowns]
    unknown_qs = [o for o in in_scope if not set(o.question.topics) - unknowns]
    none_qs = [o for o in outcomes if not o.question.topics]
    two = [o for o in in_scope if len(o.question.topics) == 2]

    def on_topic(o: Outcome) -> bool:
        return any(t in o.question.topics for t in o.answered)

    def recovered(o: Outcome) -> bool:
        return o.first.kind == "suggest" and any(t in o.question.topics for t in o.first.suggested)

    def misleading(o: Outcome) -> bool:
        return any(r.kind == "answer" and r.topic not in o.question.topics for r in o.replies)

    return {
        "first-turn answer rate": (sum(o.first.kind in ("answer", "unknown") for o in in_scope), len(in_scope)),
        "ask-back rate": (sum(o.first.kind == "askback" for o in in_scope), len(in_scope)),
        "on-topic rate (answerable)": (sum(on_topic(o) for o in answerable), len(answerable)),
        "recovered by a suggestion (answerable)": (sum(recovered(o) for o in answerable), len(answerable)),
        "on-topic or recovered (answerable)": (sum(on_topic(o) or recovered(o) for o in answerable), len(answerable)),
        "honest-unknown rate (known unknowns)": (
            sum(o.first.kind == "unknown" and on_topic(o) for o in unknown_qs),
            len(unknown_qs),
        ),
        "none handled honestly": (sum(o.first.kind in ("miss", "unknown", "suggest") for o in none_qs), len(none_qs)),
        '"outside what I can help with" (in scope)': (
            sum(r.response in OUTSIDE_RESPONSES for o in in_scope for r in o.replies[:1]),
            len(in_scope),
        ),
        "both answered (two-topic questions)": (
            sum(set(o.question.topics) <= set(o.answered) for o in two),
            len(two),
        ),
        "misleading rate (another topic's answer)": (sum(misleading(o) for o in outcomes), len(outcomes)),
        "errors": (sum(bool(o.error) for o in outcomes), len(outcomes)),
    }


def run_tree(
    tree: Path, sets: Dict[str, List[Question]], names: TopicNames, model: Optional[Path] = None
) -> Dict[str, List[Outcome]]:
    with tempfile.TemporaryDirectory(prefix="answer-quality-") as tmp:
        stack = RunningStack(tree, Path(tmp), model)
        try:
            stack.wait()
            return {name: [ask(stack, q, names) for q in questions] for name, questions in sets.items()}
        finally:
            stack.stop()


def load_questions(paths: List[Path]) -> List[Question]:
    """Questions from YAML files in either form: ``topics: [..]`` (``[none]`` or ``[]`` for none), or
    the development set's single ``topic:`` (``none``)."""
    questions = []
    for path in paths:
        if not path.exists():
            continue
        for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("questions") or []:
            labels = entry.get("topics") or [entry.get("topic", "none")]
            topics = [OLD_TOPIC_NAMES.get(t, t) for t in labels if t != "none"]
            questions.append(Question(entry["text"], topics, entry.get("page", "home"), entry.get("source", "")))
    return questions


@dataclass(frozen=True)
class TopicNames:
    """How a reply names its topic: an answer's heading (``title``), or what an "I don't have" says
    is missing (``missing``); each mapped to the topic id."""

    headings: Dict[str, str]
    missing: Dict[str, str]

    @classmethod
    def of(cls, knowledge_file: Path) -> "TopicNames":
        topics = load_knowledge(knowledge_file).topics.items()
        return cls({t.title: i for i, t in topics}, {t.missing: i for i, t in topics})


def page_half(question: Question) -> str:
    """Which half of the verbatim development pages a question comes from (sha1 of its source URL):
    training examples written from one half's misses are checked on the other, unread half. Every
    page of the first verbatim set is in A (that set took the pages whose sha1 is 0 mod 4)."""
    if not question.source.startswith("http"):
        return "ours"
    return "A" if int(hashlib.sha1(question.source.encode()).hexdigest(), 16) % 2 == 0 else "B"


def report(name: str, outcomes: List[Outcome], unknowns: set, show_misses: bool) -> Dict[str, Tuple[int, int]]:
    scores = score(outcomes, unknowns)
    print(f"\n== {name}: {len(outcomes)} questions ({Counter(o.question.page for o in outcomes)})")
    for metric, (hits, total) in scores.items():
        print(f"  {metric:<44} {hits:>4}/{total:<4} {100 * hits / max(total, 1):5.1f}%")
    if show_misses:
        unread = sum(page_half(o.question) == "B" for o in outcomes)
        if unread:
            print(f"  (misses among the {unread} questions of half B of the verbatim pages are not shown)")
        for o in outcomes:
            if page_half(o.question) == "B":
                continue
            want = ",".join(o.question.topics) or "none"
            got = ",".join(o.answered) or ",".join(o.first.suggested) or "-"
            good = (o.question.topics and any(t in o.question.topics for t in o.answered)) or (
                not o.question.topics and o.first.kind in ("miss", "suggest", "unknown")
            )
            if not good:
                where = f"({o.intent}) {o.question.page}: {o.question.text}"
                print(f"  [{o.first.kind:7}] want {want:<28} got {got:<36} {where}")
    return scores


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to measure (default: this one)")
    parser.add_argument("--baseline-tree", type=Path, help="a second checkout measured in the same run")
    parser.add_argument("--held-out", type=Path, default=HELD_OUT, help="the verbatim held-out set")
    parser.add_argument("--other-languages", type=Path, default=OTHER_LANGUAGES, help="held-out, not in English")
    parser.add_argument("--development", type=Path, nargs="*", default=DEVELOPMENT, help="the development set(s)")
    parser.add_argument(
        "--development-other-languages",
        type=Path,
        default=OTHER_LANGUAGES_DEVELOPMENT,
        help="the development set, not in English",
    )
    parser.add_argument("--show-misses", action="store_true", help="list development misses")
    parser.add_argument("--model", type=Path, help="a trained model to measure instead of the tree's own")
    parser.add_argument("--baseline-model", type=Path, help="a second model of this checkout, measured first")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--held-out-only", action="store_true", help="only the verbatim held-out set")
    only.add_argument("--development-only", action="store_true", help="only the development sets (to choose a change)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file (the console's training)")
    args = parser.parse_args(argv)
    sets = {
        "held-out, verbatim": load_questions([args.held_out]),
        "held-out, other languages": load_questions([args.other_languages]),
        "development": load_questions(args.development),
        "development, other languages": load_questions([args.development_other_languages]),
    }
    if args.held_out_only:
        sets = {"held-out, verbatim": sets["held-out, verbatim"]}
    elif args.development_only:
        sets = {name: questions for name, questions in sets.items() if name.startswith("development")}
    knowledge_file = args.tree / "knowledge" / "programs.yml"
    unknowns = set(load_knowledge(knowledge_file).known_unknowns()) - {"contact"}
    names = TopicNames.of(knowledge_file)
    print(", ".join(f"{name}: {len(qs)} questions" for name, qs in sets.items()))
    print(f"known unknowns: {', '.join(sorted(unknowns))}")
    runs: Iterator[Tuple[str, Path, Optional[Path]]] = iter(
        [("baseline", args.baseline_tree, None)] * bool(args.baseline_tree)
        + [("baseline model", args.tree, args.baseline_model)] * bool(args.baseline_model)
        + [("this checkout", args.tree, args.model)]
    )
    figures: Dict[str, Dict[str, Dict[str, Tuple[int, int]]]] = {}
    for name, tree, model in runs:
        started = time.monotonic()
        results = run_tree(tree.resolve(), sets, names, model)
        for set_name, outcomes in results.items():
            # Held-out misses are never listed: reading them invites tuning to them.
            show = args.show_misses and not set_name.startswith("held-out")
            label = f"{name} ({model or tree})"
            figures.setdefault(name, {})[set_name] = report(f"{label}, {set_name}", outcomes, unknowns, show)
        print(f"  ({time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
