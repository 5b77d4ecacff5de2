"""The custom actions, run with a real rasa_sdk ``Tracker`` and ``CollectingDispatcher``.

Responses are rendered with the real domain templates, so these tests read what a visitor reads.
"""

from __future__ import annotations

import asyncio
import datetime
import inspect
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswerTopic, ActionGreet, ActionHandleMiss, ActionRecordFeedback
from core.knowledge import load_knowledge
from core.settings import PROJECT_ROOT
from core.topics import (
    COMPLAINT_INTENT,
    CORRECTION,
    FEEDBACK_INTENT,
    FEEDBACK_MARKER,
    READ_CHARS,
    intent_for,
    topic_for,
)
from tests.support.facts import ADMISSIONS_EMAIL, ADMISSIONS_PHONE

URL = re.compile(r"https?://[^\s)]+")
NAMED_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^\s)]+)\)")
TOPICS = sorted(load_knowledge().topics)


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
    metadata: Optional[dict] = None,
    parse: Optional[dict] = None,
) -> Tracker:
    latest = user_event(intent, text, entities)
    latest["parse_data"]["metadata"] = metadata or {}
    latest["parse_data"].update(parse or {})  # what the NLU adds: ranking, questions, language
    events = [*(history or []), latest]
    return Tracker(
        "visitor",
        {"program": None, "track": None, "topic": None, "session_started_metadata": None, **(slots or {})},
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


@pytest.fixture(autouse=True)
def no_web_server(monkeypatch):
    """Actions that ask the web server about the live chat find none (port 9), unless a test starts one."""
    monkeypatch.setenv("HANDOFF_URL", "http://127.0.0.1:9")


def run(action, domain, tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain)
    if inspect.isawaitable(events):  # actions that call the web server are coroutines
        events = asyncio.run(events)
    texts = [render(domain, m) for m in dispatcher.messages]
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return dispatcher.messages, texts, slots


def answer(domain, intent, **kwargs):
    return run(ActionAnswerTopic(), domain, make_tracker(intent, **kwargs))


def answer_run(domain, tracker):
    return run(ActionAnswerTopic(), domain, tracker)


# -- every topic, with and without a program --------------------------------------------------


def titles(message: Dict[str, Any]) -> List[str]:
    return [b["title"] for b in message.get("buttons") or []]


def payloads(message: Dict[str, Any]) -> List[str]:
    return [b["payload"] for b in message.get("buttons") or []]


def shown_buttons(domain: Dict[str, Any], message: Dict[str, Any]) -> List[str]:
    """The buttons a visitor sees: the domain response's own, then the action's (as Rasa's
    ``RemoteAction`` joins them)."""
    own = domain["responses"].get(message.get("response"), [{}])[0].get("buttons") or []
    return [b["title"] for b in own + (message.get("buttons") or [])]


def sourced_urls(knowledge) -> set:
    """Every address the knowledge file holds: an answer may link nothing else."""
    return set(URL.findall(Path(knowledge_file()).read_text(encoding="utf-8")))


def knowledge_file() -> str:
    from core.knowledge import knowledge_file_from_env

    return str(knowledge_file_from_env())


@pytest.mark.parametrize("program", [None, "mism", "msit"])
@pytest.mark.parametrize("topic", TOPICS)
def test_every_question_gets_an_answer_on_the_first_turn(domain_dict, knowledge, topic, program):
    entities = [entity("program", program)] if program else []
    messages, texts, _ = answer(domain_dict, intent_for(topic), entities=entities)
    assert len(messages) == 1, "one message per question"
    assert messages[0]["response"] in {"utter_answer", "utter_unknown", "utter_answer_contact"}
    text = texts[0]
    assert not re.search(r"\{\w+\}|: None\b|^None$", text, re.M), "an unfilled variable"
    assert "\n\n" not in text and not text.endswith("\n"), "no blank line in a bubble"
    assert "Which program" not in text
    # Named links only, each to an official page from the knowledge file.
    assert URL.findall(NAMED_LINK.sub("", text)) == [], "a raw address instead of a named link"
    for name, url in NAMED_LINK.findall(text):
        assert url in sourced_urls(knowledge) and not name.startswith("http")
    if messages[0]["response"] == "utter_unknown":
        assert "I don't have" in text
        assert ADMISSIONS_EMAIL in text and ADMISSIONS_PHONE in text
        assert NAMED_LINK.search(text), "an honest unknown still links the best official page"


@pytest.mark.parametrize("program", [None, "mism", "msit"])
@pytest.mark.parametrize("topic", TOPICS)
def test_first_answers_fit_on_a_phone_screen(domain_dict, topic, program):
    entities = [entity("program", program)] if program else []
    _, texts, _ = answer(domain_dict, intent_for(topic), entities=entities)
    shown = NAMED_LINK.sub(r"\1", texts[0])  # what the widget shows: the link's name
    assert len(shown.splitlines()) <= 12, shown
    assert len(shown) <= 1100, shown


def test_a_heinz_wide_fact_is_answered_once_without_asking(domain_dict):
    messages, texts, slots = answer(domain_dict, "ask_application_fee", text="is there an application fee?")
    assert messages[0]["response"] == "utter_answer"
    assert "There is no application fee at Heinz College" in texts[0]
    assert "all Heinz College programs" in texts[0]
    assert not any(t.startswith("More on") for t in titles(messages[0]))
    assert "program" not in slots


def test_a_program_fact_without_a_program_is_answered_for_both(domain_dict):
    messages, texts, slots = answer(domain_dict, "ask_how_to_apply", text="How do I apply?")
    text = texts[0]
    assert "• MISM:" in text and "• MSIT:" in text
    assert "[MISM how-to-apply page](" in text and "[MSIT how-to-apply page](" in text
    assert '/ask_how_to_apply{"program":"mism"}' in payloads(messages[0])
    assert '/ask_how_to_apply{"program":"msit"}' in payloads(messages[0])
    assert "More on MISM" in titles(messages[0]) and "More on MSIT" in titles(messages[0])
    assert slots["topic"] == "how_to_apply" and "program" not in slots


def test_the_page_program_answers_at_once_with_a_switch_button(domain_dict):
    messages, texts, slots = answer(domain_dict, "ask_how_to_apply", metadata={"program": "msit"})
    assert texts[0].startswith("How to apply, MSIT:")
    assert "• MISM:" not in texts[0]
    assert "Ask about MISM instead" in titles(messages[0])
    assert '/ask_how_to_apply{"program":"mism"}' in payloads(messages[0])
    assert slots["program"] == "msit"


def test_the_session_metadata_is_the_page_context_for_later_messages(domain_dict):
    tracker = make_tracker("ask_deadlines", slots={"session_started_metadata": {"program": "mism"}})
    messages, texts, _ = run(ActionAnswerTopic(), domain_dict, tracker)
    assert texts[0].startswith("Application deadlines, MISM:")


def test_a_program_named_in_the_message_beats_the_page(domain_dict):
    messages, texts, _ = answer(
        domain_dict, "ask_deadlines", entities=[entity("program", "mism")], metadata={"program": "msit"}
    )
    assert texts[0].startswith("Application deadlines, MISM:")
    assert not any("instead" in t for t in titles(messages[0])), "the visitor chose; no switch offered"


def test_a_known_unknown_says_exactly_what_is_missing(domain_dict):
    messages, texts, _ = answer(domain_dict, "ask_english_tests", text="what is the minimum TOEFL score?")
    text = texts[0]
    assert messages[0]["response"] == "utter_unknown"
    assert "I don't have the official minimum English-test scores" in text
    assert "[MISM how-to-apply page](" in text and "[MSIT how-to-apply page](" in text
    assert "Talk to a person" in titles(messages[0])


def test_every_known_unknown_is_honest_for_every_program(domain_dict, knowledge):
    unknown = [t for t in knowledge.known_unknowns() if t != "contact"]
    assert "cost" in unknown and "english_tests" in unknown
    for topic in unknown:
        for program in (None, "mism", "msit"):
            entities = [entity("program", program)] if program else []
            messages, texts, _ = answer(domain_dict, intent_for(topic), entities=entities)
            assert messages[0]["response"] == "utter_unknown", (topic, program)
            assert knowledge.topics[topic].missing in texts[0]


def test_an_unknown_program_detail_links_the_page_that_covers_it(domain_dict):
    """MSIT's length is not stated: its program page (the curriculum) helps, its how-to-apply page does not."""
    messages, texts, _ = answer(domain_dict, "ask_program_length", entities=[entity("program", "msit")])
    assert messages[0]["response"] == "utter_unknown"
    assert "[MSIT program page](https://www.heinz.cmu.edu/programs/information-technology-master/)" in texts[0]
    assert "how-to-apply" not in texts[0]


def test_a_fact_known_for_one_program_only_says_so_for_the_other(domain_dict):
    messages, texts, _ = answer(domain_dict, "ask_tuition_payment", text="when do I have to pay tuition?")
    text = texts[0]
    assert "• MISM: not in my information" in text
    assert "• MSIT: Billed after you register" in text
    assert titles(messages[0])[0] == "More on MSIT"


def test_a_long_answer_opens_compact_with_more_details(domain_dict, knowledge, monkeypatch):
    deadlines = knowledge.lookup("mism", None, "deadlines")
    # Before the first round: every round, every note and what the pages say about late applications.
    monkeypatch.setenv("ASSISTANT_TODAY", (deadlines.deadlines()[0].date - datetime.timedelta(days=30)).isoformat())
    bullets = len(deadlines.deadlines()) + len(deadlines.items) + (1 if deadlines.late else 0)
    messages, texts, _ = answer(domain_dict, "ask_deadlines", entities=[entity("program", "mism")])
    assert texts[0].count("• ") == 3 < bullets
    assert '/ask_deadlines{"program":"mism","detail":"full"}' in payloads(messages[0])
    messages, texts, _ = answer(
        domain_dict, "ask_deadlines", entities=[entity("program", "mism"), entity("detail", "full")]
    )
    assert texts[0].count("• ") == bullets
    assert "More details" not in titles(messages[0])


def test_deadlines_name_the_cycle(domain_dict, knowledge):
    fact = knowledge.lookup("mism", None, "deadlines")
    first = fact.deadlines()[0]
    _, texts, _ = answer(domain_dict, "ask_deadlines", entities=[entity("program", "mism")])
    assert f"For the {fact.cycle} (as of {fact.as_of:%B} {fact.as_of.day}, {fact.as_of.year}):" in texts[0]
    assert f"{first.label}: {first.date:%B} {first.date.day}, {first.date.year}" in texts[0]


def test_a_start_date_question_gets_the_starts_not_the_deadline_list(domain_dict):
    """A tryout's "can i start mism in january?" got the deadline list: the starts were never said."""
    _, texts, _ = answer(domain_dict, "ask_start_dates", entities=[entity("program", "mism")])
    assert "two starts, in August and in May" in texts[0] and "Round 1" not in texts[0], texts[0]
    _, texts, _ = answer(domain_dict, "ask_start_dates", metadata={"program": "msit"}, text="is there a spring start")
    assert "Spring semester: early January" in texts[0], texts[0]
    _, texts, _ = answer(domain_dict, "ask_start_dates")  # the home page: each program's starts
    assert "MISM: Mid-August" in texts[0] and "MSIT: Three starts a year" in texts[0], texts[0]


@pytest.mark.parametrize("remembered, said", [("deposit", "$500"), ("scholarships", "scholarship amounts")])
def test_how_much_is_that_asks_the_amount_just_discussed(domain_dict, knowledge, remembered, said):
    """A tryout's "how much is that" after the deposit got the tuition answer."""
    text = "how much is that"
    _, texts, _ = answer(domain_dict, "ask_cost", text=text, slots={"topic": remembered, "program": "msit"})
    assert said in texts[0] and knowledge.topics["cost"].missing not in texts[0], texts[0]
    _, texts, _ = answer(domain_dict, "ask_cost", text=text, slots={"topic": "deadlines", "program": "msit"})
    assert knowledge.topics["cost"].missing in texts[0], "after the deadlines, it asks the cost"


def test_a_message_cut_to_what_the_nlu_reads_says_so_before_the_answer(domain_dict):
    """A tryout's pasted 1,500-character message was answered from its start without a word."""
    pasted = "deadline " * 200
    messages, texts, _ = answer(domain_dict, "ask_deadlines", text=pasted, parse={READ_CHARS: 1000})
    assert messages[0]["response"] == "utter_read_start" and "first 1,000 characters" in texts[0], texts
    assert messages[1]["response"] == "utter_answer"
    tracker = make_tracker("nlu_fallback", text=pasted, parse={READ_CHARS: 1000})
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_read_start" and len(messages) == 2
    messages, _, _ = answer(domain_dict, "ask_deadlines", text="deadline?")
    assert messages[0]["response"] == "utter_answer", "a message read whole gets no note"


def test_gaps_are_stated_with_the_contact(domain_dict):
    _, texts, _ = answer(domain_dict, "ask_test_scores", entities=[entity("program", "mism")])
    assert "Not in my information: whether MISM requires the GRE or GMAT" in texts[0]
    assert ADMISSIONS_EMAIL in texts[0]
    assert "69H-V8-50" in texts[0], "the program's own fact"
    assert "GRE at Home and GMAT Online are accepted" in texts[0], "then the Heinz-wide rules"


def test_a_summary_of_both_programs_keeps_each_programs_gaps(domain_dict):
    """On the home page "is the GRE waived?" showed MISM's score code alone, as if that were all."""
    _, texts, _ = answer(domain_dict, "ask_test_scores", text="is the gre waived this year")
    assert "• MISM:" in texts[0] and "• MSIT:" in texts[0]
    assert "Not in my information: whether MISM requires the GRE or GMAT" in texts[0]
    assert texts[0].count(ADMISSIONS_EMAIL) == 1
    _, texts, _ = answer(domain_dict, "ask_requirements", text="what are the requirements")
    assert "English-test minimums for MISM and MSIT" in texts[0]


def test_a_detail_asked_but_not_known_is_named_before_the_answer(domain_dict):
    """ "What GPA do I need?" answered with the requirements alone reads as "no GPA rule"."""
    _, texts, _ = answer(
        domain_dict, "ask_requirements", entities=[entity("program", "mism")], text="whats the minimum GPA for MISM?"
    )
    first, *rest = texts[0].split("\n")[1:]
    assert first.startswith("Not in my information: a minimum GPA or grade average for MISM.")
    assert ADMISSIONS_EMAIL in first
    assert any("object-oriented programming" in line for line in rest), "then the requirements"
    assert "Also not in my information: the GRE/GMAT policy for MISM" in texts[0]
    assert texts[0].count(ADMISSIONS_EMAIL) == 1, "the contact once"
    _, texts, _ = answer(domain_dict, "ask_requirements", text="Is a 3-year bachelor's degree from India accepted?")
    assert "Not in my information: a rule on three-year bachelor's degrees." in texts[0], "no program: said once"
    assert "MISM" in texts[0] and "MSIT" in texts[0]
    # In the plural, without the hyphen (a tryout's words).
    _, texts, _ = answer(domain_dict, "ask_requirements", text="do you accept 3 year degrees from india")
    assert "Not in my information: a rule on three-year bachelor's degrees." in texts[0]


def test_a_clicked_suggestion_answers_the_question_typed_before_it(domain_dict, knowledge):
    """A tryout's "how many courses per semester" got suggestions; clicking "Program length" gave the
    lengths as if they answered it, because the click's payload has none of the visitor's words."""
    typed = user_event("nlu_fallback", "how many courses per semester")
    suggestions = {"event": "bot", "text": "", "data": {"buttons": [{"payload": "/ask_program_length"}]}}
    click = make_tracker("ask_program_length", text="/ask_program_length", history=[typed, suggestions])
    _, texts, _ = answer_run(domain_dict, click)
    assert "Not in my information: the course load" in texts[0] and ADMISSIONS_EMAIL in texts[0], texts[0]
    assert "16 months" in texts[0], "then what is known: the lengths"
    # The same button after an answer (a follow-up, not a suggestion) asks nothing more.
    answered = user_event("ask_deadlines", "how many courses per semester")
    after_answer = make_tracker("ask_program_length", text="/ask_program_length", history=[answered, suggestions])
    _, texts, _ = answer_run(domain_dict, after_answer)
    assert "course load" not in texts[0] and "16 months" in texts[0], texts[0]
    # "Is it too late?" typed before the click is still answered first.
    late = user_event("nlu_fallback", "is it too late to apply")
    too_late = make_tracker(
        "ask_deadlines", text="/ask_deadlines", history=[late, suggestions], slots={"program": "msit"}
    )
    direct = make_tracker("ask_deadlines", text="is it too late to apply", slots={"program": "msit"})
    assert answer_run(domain_dict, too_late)[1][0] == answer_run(domain_dict, direct)[1][0]
    assert (
        answer_run(domain_dict, too_late)[1][0]
        != answer(domain_dict, "ask_deadlines", text="/ask_deadlines", slots={"program": "msit"})[1][0]
    )


def test_a_topic_not_known_for_the_program_names_the_detail_asked(domain_dict, knowledge):
    """On /msit, "how many courses per semester" was told "I don't have the official program length in
    months for MSIT": true, but not what was asked (MSIT has no length fact at all)."""
    slots = {"program": "msit"}
    _, texts, _ = answer(domain_dict, "ask_program_length", text="how many courses per semester", slots=slots)
    assert "I don't have the course load (how many courses or units a semester) for MSIT" in texts[0], texts[0]
    assert knowledge.topics["program_length"].missing not in texts[0]
    _, texts, _ = answer(domain_dict, "ask_program_length", text="how long is it", slots=slots)
    assert f"I don't have {knowledge.topics['program_length'].missing} for MSIT" in texts[0], texts[0]


def test_a_detail_is_looked_for_in_its_own_question_of_two(domain_dict):
    """ "how much is tuition?? and are there scholarships": "how much" asks about tuition, not the
    scholarship amounts."""
    parse = {
        "questions": [
            {"text": "how much is tuition??", "intent": {"name": "ask_cost", "confidence": 0.9}},
            {"text": "and are there scholarships", "intent": {"name": "ask_scholarships", "confidence": 0.9}},
        ]
    }
    text = "how much is tuition?? and are there scholarships"
    messages, texts, _ = run(ActionAnswerTopic(), domain_dict, make_tracker("ask_cost", text=text, parse=parse))
    assert [m["response"] for m in messages] == ["utter_unknown", "utter_answer"]
    assert texts[1].startswith("Scholarships") and "scholarship amounts" not in texts[1]


def test_a_question_without_such_a_detail_gets_the_plain_answer(domain_dict):
    for text in ("I have three years of work experience, am I eligible for MSIT?", "what are the requirements"):
        _, texts, _ = answer(domain_dict, "ask_requirements", entities=[entity("program", "msit")], text=text)
        assert "Not in my information: a" not in texts[0]
        assert "three or more years" in texts[0]


def test_a_background_question_hears_what_the_mism_page_says_of_backgrounds(domain_dict):
    """ "do I need a CS degree?": the page's line on backgrounds, then the courses asked of everyone."""
    _, texts, _ = answer(domain_dict, "ask_requirements", slots={"program": "mism"}, text="do I need a CS degree?")
    assert "business, health care, law, agriculture or architecture" in texts[0]
    assert "object-oriented programming" in texts[0]


def test_an_employer_paying_is_named_as_not_known_before_the_billing_dates(domain_dict):
    """MSIT is for working professionals; "can my employer pay?" answered with billing dates alone
    reads as "no such arrangement"."""
    _, texts, _ = answer(domain_dict, "ask_tuition_payment", slots={"program": "msit"}, text="can my employer pay?")
    assert "Not in my information: whether an employer can pay or reimburse your tuition for MSIT" in texts[0]
    assert texts[0].index("Not in my information") < texts[0].index("January 15")


def test_details_asked_in_a_follow_up_are_named_too(domain_dict):
    _, texts, _ = answer(domain_dict, "ask_careers", slots={"program": "mism"}, text="and the average salary?")
    assert "Not in my information: salary figures for MISM." in texts[0]
    assert "99%" in texts[0]
    # Which employers hire graduates is not on the outcomes page either (a tryout's question).
    text = "what kind of companies hire mism grads"
    _, texts, _ = answer(domain_dict, "ask_careers", entities=[entity("program", "mism")], text=text)
    assert "Not in my information: which employers hire graduates for MISM." in texts[0]


def test_stem_opt_gives_the_program_statement_then_general_rules(domain_dict):
    _, texts, _ = answer(domain_dict, "ask_stem_opt", entities=[entity("program", "mism")])
    text = texts[0]
    assert "STEM-designated degree program" in text
    assert "not legal or immigration advice" in text
    assert text.index("STEM-designated") < text.index("E-Verify")


def test_stem_opt_for_a_program_without_a_statement_says_it_is_not_known(domain_dict, knowledge):
    """ "Is MSIT a STEM degree?": the general rules alone, headed "all Heinz College programs", read as
    a yes; the visitor is told first that MSIT's designation is not in the bot's information."""
    messages, texts, _ = answer(domain_dict, "ask_stem_opt", entities=[entity("program", "msit")])
    text = texts[0]
    assert text.startswith("STEM designation and STEM OPT, MSIT:"), text
    assert "Not in my information: a published STEM designation or STEM OPT statement for MSIT" in text
    assert knowledge.contact.email in text
    assert text.index("Not in my information") < text.index("E-Verify"), "the gap first, then the general rules"


def test_stem_opt_employer_question_needs_no_program(domain_dict):
    messages, texts, _ = answer(domain_dict, "ask_stem_opt", text="What does my employer need for STEM OPT?")
    text = texts[0]
    assert "E-Verify" in text and "I-983" in text
    assert "• MSIT: not in my information" in text
    assert "• MISM: " in text


def test_track_question_gets_the_track_facts(domain_dict):
    _, texts, slots = answer(domain_dict, "ask_program_length", entities=[entity("track", "12_month")])
    assert "MISM — 12-month pathway" in texts[0]
    assert "begins in the summer semester (May)" in texts[0]
    assert slots["program"] == "mism" and slots["track"] == "12_month"


def test_a_track_both_programs_have_is_answered_for_both(domain_dict):
    messages, texts, slots = answer(domain_dict, "ask_program_overview", entities=[entity("track", "bida")])
    assert "• MISM — Business Intelligence and Data Analytics (BIDA):" in texts[0]
    assert "• MSIT — Business Intelligence & Data Analytics (BIDA):" in texts[0]
    assert slots["track"] == "bida"


def test_program_level_fact_is_not_labelled_with_the_track(domain_dict):
    _, texts, _ = answer(domain_dict, "ask_deadlines", slots={"program": "mism", "track": "bida"})
    assert texts[0].startswith("Application deadlines, MISM:")


def test_tracks_answer_lists_every_track_with_its_page(domain_dict, knowledge):
    _, texts, _ = answer(domain_dict, "ask_tracks", entities=[entity("program", "msit")])
    for track in knowledge.programs["msit"].tracks.values():
        assert f"{track.name}: [" in texts[0]


def test_program_carries_over_to_the_next_question(domain_dict):
    _, texts, _ = answer(domain_dict, "ask_deadlines", slots={"program": "msit"})
    assert texts[0].startswith("Application deadlines, MSIT:")


def test_switching_program_keeps_the_topic(domain_dict):
    _, texts, slots = answer(
        domain_dict, "inform", entities=[entity("program", "msit")], slots={"program": "mism", "topic": "deadlines"}
    )
    assert texts[0].startswith("Application deadlines, MSIT:")
    assert slots["program"] == "msit" and slots["topic"] == "deadlines"


def test_switching_program_drops_a_track_it_does_not_have(domain_dict):
    _, _, slots = answer(
        domain_dict,
        "inform",
        entities=[entity("program", "msit")],
        slots={"program": "mism", "track": "16_month", "topic": "program_length"},
    )
    assert slots["track"] is None


def test_naming_both_programs_compares_and_forgets_the_choice(domain_dict):
    _, texts, slots = answer(
        domain_dict,
        "ask_deadlines",
        entities=[entity("program", "mism"), entity("program", "msit")],
        slots={"program": "mism"},
    )
    assert "• MISM:" in texts[0] and "• MSIT:" in texts[0]
    assert slots["program"] is None


def test_contact_needs_no_program(domain_dict):
    messages, texts, _ = answer(domain_dict, "ask_contact")
    assert messages[0]["response"] == "utter_answer_contact"
    assert ADMISSIONS_EMAIL in texts[0] and ADMISSIONS_PHONE in texts[0]


# -- the welcome ----------------------------------------------------------------------------------


def greet(domain, **kwargs):
    return run(ActionGreet(), domain, make_tracker("greet", text="hi", **kwargs))


def test_the_home_page_welcome_names_both_programs(domain_dict):
    messages, texts, _ = greet(domain_dict)
    assert "MISM" in texts[0] and "MSIT" in texts[0] and "on campus" in texts[0]
    assert "Deadlines" in shown_buttons(domain_dict, messages[0])


def test_a_program_page_welcome_says_which_program_it_answers_for(domain_dict):
    _, texts, _ = greet(domain_dict, metadata={"program": "msit"})
    assert "You're on the MSIT (Master of Science in Information Technology) page" in texts[0]
    assert "if you mean MISM" in texts[0]
    _, texts, _ = greet(domain_dict, metadata={"program": "mism"})
    assert "You're on the MISM" in texts[0] and "if you mean MSIT" in texts[0]
    _, texts, _ = greet(domain_dict, metadata={"program": "nonsense"})  # an unknown page: the general welcome
    assert "MISM (Information Systems Management), on campus" in texts[0]


def test_hi_later_in_the_conversation_does_not_repeat_the_welcome(domain_dict):
    earlier = [user_event("greet", "/greet"), {"event": "bot", "text": "Hi! I am the admissions assistant"}]
    messages, texts, _ = greet(domain_dict, history=earlier, metadata={"program": "mism"})
    assert texts[0].startswith("Hello! What would you like to know?") and "virtual assistant" not in texts[0]
    assert shown_buttons(domain_dict, messages[0]) == ["Deadlines", "How to apply", "Talk to a person"]


def test_a_new_session_gets_the_whole_welcome_again(domain_dict):
    earlier = [
        user_event("greet", "/greet"),
        {"event": "bot", "text": "Hi!"},
        {"event": "action", "name": "action_session_start"},
    ]
    _, texts, _ = greet(domain_dict, history=earlier)
    assert "virtual assistant" in texts[0]


def test_follow_up_buttons_ask_declared_topics(domain_dict, knowledge):
    messages, _, _ = answer(domain_dict, "ask_application_fee")
    for payload in payloads(messages[0]):
        intent = payload[1:].split("{")[0]
        assert intent in domain_dict["intents"]


# -- misses -------------------------------------------------------------------------------------


def miss(domain, intent, history=None, entities=None, slots=None):
    return run(ActionHandleMiss(), domain, make_tracker(intent, history=history, entities=entities, slots=slots))


def ranking(*pairs) -> Dict[str, Any]:
    """An NLU ranking as the FallbackClassifier leaves it: nlu_fallback first, then the classifier's."""
    return {
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.5}]
        + [{"name": name, "confidence": confidence} for name, confidence in pairs]
    }


