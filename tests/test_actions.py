"""The custom actions, run with a real rasa_sdk ``Tracker`` and ``CollectingDispatcher``.

Responses are rendered with the real domain templates, so these tests read what a visitor reads.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswerTopic, ActionHandleMiss
from actions.answers import INTENT_TOPICS
from core.knowledge import Topic

URL = re.compile(r"https?://\S+")


def entity(kind: str, value: str) -> Dict[str, Any]:
    return {"entity": kind, "value": value, "start": 0, "end": 0}


def user_event(intent: str, text: str = "", entities: Optional[list] = None) -> Dict[str, Any]:
    parse = {"intent": {"name": intent, "confidence": 0.9}, "entities": entities or [], "text": text}
    return {"event": "user", "text": text, "parse_data": parse}


def make_tracker(
    intent: str,
    entities: Optional[list] = None,
    slots: Optional[dict] = None,
    history: Optional[List[dict]] = None,
    text: str = "",
) -> Tracker:
    latest = user_event(intent, text, entities)
    events = [*(history or []), latest]
    return Tracker(
        "visitor",
        {"program": None, "track": None, "topic": None, **(slots or {})},
        latest["parse_data"],
        events,
        False,
        None,
        None,
        "action_listen",
    )


def render(domain: Dict[str, Any], message: Dict[str, Any]) -> str:
    """Fill a dispatched response with its variables the way Rasa's NLG does."""
    template = domain["responses"][message["response"]][0]["text"]
    return template.format(**message)


def run(action, domain, tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain)
    texts = [render(domain, m) for m in dispatcher.messages]
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return dispatcher.messages, texts, slots


def answer(domain, intent, **kwargs):
    return run(ActionAnswerTopic(), domain, make_tracker(intent, **kwargs))


# -- every topic, both programs -----------------------------------------------------------------


@pytest.mark.parametrize("program", ["mism", "msit"])
@pytest.mark.parametrize("intent", sorted(INTENT_TOPICS))
def test_every_topic_answers_from_the_file_with_a_link(domain_dict, knowledge, intent, program):
    messages, texts, slots = answer(domain_dict, intent, entities=[entity("program", program)])
    topic = INTENT_TOPICS[intent]
    assert texts, "the bot said nothing"
    first = messages[0]["response"]
    if topic is Topic.contact:
        assert first == "utter_answer_contact"
        assert knowledge.contact.email in texts[0] and knowledge.contact.phone in texts[0]
        return
    fact = knowledge.lookup(program, None, topic)
    if fact is None:
        assert first == f"utter_unknown_{topic.value}"
        assert knowledge.contact.email in texts[0] and knowledge.contact.phone in texts[0]
    else:
        assert first == f"utter_answer_{topic.value}"
        assert fact.text in texts[0]
        assert all(item in texts[0] for item in fact.items)
    assert URL.search(texts[0]), texts[0]
    assert slots["topic"] == topic.value and slots["program"] == program


def test_length_for_mism_lists_both_tracks(domain_dict):
    _, texts, _ = answer(domain_dict, "ask_program_length", entities=[entity("program", "mism")])
    assert "16-month Traditional Track" in texts[0] and "12-month pathway" in texts[0]
    assert texts[0].endswith("Official page: https://www.heinz.cmu.edu/programs/information-systems-management-master/")


def test_unknown_fact_says_so_and_gives_the_contact(domain_dict):
    _, texts, _ = answer(domain_dict, "ask_program_length", entities=[entity("program", "msit")])
    assert "I don't have the program length of MSIT" in texts[0]
    assert "https://www.heinz.cmu.edu/programs/information-technology-master/" in texts[0]
    assert "hnzadmit@andrew.cmu.edu" in texts[0] and "412-268-2164" in texts[0]
    assert not re.search(r"\d+\s*months", texts[0]), "must not invent a length"


