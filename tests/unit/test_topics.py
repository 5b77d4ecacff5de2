"""The list of topics lives in the knowledge file; every other place must agree with it.

A new topic is a knowledge entry, NLU examples, and its intent in the domain and in the answer
rule. These tests name the place that was forgotten.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

import yaml

from core.settings import PROJECT_ROOT
from core.topics import ANSWER_ACTION, CONVERSATION_INTENTS, MISS_INTENTS, intent_for, topic_for

MIN_EXAMPLES = 20  # training examples per topic intent


def _yaml(path: Path) -> Dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _answer_rule_intents() -> List[str]:
    rules = _yaml(PROJECT_ROOT / "data" / "rules.yml")["rules"]
    for rule in rules:
        steps = rule["steps"]
        if steps[-1] == {"action": ANSWER_ACTION} and "or" in steps[0]:
            return [step["intent"] for step in steps[0]["or"]]
    raise AssertionError(f"data/rules.yml has no rule answering with {ANSWER_ACTION} after an `or` of intents")


def _nlu_examples() -> Counter:
    counts: Counter = Counter()
    for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        for block in _yaml(path).get("nlu") or []:
            if "intent" in block:
                counts[block["intent"]] += sum(
                    1 for line in block["examples"].splitlines() if line.strip().startswith("- ")
                )
    return counts


def test_intent_and_topic_names_derive_from_each_other():
    assert intent_for("deadlines") == "ask_deadlines"
    assert topic_for("ask_deadlines") == "deadlines"
    assert topic_for("greet") is None and topic_for("ask_") is None and topic_for(None) is None


def test_every_topic_has_an_intent_in_the_domain_and_nothing_else_does(knowledge, domain_dict):
    topic_intents = {intent_for(t) for t in knowledge.topics}
    domain_intents = set(domain_dict["intents"])
    assert topic_intents - domain_intents == set(), "topics whose intent is missing from domain.yml"
    asking = {i for i in domain_intents if topic_for(i)}
    assert asking - topic_intents == set(), "ask_* intents in domain.yml with no topic in the knowledge file"
    others = domain_intents - asking
    assert others <= set(CONVERSATION_INTENTS) | set(MISS_INTENTS), "intents core/topics.py does not know"


def test_one_rule_answers_every_topic(knowledge):
    assert sorted(_answer_rule_intents()) == sorted([*(intent_for(t) for t in knowledge.topics), "inform"])


def test_every_topic_has_training_examples(knowledge):
    counts = _nlu_examples()
    thin = {intent_for(t): counts[intent_for(t)] for t in knowledge.topics if counts[intent_for(t)] < MIN_EXAMPLES}
    assert thin == {}, f"topics with fewer than {MIN_EXAMPLES} training examples"


def test_every_reply_that_offers_a_person_counts_in_the_analytics(domain_dict):
    """A new way of offering a person (a response named utter_offer_* or utter_handoff*) must
    count in the trends' answer types; the officers' own announcements are not the bot's replies."""
    from core.handoff import HANDOFF_EVENT_KINDS, announcement_response
    from core.topics import answer_type

    announcements = {announcement_response(kind) for kind in HANDOFF_EVENT_KINDS}
    offers = [
        name
        for name in domain_dict["responses"]
        if name.startswith(("utter_offer_", "utter_handoff")) and name not in announcements
    ]
    assert "utter_offer_live" in offers and "utter_handoff_queued" in offers
    assert {name: answer_type(name) for name in offers if answer_type(name) is None} == {}