def test_an_unsure_question_offers_its_likeliest_topics_and_a_person(domain_dict, knowledge):
    parse = ranking(
        ("ask_program_length", 0.28), ("ask_requirements", 0.18), ("ask_english_tests", 0.11), ("ask_cost", 0.05)
    )
    tracker = make_tracker("nlu_fallback", text="is a three-year degree accepted?", parse=parse)
    messages, texts, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_suggest_topics"
    titles = [b["title"] for b in messages[0]["buttons"]]
    expected = [knowledge.topics[t].title for t in ("program_length", "requirements", "english_tests")]
    assert titles[:3] == expected, "the ranking's order, and nothing below the floor"
    assert payloads(messages[0]) == ["/ask_program_length", "/ask_requirements", "/ask_english_tests", "/request_human"]
    assert shown_buttons(domain_dict, messages[0])[-1] == "None of these (talk to a person)"
    assert ADMISSIONS_EMAIL in texts[0]


def test_the_second_opinion_adds_a_topic_the_ranking_left_out(domain_dict, knowledge):
    """The nearest training example by the second encoder names a topic outside the ranking's top
    three: it takes the third place; one already offered is not offered twice; with no likely
    topic at all the honest miss stays."""
    parse = ranking(("ask_program_length", 0.28), ("ask_requirements", 0.18), ("ask_english_tests", 0.11))
    cases = [
        (
            {"name": "ask_class_profile", "similarity": 0.61},
            ["/ask_program_length", "/ask_requirements", "/ask_class_profile"],
        ),
        (
            {"name": "ask_requirements", "similarity": 0.7},
            ["/ask_program_length", "/ask_requirements", "/ask_english_tests"],
        ),
        ({"name": "greet", "similarity": 0.5}, ["/ask_program_length", "/ask_requirements", "/ask_english_tests"]),
    ]
    for opinion, offered in cases:
        tracker = make_tracker(
            "nlu_fallback", text="is a three-year degree accepted?", parse={**parse, "second_opinion": opinion}
        )
        messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
        assert messages[0]["response"] == "utter_suggest_topics"
        assert payloads(messages[0]) == offered + ["/request_human"], opinion
    one = {**ranking(("ask_cost", 0.5)), "second_opinion": {"name": "ask_scholarships", "similarity": 0.6}}
    messages, _, _ = run(
        ActionHandleMiss(), domain_dict, make_tracker("nlu_fallback", text="tuition waiver?", parse=one)
    )
    assert messages[0]["response"] == "utter_suggest_topics", "two likely topics now: a choice"
    assert payloads(messages[0]) == ["/ask_cost", "/ask_scholarships", "/request_human"]
    nothing = {
        **ranking(("out_of_scope", 0.45), ("ask_events", 0.2)),
        "second_opinion": {"name": "ask_events", "similarity": 0.3},
    }
    tracker = make_tracker("nlu_fallback", text="what's the weather in Pittsburgh", parse=nothing)
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_fallback", "no likely topic: the second opinion alone suggests nothing"