def test_deadlines_name_the_cycle(domain_dict):
    _, texts, _ = answer(domain_dict, "ask_deadlines", entities=[entity("program", "mism")])
    assert "For the August 2027 start (as of November 23, 2026):" in texts[0]
    assert "Round 1: December 1, 2026" in texts[0]


def test_gaps_are_stated_with_the_contact(domain_dict):
    _, texts, _ = answer(domain_dict, "ask_requirements", entities=[entity("program", "mism")])
    assert "Not in my information: the GRE/GMAT policy for MISM; English-test minimums." in texts[0]


def test_stem_opt_gives_program_statement_then_general_rules(domain_dict):
    messages, texts, _ = answer(domain_dict, "ask_stem_opt", entities=[entity("program", "mism")])
    assert [m["response"] for m in messages] == ["utter_answer_stem_opt", "utter_stem_opt_general"]
    assert "STEM-designated degree program" in texts[0]
    assert "not legal or immigration advice" in texts[1]
    for rule in ("E-Verify", "20 hours", "150 days"):
        assert rule in texts[1]
    assert "https://www.cmu.edu/oie/" in texts[1]


def test_stem_opt_for_msit_is_honest(domain_dict):
    messages, texts, _ = answer(domain_dict, "ask_stem_opt", entities=[entity("program", "msit")])
    assert messages[0]["response"] == "utter_unknown_stem_opt"
    assert "STEM-designated" not in texts[0]


# -- tracks ------------------------------------------------------------------------------------


def test_track_question_gets_the_track_facts(domain_dict):
    _, texts, slots = answer(domain_dict, "ask_program_length", entities=[entity("track", "12_month")])
    assert texts[0].startswith("Program length, MISM — 12-month pathway:")
    assert "begins in the summer semester (May)" in texts[0]
    assert slots == {"topic": "length", "track": "12_month", "program": "mism"}


def test_track_shared_by_both_programs_needs_the_program(domain_dict):
    messages, _, slots = answer(domain_dict, "ask_program_overview", entities=[entity("track", "bida")])
    assert messages[0]["response"] == "utter_ask_program"
    assert slots["track"] == "bida"
    _, texts, _ = answer(
        domain_dict, "inform", entities=[entity("program", "msit")], slots={"topic": "overview", "track": "bida"}
    )
    assert texts[0].startswith("MSIT — Business Intelligence & Data Analytics (BIDA) at a glance:")


def test_program_level_fact_is_not_labelled_with_the_track(domain_dict):
    _, texts, _ = answer(domain_dict, "ask_capstone", slots={"program": "mism", "track": "12_month"})
    assert texts[0].startswith("Capstone projects, MISM:")


def test_tracks_answer_lists_every_track_with_its_page(domain_dict, knowledge):
    _, texts, _ = answer(domain_dict, "ask_tracks", entities=[entity("program", "msit")])
    for track in knowledge.programs["msit"].tracks.values():
        assert f"• {track.name}: {track.url}" in texts[0]


# -- clarification and carry-over ------------------------------------------------------------


def test_asks_which_program_with_buttons_then_answers_the_original_question(domain_dict):
    messages, texts, slots = answer(domain_dict, "ask_deadlines")
    assert messages[0]["response"] == "utter_ask_program"
    buttons = domain_dict["responses"]["utter_ask_program"][0]["buttons"]
    assert [b["title"] for b in buttons] == ["MISM (on campus, Pittsburgh)", "MSIT (online, part-time)"]
    assert slots == {"topic": "deadlines", "track": None}
    _, texts, _ = answer(domain_dict, "inform", entities=[entity("program", "msit")], slots=slots)
    assert texts[0].startswith("Application deadlines, MSIT:")


def test_program_carries_over_to_the_next_question(domain_dict):
    _, texts, _ = answer(domain_dict, "ask_deadlines", slots={"program": "msit", "topic": "overview"})
    assert texts[0].startswith("Application deadlines, MSIT:")