def test_one_likely_topic_is_asked_as_a_yes_or_no_question(domain_dict, knowledge):
    parse = ranking(("ask_cost", 0.52), ("ask_application_fee", 0.06), ("ask_scholarships", 0.04))
    tracker = make_tracker("nlu_fallback", text="What is the cost of pursuing an MS in the US?", parse=parse)
    messages, texts, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_suggest_topic"
    assert texts[0].startswith("Is this what you're asking about?") and ADMISSIONS_EMAIL in texts[0]
    assert "one of these" not in texts[0]
    assert shown_buttons(domain_dict, messages[0]) == [
        knowledge.topics["cost"].title,
        "No, something else (talk to a person)",
    ]
    assert payloads(messages[0]) == ["/ask_cost", "/request_human"]


def test_a_miss_with_no_likely_topic_is_honest_and_offers_a_person_not_a_menu(domain_dict):
    parse = ranking(("out_of_scope", 0.45), ("ask_events", 0.2))
    messages, texts, _ = miss(domain_dict, "nlu_fallback", history=[user_event("greet")])
    assert messages[0]["response"] == "utter_fallback"
    assert ADMISSIONS_EMAIL in texts[0]
    assert [b["payload"] for b in domain_dict["responses"]["utter_fallback"][0]["buttons"]] == ["/request_human"]
    tracker = make_tracker("nlu_fallback", text="what's the weather in Pittsburgh", parse=parse)
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_fallback", "out_of_scope ranked first: no topic is suggested"


def test_a_short_follow_up_continues_the_topic_being_discussed(domain_dict):
    leaning = ranking(("ask_capstone", 0.2), ("out_of_scope", 0.18), ("ask_events", 0.05))  # as the model does
    follow_ups = (("any examples?", leaning), ("more details?", {}), ("and for the 12 month one?", {}))
    # "ok ..." as a tryout's visitor wrote after a complaint ("ok what about summer") is a follow-up too.
    for text, parse in (*follow_ups, ("ok, any examples?", leaning)):
        entities = [entity("track", "12_month")] if "12 month" in text else []
        tracker = make_tracker(
            "nlu_fallback", text=text, entities=entities, slots={"topic": "capstone", "program": "mism"}, parse=parse
        )
        messages, texts, slots = run(ActionHandleMiss(), domain_dict, tracker)
        assert messages[0]["response"] == "utter_answer", text
        assert texts[0].startswith("Capstone projects, MISM"), text
        assert slots["topic"] == "capstone"
    # "any examples?" asks for every example, not the first three.
    tracker = make_tracker(
        "nlu_fallback", text="any examples?", slots={"topic": "capstone", "program": "mism"}, parse=leaning
    )
    _, texts, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert texts[0].count("• ") > 3
    # With no program, the answer for every program lists every example too.
    tracker = make_tracker("nlu_fallback", text="any examples?", slots={"topic": "capstone"}, parse=leaning)
    _, texts, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert texts[0].count("  ◦ ") > 3
    # After deadlines, "any examples?" is not about deadlines: the likeliest topics, not deadlines again.
    tracker = make_tracker("nlu_fallback", text="any examples?", slots={"topic": "deadlines"}, parse=leaning)
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_suggest_topic" and payloads(messages[0])[0] == "/ask_capstone"
    # With no topic under discussion there is nothing to continue.
    tracker = make_tracker("nlu_fallback", text="any examples?", parse=leaning)
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] != "utter_answer"