def test_switching_program_keeps_the_topic(domain_dict):
    _, texts, slots = answer(
        domain_dict, "inform", entities=[entity("program", "mism")], slots={"program": "msit", "topic": "deadlines"}
    )
    assert texts[0].startswith("Application deadlines, MISM:")
    assert slots["program"] == "mism"


def test_switching_program_drops_a_track_it_does_not_have(domain_dict):
    _, texts, slots = answer(
        domain_dict,
        "inform",
        entities=[entity("program", "msit")],
        slots={"program": "mism", "track": "16_month", "topic": "length"},
    )
    assert slots["track"] is None
    assert "MSIT" in texts[0]


def test_naming_both_programs_answers_both_and_forgets_the_choice(domain_dict):
    _, texts, slots = answer(domain_dict, "ask_format", entities=[entity("program", "msit"), entity("program", "mism")])
    assert texts[0].startswith("How MSIT is taught:") and texts[1].startswith("How MISM is taught:")
    assert slots["program"] is None


def test_contact_needs_no_program(domain_dict):
    messages, texts, _ = answer(domain_dict, "ask_contact")
    assert messages[0]["response"] == "utter_answer_contact"
    assert "5000 Forbes Avenue" in texts[0]


# -- misses -------------------------------------------------------------------------------------


def miss(domain, intent, history=None, entities=None, slots=None):
    return run(ActionHandleMiss(), domain, make_tracker(intent, history=history, entities=entities, slots=slots))


def test_first_miss_suggests_topics_and_gives_the_contact(domain_dict):
    messages, texts, _ = miss(domain_dict, "nlu_fallback", history=[user_event("greet")])
    assert messages[0]["response"] == "utter_fallback"
    assert "hnzadmit@andrew.cmu.edu" in texts[0]
    assert len(domain_dict["responses"]["utter_fallback"][0]["buttons"]) >= 3


def test_out_of_scope_is_polite_and_invents_nothing(domain_dict):
    messages, texts, _ = miss(domain_dict, "out_of_scope", history=[user_event("greet")])
    assert messages[0]["response"] == "utter_out_of_scope"
    assert "only answer questions about Heinz College's MISM and MSIT" in texts[0]


def test_second_miss_in_a_row_offers_a_person_first(domain_dict):
    history = [user_event("greet"), {"event": "bot", "text": "hi"}, user_event("nlu_fallback")]
    messages, texts, _ = miss(domain_dict, "out_of_scope", history=history)
    assert messages[0]["response"] == "utter_handoff"
    assert texts[0].index("hnzadmit@andrew.cmu.edu") < texts[0].index("topics")


def test_a_good_answer_resets_the_miss_count(domain_dict):
    history = [user_event("nlu_fallback"), user_event("ask_deadlines")]
    messages, _, _ = miss(domain_dict, "nlu_fallback", history=history)
    assert messages[0]["response"] == "utter_fallback"


def test_unsure_message_naming_a_program_is_answered(domain_dict):
    messages, texts, _ = miss(
        domain_dict, "nlu_fallback", entities=[entity("program", "mism")], slots={"topic": "length"}
    )
    assert messages[0]["response"] == "utter_answer_length"


def test_every_response_the_actions_use_exists_in_the_domain(domain_dict):
    responses = domain_dict["responses"]
    for topic in Topic:
        assert f"utter_answer_{topic.value}" in responses
        if topic is not Topic.contact:
            assert f"utter_unknown_{topic.value}" in responses
    for name in (
        "utter_ask_program",
        "utter_fallback",
        "utter_handoff",
        "utter_out_of_scope",
        "utter_stem_opt_general",
        "utter_phrase_cycle",
        "utter_phrase_gaps",
    ):
        assert name in responses


def test_responses_without_buttons_stay_one_bubble(domain_dict):
    # Rasa's output channels split button-less text at blank lines into separate messages, which
    # would strand a link in a bubble of its own; responses with buttons are sent whole.
    split = [
        name
        for name, variations in domain_dict["responses"].items()
        for v in variations
        if "\n\n" in v.get("text", "") and not v.get("buttons")
    ]
    assert split == []