def test_a_short_question_about_it_continues_the_topic_and_names_what_is_missing(domain_dict):
    """ "when is it due?" after the deposit got "Application deadlines / Paying tuition" buttons on a
    tryout; the deposit's due date is not in the knowledge file, so the answer says so first."""
    parse = ranking(("ask_deadlines", 0.39), ("ask_tuition_payment", 0.32), ("out_of_scope", 0.08))  # the model's
    tracker = make_tracker(
        "nlu_fallback", text="when is it due?", slots={"topic": "deposit", "program": "msit"}, parse=parse
    )
    messages, texts, slots = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_answer" and texts[0].startswith("Enrolment deposit, MSIT"), texts
    assert "Not in my information: when the deposit is due for MSIT" in texts[0]
    assert ADMISSIONS_EMAIL in texts[0] and slots["topic"] == "deposit"
    # One that leans to a topic of its own is not taken as the topic being discussed.
    leaning = ranking(("ask_careers", 0.6), ("ask_cost", 0.1))
    tracker = make_tracker("nlu_fallback", text="is it worth it?", slots={"topic": "cost"}, parse=leaning)
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] != "utter_answer"
    # "this program" names its subject: not a question about the topic being discussed.
    tracker = make_tracker("nlu_fallback", text="is this program online?", slots={"topic": "deposit"}, parse=parse)
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] != "utter_answer"


def test_a_follow_up_that_only_describes_a_program_switches_the_topic_being_discussed(domain_dict):
    """ "and online?" after "how long is MISM?" is MSIT's length, even when the classifier is sure
    "online" asks how it is taught (as it became with more examples in other languages)."""
    described = [{**entity("program", "msit"), "role": "description", "start": 4, "end": 10}]
    tracker = make_tracker(
        "ask_format", text="and online?", entities=described, slots={"topic": "program_length", "program": "mism"}
    )
    _, texts, slots = answer_run(domain_dict, tracker)
    first_line = texts[0].split("\n")[0]
    assert "program length" in first_line.lower() and "MSIT" in first_line, texts  # an honest "I don't have"
    assert slots["topic"] == "program_length"
    # A question of its own about the description is answered as asked.
    tracker = make_tracker(
        "ask_format", text="and are the online classes live?", entities=described, slots={"topic": "program_length"}
    )
    _, texts, _ = answer_run(domain_dict, tracker)
    assert texts[0].startswith("How it is taught"), texts


def test_a_question_naming_our_program_is_never_outside_what_the_bot_covers(domain_dict):
    """ "is mism better than an mba" read as out of scope (0.95, the MBA's examples there) got "That's
    outside what I can help with" on a tryout: it asks about MISM."""
    parse = ranking(("out_of_scope", 0.95), ("ask_program_overview", 0.03), ("ask_requirements", 0.004))
    tracker = make_tracker(
        "out_of_scope", text="is mism better than an mba", entities=[entity("program", "mism")], parse=parse
    )
    messages, texts, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] != "utter_out_of_scope" and "outside" not in texts[0], texts
    assert payloads(messages[0])[0] == "/ask_program_overview"
    # Naming none of ours, it stays outside.
    tracker = make_tracker("out_of_scope", text="does cmu have a football team", parse=parse)
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_out_of_scope"


def test_a_longer_case_put_to_the_topic_offers_that_topic_first(domain_dict):
    """A tryout: "what if I have a masters already" after the GRE rules was offered "Applying before
    you graduate", "Program length" and "Admission requirements", not the GRE rules it asks about."""
    parse = ranking(("ask_current_students", 0.3), ("ask_program_length", 0.12), ("ask_requirements", 0.1))
    text = "what if I have a masters already"
    tracker = make_tracker("nlu_fallback", text=text, slots={"topic": "test_scores", "program": "mism"}, parse=parse)
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert payloads(messages[0])[:2] == ["/ask_test_scores", "/ask_current_students"], payloads(messages[0])
    # A long message is a question of its own.
    text = "what if I have a masters already from a university in India in computer science"
    tracker = make_tracker("nlu_fallback", text=text, slots={"topic": "test_scores", "program": "mism"}, parse=parse)
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert payloads(messages[0])[0] == "/ask_current_students"


def test_a_follow_up_naming_a_start_continues_a_topic_that_differs_by_start(domain_dict):
    """ "and for spring?" after the deadlines, however little the classifier sees deadlines in it (as
    the model ranks it: a spring start is a start date); after the capstone it is not a follow-up."""
    parse = ranking(("inform", 0.35), ("out_of_scope", 0.22), ("ask_start_dates", 0.11))
    tracker = make_tracker(
        "nlu_fallback", text="and for spring?", slots={"topic": "deadlines", "program": "msit"}, parse=parse
    )
    messages, texts, slots = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_answer" and texts[0].startswith("Application deadlines, MSIT"), texts
    assert slots["topic"] == "deadlines"
    tracker = make_tracker(
        "nlu_fallback", text="and for spring?", slots={"topic": "capstone", "program": "mism"}, parse=parse
    )
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] != "utter_answer"


def test_a_message_in_another_language_gets_english_only_or_the_answer_with_a_note(domain_dict):
    parse = {"language": "zh", **ranking(("ask_program_length", 0.3))}
    tracker = make_tracker("nlu_fallback", text="MISM需要多长时间？", parse=parse)
    messages, texts, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_english_only"
    assert "only answer in English" in texts[0] and ADMISSIONS_EMAIL in texts[0]
    assert payloads(messages[0]) == ["/ask_program_length"], "the likeliest topic, in English"
    shown = shown_buttons(domain_dict, messages[0])
    assert shown == ["Talk to a person", "Program length"], "one way to a person, not two"
    tracker = make_tracker(
        "ask_program_length", text="MISM需要多长时间？", entities=[entity("program", "mism")], parse={"language": "zh"}
    )
    messages, texts, _ = run(ActionAnswerTopic(), domain_dict, tracker)
    assert [m["response"] for m in messages] == ["utter_answer", "utter_in_english"]
    assert texts[0].startswith("Program length, MISM")


def test_two_questions_in_one_message_get_both_answers_in_order(domain_dict):
    questions = {
        "questions": [
            {"text": "Is there a fee", "intent": {"name": "ask_application_fee", "confidence": 0.9}},
            {"text": "when is the deadline?", "intent": {"name": "ask_deadlines", "confidence": 0.96}},
        ]
    }
    tracker = make_tracker(
        "ask_application_fee",
        text="Is there a fee, and when is the deadline?",
        slots={"program": "mism"},
        parse=questions,
    )
    messages, texts, slots = run(ActionAnswerTopic(), domain_dict, tracker)
    assert [m["response"] for m in messages] == ["utter_answer", "utter_answer"]
    assert texts[0].startswith("Application fee") and texts[1].startswith("Application deadlines, MISM")
    assert slots["topic"] == "deadlines"
    # A ranking overruled by the fallback (the intent is no longer the first question's) answers nothing twice.
    tracker = make_tracker("ask_cost", text="Is there a fee, and when is the deadline?", parse=questions)
    messages, _, _ = run(ActionAnswerTopic(), domain_dict, tracker)
    assert len(messages) == 1


def test_a_third_question_is_offered_not_dropped(domain_dict):
    """ "is there a fee? when's the deadline? do i need gre?": two answers, and the fee as a button."""
    parse = {
        "questions": [
            {"text": "when's the deadline?", "intent": {"name": "ask_deadlines", "confidence": 0.95}},
            {"text": "do i need gre?", "intent": {"name": "ask_test_scores", "confidence": 0.99}},
        ],
        "also_asked": [
            {"text": "is there a fee?", "intent": {"name": "ask_application_fee", "confidence": 0.9}},
            {"text": "do i need gre?", "intent": {"name": "ask_test_scores", "confidence": 0.99}},
        ],
    }
    tracker = make_tracker("ask_deadlines", text="is there a fee? when's the deadline? do i need gre?", parse=parse)
    messages, texts, _ = run(ActionAnswerTopic(), domain_dict, tracker)
    assert [m["response"] for m in messages] == ["utter_answer", "utter_answer", "utter_also_asked"]
    assert texts[0].startswith("Application deadlines") and texts[1].startswith("GRE and GMAT")
    assert payloads(messages[2]) == ["/ask_application_fee"], "an answered topic is not offered again"


def test_capstone_examples_are_in_the_answer_for_every_program(domain_dict, knowledge):
    _, texts, _ = answer(domain_dict, "ask_capstone")
    examples = knowledge.programs["mism"].facts["capstone"].items
    assert examples and all(example in texts[0] for example in examples[: knowledge.topics["capstone"].examples])


def test_out_of_scope_is_polite_and_invents_nothing(domain_dict):
    messages, texts, _ = miss(domain_dict, "out_of_scope", history=[user_event("greet")])
    assert messages[0]["response"] == "utter_out_of_scope"
    assert "only answer questions about Heinz College's MISM and MSIT" in texts[0]


def test_second_miss_in_a_row_offers_a_person_first(domain_dict):
    history = [user_event("greet"), {"event": "bot", "text": "hi"}, user_event("nlu_fallback")]
    messages, texts, _ = miss(domain_dict, "out_of_scope", history=history)
    assert messages[0]["response"] == "utter_handoff"
    assert texts[0].index(ADMISSIONS_EMAIL) < texts[0].index("topics")


def test_a_good_answer_resets_the_miss_count(domain_dict):
    history = [user_event("nlu_fallback"), user_event("ask_deadlines")]
    messages, _, _ = miss(domain_dict, "nlu_fallback", history=history)
    assert messages[0]["response"] == "utter_fallback"
    history = [user_event("nlu_fallback"), user_event("ask_deadlines"), user_event("nlu_fallback")]
    messages, _, _ = miss(domain_dict, "nlu_fallback", history=history)
    assert messages[0]["response"] == "utter_handoff"


def test_unsure_message_naming_a_program_is_answered(domain_dict):
    tracker = make_tracker(
        "nlu_fallback", entities=[entity("program", "mism")], slots={"topic": "program_length"}, text="hmm, mism?"
    )
    messages, texts, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_answer"
    assert texts[0].startswith("Program length, MISM:")


def test_a_short_question_of_its_own_naming_a_program_does_not_continue_the_topic(domain_dict):
    """A tryout: "is a PhD required for mism" after the deadlines, just under the threshold, got the
    MISM deadlines. It names a program but asks something of its own: the likeliest topics instead."""
    parse = ranking(("ask_requirements", 0.73), ("out_of_scope", 0.15))
    program = {**entity("program", "mism"), "start": 22, "end": 26}
    text = "is a PhD required for mism"
    tracker = make_tracker("nlu_fallback", text=text, entities=[program], slots={"topic": "deadlines"}, parse=parse)
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_suggest_topic" and payloads(messages[0])[0] == "/ask_requirements"
    # The program alone, or as a follow-up, still continues it.
    for text, start in (("mism?", 0), ("and for mism?", 8)):
        program = {**entity("program", "mism"), "start": start, "end": start + 4}
        tracker = make_tracker("nlu_fallback", text=text, entities=[program], slots={"topic": "deadlines"}, parse=parse)
        _, texts, _ = run(ActionHandleMiss(), domain_dict, tracker)
        assert texts[0].startswith("Application deadlines, MISM"), text
    # In another script too: a tryout's "MSIT 보증금은 얼마예요?" ("how much is MSIT's deposit?") after
    # tuition payment got tuition payment again, its Korean words unseen.
    program = {**entity("program", "msit"), "start": 0, "end": 4}
    korean = ranking(("ask_cost", 0.62), ("ask_deposit", 0.1), ("ask_application_fee", 0.06))
    tracker = make_tracker(
        "nlu_fallback",
        text="MSIT 보증금은 얼마예요?",
        entities=[program],
        slots={"topic": "tuition_payment"},
        parse={**korean, "language": "ko"},
    )
    messages, texts, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert not texts[0].startswith("Paying tuition"), texts
    assert messages[0]["response"] == "utter_english_only" and "/ask_deposit" in payloads(messages[0]), messages


def test_an_unsure_new_question_mentioning_a_program_is_a_miss_not_an_overview(domain_dict):
    # "do you have any evening or part time options for people who work" names MSIT ("part time")
    # but asks something the NLU was unsure of: answering MSIT's overview would answer another question.
    text = "do you have any evening or part time options for people who work"
    tracker = make_tracker("nlu_fallback", entities=[entity("program", "msit")], text=text)
    messages, texts, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_fallback"
    tracker = make_tracker(
        "nlu_fallback", entities=[entity("program", "msit")], slots={"topic": "deadlines"}, text=text
    )
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] == "utter_fallback", "a long message is a new question, not a follow-up"


def test_every_response_the_actions_use_exists_in_the_domain(domain_dict):
    responses = domain_dict["responses"]
    source = (PROJECT_ROOT / "actions" / "answers.py").read_text(encoding="utf-8")
    used = {name for name in re.findall(r'"(utter_[a-z_]+)"', source) if not name.endswith("_")}
    assert {"utter_answer", "utter_unknown", "utter_answer_contact", "utter_phrase_more"} <= used
    for name in used | {"utter_fallback", "utter_handoff", "utter_out_of_scope"}:
        assert name in responses, name


def test_every_talk_to_a_person_button_asks_for_a_person(domain_dict):
    """A tryout's "Talk to a person" under "outside what I can help with" only repeated the contact:
    every such button offers the live chat or a follow-up request."""
    talk = {
        button["payload"]
        for variations in domain_dict["responses"].values()
        for variation in variations
        for button in variation.get("buttons") or []
        if button["title"] == "Talk to a person"
    }
    assert talk == {"/request_human"}


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


# -- feedback on answers ------------------------------------------------------------------------


def test_answers_and_known_unknowns_carry_the_feedback_marker_misses_do_not(domain_dict):
    answered, _, _ = answer(domain_dict, "ask_deadlines", entities=[entity("program", "mism")])
    assert answered[0]["custom"] == {FEEDBACK_MARKER: True}
    contact, _, _ = answer(domain_dict, "ask_contact")
    assert contact[0]["custom"] == {FEEDBACK_MARKER: True}
    missed, _, _ = miss(domain_dict, "nlu_fallback", history=[user_event("greet")])
    assert not missed[0].get("custom"), "a fallback is not an answer the visitor can rate"


def feedback(domain, value):
    tracker = make_tracker(
        FEEDBACK_INTENT, entities=[entity("helpful", value)], text=f'/feedback{{"helpful":"{value}"}}'
    )
    return run(ActionRecordFeedback(), domain, tracker)


def test_helpful_feedback_is_thanked(domain_dict):
    messages, texts, slots = feedback(domain_dict, "yes")
    assert messages[0]["response"] == "utter_feedback_helpful"
    assert texts[0].startswith("Thanks!")
    assert slots == {}, "feedback changes nothing the next answer depends on"
    assert not messages[0].get("custom"), "an acknowledgement is not rated itself"


def test_not_helpful_feedback_asks_what_was_wanted_and_gives_the_contact(domain_dict, knowledge):
    messages, texts, _ = feedback(domain_dict, "no")
    assert messages[0]["response"] == "utter_feedback_not_helpful"
    assert "what were you looking for?" in texts[0]
    assert knowledge.contact.email in texts[0] and knowledge.contact.phone in texts[0]


def test_not_helpful_offers_a_person_one_click_away(domain_dict):
    messages, _, _ = feedback(domain_dict, "no")
    assert titles(messages[0]) == ["Talk to a person"] and payloads(messages[0]) == ["/request_human"]


def complaint(domain, text: str, wanted: Optional[str], **kwargs):
    """A typed complaint whose wanted words the NLU read as ``wanted`` (an intent, or ``None``)."""
    words = text.split(" i meant ")[-1]
    reading = {"text": words, "intent": {"name": wanted, "confidence": 0.8} if wanted else None}
    parse = {CORRECTION: reading}
    return run(ActionRecordFeedback(), domain, make_tracker(COMPLAINT_INTENT, text=text, parse=parse, **kwargs))


def test_a_complaint_that_says_what_was_wanted_gets_that_answer(domain_dict):
    """A tryout's "thats not what i asked, i wanted the start date" got "what were you looking for?"."""
    text = "thats not what i asked i meant the start date"
    messages, texts, slots = complaint(domain_dict, text, "ask_start_dates", slots={"topic": "deadlines"})
    assert [m["response"] for m in messages] == ["utter_feedback_corrected", "utter_answer"], texts
    assert texts[1].startswith("When the program starts"), texts[1]
    assert slots["topic"] == "start_dates", "the conversation goes on about what was wanted"


def test_a_complaint_naming_only_a_program_answers_the_topic_for_it(domain_dict):
    text = "no i meant msit"
    found = [entity("program", "msit")]
    messages, texts, _ = complaint(domain_dict, text, None, entities=found, slots={"topic": "deadlines"})
    assert messages[-1]["response"] == "utter_answer" and "MSIT" in texts[-1] and "Spring" in texts[-1], texts
    # Nothing wanted that we can read: the usual "what were you looking for?", with a person.
    messages, _, _ = complaint(domain_dict, "that's wrong i meant something else", None, slots={"topic": "deadlines"})
    assert [m["response"] for m in messages] == ["utter_feedback_not_helpful"]


def test_an_unsure_complaint_naming_a_track_answers_the_topic_for_that_track(domain_dict):
    """A tryout's "thats wrong, i meant the bida track" (a complaint the NLU was unsure of) got topic buttons."""
    text = "thats wrong, i meant the bida track"
    parse = {CORRECTION: {"text": "the bida track", "intent": None}}
    tracker = make_tracker(
        "nlu_fallback",
        [entity("track", "bida")],
        slots={"topic": "requirements", "program": "mism"},
        text=text,
        parse=parse,
    )
    messages, texts, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert [m["response"] for m in messages] == ["utter_feedback_corrected", "utter_answer"], texts
    assert "BIDA" in texts[1] and "database course" in texts[1], texts[1]


def test_a_case_put_to_the_topic_is_not_out_of_scope(domain_dict, knowledge):
    """ "what if its an MBA instead" after the GRE rules (read as out of scope) is about the GRE rules."""
    text = "what if its an MBA instead"
    parse = ranking(("out_of_scope", 0.95), ("ask_deferral", 0.01))
    tracker = make_tracker(
        "out_of_scope", degree_entities(text, "MBA"), slots={"topic": "test_scores"}, text=text, parse=parse
    )
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert messages[0]["response"] != "utter_out_of_scope"
    assert knowledge.topics["test_scores"].title in titles(messages[0]), messages


def test_a_correction_that_would_repeat_the_answer_asks_what_was_wanted_instead(domain_dict):
    """A review's "thats wrong, i meant the bida track" after the MSIT deposit got "Sorry about that",
    then the same deposit answer again: BIDA has no deposit of its own."""
    text = "thats wrong, i meant the bida track"
    parse = {CORRECTION: {"text": "the bida track", "intent": None}}
    slots = {"topic": "deposit", "program": "msit"}
    tracker = make_tracker("nlu_fallback", [entity("track", "bida")], slots=slots, text=text, parse=parse)
    messages, _, _ = run(ActionHandleMiss(), domain_dict, tracker)
    assert "utter_feedback_corrected" not in [m["response"] for m in messages], messages
    # Asking again for the topic just answered, naming nothing new, repeats nothing either.
    messages, _, _ = complaint(domain_dict, "no, i meant the deadline", "ask_deadlines", slots={"topic": "deadlines"})
    assert [m["response"] for m in messages] == ["utter_feedback_not_helpful"], messages


def test_unreadable_feedback_is_not_taken_as_praise(domain_dict):
    messages, _, _ = run(ActionRecordFeedback(), domain_dict, make_tracker(FEEDBACK_INTENT))
    assert messages[0]["response"] == "utter_feedback_not_helpful"


# -- a person: the offer depends on what the web server says ----------------------------------------


class DeskServer:
    """A web server that answers the hand-off availability question the way it is told to."""

    def __init__(self, answer: Dict[str, Any]) -> None:
        import http.server
        import json
        import threading

        body = json.dumps(answer).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self.send_response(200 if self.path == "/handoff/availability" else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def desk_answering(monkeypatch, answer: Optional[Dict[str, Any]]) -> Iterator[None]:
    """The web server answers availability with ``answer``; ``None``: no web server at all (port 9)."""
    desk = DeskServer(answer) if answer is not None else None
    monkeypatch.setenv("HANDOFF_URL", desk.url if desk else "http://127.0.0.1:9")
    try:
        yield
    finally:
        if desk:
            desk.close()


SECOND_MISS = [user_event("greet"), {"event": "bot", "text": "hi"}, user_event("nlu_fallback")]


def test_second_miss_offers_a_live_chat_when_an_officer_is_free(domain_dict, monkeypatch):
    with desk_answering(monkeypatch, {"available": True, "reason": "open"}):
        messages, texts, _ = miss(domain_dict, "out_of_scope", history=SECOND_MISS)
    assert messages[0]["response"] == "utter_handoff_live"
    assert "available to chat with you now" in texts[0] and ADMISSIONS_EMAIL in texts[0]
    titles = [b["title"] for b in domain_dict["responses"]["utter_handoff_live"][0]["buttons"]]
    assert titles[0] == "Chat with an admissions officer"


@pytest.mark.parametrize(
    "answer, phrase",
    [
        ({"available": False, "reason": "closed", "hours": "Mon-Fri 09:00-17:00"}, "open Mon-Fri 09:00-17:00"),
        ({"available": False, "reason": "busy"}, "No admissions officer is free"),
        (None, "can't reach the admissions officers' chat"),
    ],
)
def test_asking_for_a_person_when_nobody_can_chat_says_why_and_offers_a_follow_up(
    domain_dict, monkeypatch, answer, phrase
):
    from actions.handoff import ActionOfferHuman

    with desk_answering(monkeypatch, answer):
        messages, texts, _ = run(ActionOfferHuman(), domain_dict, make_tracker("request_human"))
    assert messages[0]["response"] == "utter_offer_followup"
    assert phrase in texts[0] and ADMISSIONS_EMAIL in texts[0]


def test_asking_for_a_person_when_an_officer_is_free_offers_the_live_chat(domain_dict, monkeypatch):
    from actions.handoff import ActionOfferHuman

    with desk_answering(monkeypatch, {"available": True, "reason": "open"}):
        messages, _, _ = run(ActionOfferHuman(), domain_dict, make_tracker("request_human"))
    assert [m["response"] for m in messages] == ["utter_offer_live"]


def test_a_client_without_the_widget_key_cannot_join_the_queue(domain_dict, monkeypatch):
    from actions.handoff import ActionStartHandoff

    with desk_answering(monkeypatch, {"available": True, "reason": "open"}):
        messages, _, slots = run(ActionStartHandoff(), domain_dict, make_tracker("handoff_accept"))
    assert messages[0]["response"] == "utter_offer_followup" and "handoff" not in slots


def test_a_shortened_list_says_how_much_more_there_is(domain_dict, knowledge):
    """ "You'll submit: the application, an essay, a resume" read as the whole list to a visitor."""
    fact = knowledge.lookup("mism", None, "how_to_apply")
    _, short, _ = answer(domain_dict, "ask_how_to_apply", entities=[entity("program", "mism")])
    hidden = len(fact.items) - short[0].count("• ")
    assert hidden > 0 and f'…and {hidden} more under "More details".' in short[0]
    _, full, _ = answer(domain_dict, "ask_how_to_apply", entities=[entity("program", "mism"), entity("detail", "full")])
    assert "more under" not in full[0] and full[0].count("• ") == len(fact.items)


# -- a degree the assistant does not cover -------------------------------------------------------


def degree_entities(text: str, name: str, program: Optional[str] = None) -> List[Dict[str, Any]]:
    start = text.index(name)
    found = [{"entity": "other_program", "value": name, "start": start, "end": start + len(name)}]
    if program:
        found.append(entity("program", program))
    return found


@pytest.mark.parametrize(
    "intent, text, name, shown",
    [
        ("ask_test_scores", "does the mba need the gmat?", "mba", "MBA"),
        ("ask_requirements", "I want to pursue an MBA in the US. Am I eligible to apply?", "MBA", "MBA"),
        ("ask_careers", "What jobs do MPA graduates hold?", "MPA", "MPA"),
        ("nlu_fallback", "how is the phd funded", "phd", "PhD"),
        ("ask_cost", "cost of the master of public policy?", "master of public policy", "master of public policy"),
    ],
)
def test_a_question_about_another_degree_is_not_answered_for_ours(domain_dict, knowledge, intent, text, name, shown):
    action = ActionHandleMiss() if intent == "nlu_fallback" else ActionAnswerTopic()
    ranking = {"intent_ranking": [{"name": intent, "confidence": 0.9}, {"name": "ask_cost", "confidence": 0.05}]}
    tracker = make_tracker(intent, degree_entities(text, name), text=text, parse=ranking)
    messages, texts, slots = run(action, domain_dict, tracker)
    assert [m["response"] for m in messages] == ["utter_other_program"]
    assert f"can't tell you about the {shown}." in texts[0]
    assert ADMISSIONS_EMAIL in texts[0] and "MISM and MSIT" in texts[0]
    assert not slots, "the conversation's program and topic stay as they were"
    # The topic asked about is offered for our programs (none for an unsure question), then the overview and a person.
    asked = [] if intent == "nlu_fallback" else [knowledge.topics[topic_for(intent)].title]
    assert titles(messages[0]) == [*asked, knowledge.topics["program_overview"].title, "Talk to a person"]


@pytest.mark.parametrize(
    "text, name, program",
    [
        ("I have an MBA, do I need the GRE?", "MBA", None),
        ("with a phd can i skip the gre", "phd", None),
        ("is a PhD required to apply? what about the GRE", "PhD", None),
        ("do I need an MBA before applying, or is the GRE enough", "MBA", None),
        ("is an MBA enough to skip gre", "MBA", None),
        ("is the MISM better than an MBA? what are the test requirements", "MBA", "mism"),
    ],
)
def test_another_degree_as_the_visitors_own_or_beside_ours_gets_our_answer(domain_dict, text, name, program):
    found = degree_entities(text, name, program)
    messages, texts, _ = answer(domain_dict, "ask_test_scores", entities=found, text=text)
    assert messages[0]["response"] != "utter_other_program"
    assert texts[0].startswith("Test scores") or "GRE" in texts[0], texts[0]


def test_a_follow_up_putting_another_degree_to_the_topic_is_about_ours(domain_dict, knowledge):
    """ "what if its an MBA instead" after the GRE rules asks about the GRE rules (the waiver); "and for
    the MBA?" asks them of the MBA."""
    own_case = "what if its an MBA instead"
    messages, texts, _ = run(
        ActionAnswerTopic(),
        domain_dict,
        make_tracker("inform", degree_entities(own_case, "MBA"), slots={"topic": "test_scores"}, text=own_case),
    )
    assert messages[0]["response"] != "utter_other_program" and "GRE" in texts[0], texts
    other = "and for the MBA?"
    messages, texts, _ = run(
        ActionAnswerTopic(),
        domain_dict,
        make_tracker("inform", degree_entities(other, "MBA"), slots={"topic": "test_scores"}, text=other),
    )
    assert [m["response"] for m in messages] == ["utter_other_program"], texts
