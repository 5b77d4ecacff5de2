"""Decide how to handle a message the bot could not answer outright, and when to hand off to a human.

In order: a short follow-up that continues the topic being discussed is answered as that topic; a
message in another language gets "I answer in English only" with the contact; an unsure question
gets the two or three likeliest topics from the classifier's ranking as buttons (Rasa's two-stage
fallback, in one step), plus a person; one that names nothing we cover gets the honest miss with the
contact, and after two misses in a row the contact comes first.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Mapping, Optional

from core.knowledge import DESCRIPTION_ROLE
from core.topics import (
    CORRECTION,
    FALLBACK_INTENT,
    LANGUAGE,
    MISS_INTENTS,
    OUT_OF_SCOPE_INTENT,
    SECOND_OPINION,
    topic_for,
)

HANDOFF_AFTER = 2  # misses in a row before the human contact comes first
HANDOFF_RESPONSE = "utter_handoff"  # the contact and a follow-up request
HANDOFF_LIVE_RESPONSE = "utter_handoff_live"  # the same, with a live chat when an officer is free
SUGGEST_RESPONSE = "utter_suggest_topics"  # "I think you're asking about one of these"
SUGGEST_ONE_RESPONSE = "utter_suggest_topic"  # only one likely topic: "Is this what you're asking about?"
ENGLISH_ONLY_RESPONSE = "utter_english_only"  # an unsure message in another language
IN_ENGLISH_RESPONSE = "utter_in_english"  # after an answer to a message in another language
# A low-confidence message this short that names a program or starts like a follow-up ("and for
# spring?", "ok what about the online one", "any examples?") continues the topic being discussed; a
# longer one is a new question the NLU did not understand, and answering it with the remembered topic
# would answer a different question.
FOLLOW_UP_MAX_WORDS = 6
FOLLOW_UP_START = re.compile(
    r"^\s*(?:(?:ok|okay|oh|so|but|well|then|hmm|cool|great|thanks|right)\b[\s,.!]*)*"
    r"(and|also|what about|how about|what if|same for|for the|for|is that|does that|"
    r"any|more|tell me more|examples?|e\.g|like what|such as)\b",
    re.IGNORECASE,
)
# A question about "it" / "that" / "this" ("when is it due?", "is that refundable?"; not "is this
# program online?", which names its subject).
ABOUT_IT = re.compile(
    r"^\s*(?:(?:ok|okay|so|and|but)\b[\s,]*)*(?:when|how|is|was|does|do|can|could|will|would|should|where|"
    r"what|why)\b[\w\s']*?\b(?:it|that|this)\b(?!\s+(?:program|programme|course|degree|track|path|one|school))",
    re.IGNORECASE,
)
# Above this, an unsure question about "it" leans to a topic of its own ("is it worth it?" after the
# cost: careers), not to the one being discussed.
OWN_TOPIC_CONFIDENCE = 0.5
# Only asking for more, with nothing that could be another topic.
JUST_MORE = re.compile(r"^\s*(tell me )?(more|more details|more info|details)( please)?\s*[?.!]*\s*$", re.IGNORECASE)
# Asking for examples or more: the remembered topic's answer with every detail.
MORE_DETAIL = re.compile(r"\b(examples?|more|details?|like what|such as|list)\b", re.IGNORECASE)
# Topics suggested for an unsure question: at most this many, each at least this likely.
# The visitor speaking of themselves ("what if I have an MBA?"): a follow-up about their own case,
# not about the city ("and the weather?").
# A follow-up that puts a case to the topic being discussed ("what if its an MBA instead"), unlike
# one that asks it of another degree ("and for the MBA?").
HYPOTHETICAL = re.compile(r"^\s*(and\s+)?(what if|if|even if|suppose|say)\b", re.IGNORECASE)
# A case put to the topic may run longer than a follow-up ("what if I have a masters already").
CASE_MAX_WORDS = 10
ABOUT_THEMSELVES = re.compile(r"\b(i|i'm|im|i've|ive|my|me|mine)\b", re.IGNORECASE)
# Words around a program's name that ask nothing of their own ("the online one please").
NAME_FILLERS = frozenset(
    "the one program track please pls plz then instead what about how for and ok okay so hmm oh".split()
)
SUGGESTIONS = 3
SUGGEST_MIN_CONFIDENCE = 0.08


def consecutive_misses(events: Iterable[Mapping[str, Any]]) -> int:
    """How many of the latest user messages in a row were misses (the current one included)."""
    count = 0
    for event in reversed(list(events)):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent not in MISS_INTENTS:
            break
        count += 1
    return count


def question_of_click(events: Iterable[Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    """The typed message a clicked suggestion answers ("how many courses per semester?" behind the
    "Program length" button): its words still ask for a detail or a date, which the payload lacks.
    None unless the latest message is a button payload right after a miss."""
    users = [e for e in events if e.get("event") == "user"][-2:]
    if len(users) < 2:
        return None
    typed, click = users
    typed_text = str(typed.get("text") or "")
    if not str(click.get("text") or "").startswith("/") or not typed_text or typed_text.startswith("/"):
        return None
    parse = typed.get("parse_data") or {}
    if (parse.get("intent") or {}).get("name") not in MISS_INTENTS:
        return None
    return {**parse, "text": typed_text}


def response_for(
    intent: Optional[str], misses_in_a_row: int, *, other_language: bool = False, suggesting: int = 0
) -> str:
    """The reply to a miss: "English only" for another language, the likeliest topics when there are
    any (``suggesting`` of them: one is asked as a yes/no question), the contact first after two
    misses in a row, else "not sure" or "outside what I can help"."""
    if other_language:
        return ENGLISH_ONLY_RESPONSE
    if suggesting:
        return SUGGEST_ONE_RESPONSE if suggesting == 1 else SUGGEST_RESPONSE
    if misses_in_a_row >= HANDOFF_AFTER:
        return HANDOFF_RESPONSE
    if intent == OUT_OF_SCOPE_INTENT:
        return "utter_out_of_scope"
    return "utter_fallback"


def decline_phrase(response: str) -> Optional[str]:
    """The phrase of the last button under suggested topics ("none of these", or "no" to a single
    one), which asks for a person; none under "English only", whose own button already does."""
    return {SUGGEST_RESPONSE: "utter_phrase_none_of_these", SUGGEST_ONE_RESPONSE: "utter_phrase_not_this"}.get(response)


def mentioned(message: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    """The message's entities, less program descriptions ("online", "Pittsburgh") outside a short
    follow-up: "and online?" switches to MSIT, but "a part-time job" or "move to Pittsburgh" on the
    MISM page is still a question about MISM."""
    entities = list(message.get("entities") or [])
    if is_follow_up(str(message.get("text") or "")):
        return entities
    return [e for e in entities if e.get("role") != DESCRIPTION_ROLE]


def refers_back(text: str) -> bool:
    """A short question about "it" or "that" ("when is it due?" after the deposit): it asks about
    the thing being discussed, whatever words it lacks."""
    return len(text.split()) <= FOLLOW_UP_MAX_WORDS and bool(ABOUT_IT.match(text))


def is_follow_up(text: str) -> bool:
    """A short message that starts like a follow-up ("and for spring?", "what about online")."""
    return len(text.split()) <= FOLLOW_UP_MAX_WORDS and bool(FOLLOW_UP_START.search(text))


def names_program_or_track(message: Mapping[str, Any]) -> bool:
    return any(e.get("entity") in ("program", "track") for e in mentioned(message))


def continues_topic(message: Mapping[str, Any], remembered_topic: Optional[str], names_its_start: bool = False) -> bool:
    """An unsure, short message that continues the topic being discussed: it says which program
    ("what about the online one"), asks for more ("more details?"), asks about "it" and leans to no
    other topic ("when is it due?" after the deposit), or starts like a follow-up and
    either names a start of a topic that differs by start (``names_its_start``: "and for spring?"
    after deadlines) or the classifier still sees that topic in it ("any examples?" after capstones;
    "any examples?" after deadlines is not, and gets suggestions instead)."""
    text = str(message.get("text") or "")
    if not remembered_topic or len(text.split()) > FOLLOW_UP_MAX_WORDS:
        return False
    if JUST_MORE.match(text) or names_only_a_program(message):
        return True
    if refers_back(text) and not leans_elsewhere(message, remembered_topic):
        return True
    if not is_follow_up(text):
        return False
    return names_program_or_track(message) or names_its_start or leans_to(message, remembered_topic)


def switches_program(message: Mapping[str, Any], remembered_topic: Optional[str]) -> bool:
    """A follow-up that only names a program or describes one ("and online?", "what about msit?"):
    the topic being discussed, for that program, however sure the classifier is of a topic of the
    description's own word ("online": how it is taught)."""
    return bool(remembered_topic) and is_follow_up(str(message.get("text") or "")) and names_only_a_program(message)


def names_only_a_program(message: Mapping[str, Any]) -> bool:
    """A message that names a program or track and is little more than that ("msit?", "the BIDA one
    please"): "is a PhD required for mism" names a program but asks something of its own."""
    if not names_program_or_track(message):
        return False
    text = str(message.get("text") or "")
    for found in sorted(mentioned(message), key=lambda e: -int(e.get("start") or 0)):
        if isinstance(found.get("start"), int) and isinstance(found.get("end"), int):
            text = text[: found["start"]] + " " + text[found["end"] :]
        if found.get("value"):
            text = re.sub(re.escape(str(found["value"])), " ", text, flags=re.IGNORECASE)
    # Words of two letters or more in any script: "MSIT 보증금은 얼마예요?" asks about MSIT's deposit.
    return len(set(re.findall(r"[^\W\d_]{2,}", text.lower())) - NAME_FILLERS) == 0


def corrected_topic(
    message: Mapping[str, Any], known_topics: Iterable[str], remembered: Optional[str]
) -> Optional[str]:
    """The topic a complaint says it wanted: "that's not what I asked, I wanted the start date" (the
    NLU's reading of the wanted words), or the topic being discussed when those words only name a
    program or track ("no, I meant for MSIT"); ``None`` for a complaint that says nothing more."""
    correction = message.get(CORRECTION)
    if not isinstance(correction, Mapping):
        return None
    wanted = topic_for((correction.get("intent") or {}).get("name"))
    if wanted and wanted in known_topics:
        return wanted
    return remembered if remembered and names_program_or_track(message) else None


def leans_elsewhere(message: Mapping[str, Any], topic: str) -> bool:
    """Whether the classifier gives another topic at least ``OWN_TOPIC_CONFIDENCE``."""
    ranking = message.get("intent_ranking") or []
    return any(
        topic_for(e.get("name")) not in (None, topic) and float(e.get("confidence") or 0) >= OWN_TOPIC_CONFIDENCE
        for e in ranking
    )


def leans_to(message: Mapping[str, Any], topic: str) -> bool:
    """Whether the classifier's ranking gives ``topic`` at least the suggestion floor."""
    return any(
        topic_for(entry.get("name")) == topic and float(entry.get("confidence") or 0) >= SUGGEST_MIN_CONFIDENCE
        for entry in message.get("intent_ranking") or []
    )


def wants_more(message: Mapping[str, Any]) -> bool:
    """ "any examples?", "more details": the whole answer, not the compact one."""
    return bool(MORE_DETAIL.search(str(message.get("text") or "")))


def suggested_topics(message: Mapping[str, Any], known_topics: Iterable[str]) -> List[str]:
    """The likeliest topics of an unsure message, best first, from the classifier's ranking; when the
    second opinion (the nearest training example by another encoder) names a topic the ranking left
    out, it takes the last place: the two encoders miss different questions. With no likely topic
    at all, none is offered (the honest miss)."""
    known = set(known_topics)
    ranking: List[Dict[str, Any]] = [
        entry for entry in message.get("intent_ranking") or [] if entry.get("name") != FALLBACK_INTENT
    ]
    if ranking and ranking[0].get("name") == OUT_OF_SCOPE_INTENT and not names_our_program(message):
        return []  # the classifier's best guess is "not about admissions": no topic to offer
    topics = []
    for entry in ranking:
        topic = topic_for(entry.get("name"))
        if topic in known and float(entry.get("confidence") or 0) >= SUGGEST_MIN_CONFIDENCE:
            topics.append(topic)
    topics = topics[:SUGGESTIONS]
    other = topic_for((message.get(SECOND_OPINION) or {}).get("name"))
    if topics and other in known and other not in topics:
        topics = topics[: SUGGESTIONS - 1] + [other]
    return topics


def with_topic_discussed(message: Mapping[str, Any], remembered: Optional[str], suggested: List[str]) -> List[str]:
    """An unsure short follow-up ("and if I miss it?" after the deadlines) offers the topic being
    discussed first: it is what the visitor is most likely still asking about. Not one that asks for
    examples or more ("any examples?" after the deadlines): had it been about that topic, the
    classifier would have seen it (``continues_topic``)."""
    text = str(message.get("text") or "")
    if not remembered or not (is_follow_up(text) or puts_case(text)) or wants_more(message) or remembered in suggested:
        return suggested
    return [remembered, *suggested][:SUGGESTIONS]


def puts_case(text: str) -> bool:
    """A short "what if ..." about the visitor's case ("what if I have a masters already" after the
    GRE rules), which asks the topic being discussed about it."""
    return len(text.split()) <= CASE_MAX_WORDS and bool(HYPOTHETICAL.match(text.replace("\u2019", "'")))


def puts_case_to_topic(text: str, remembered: Optional[str]) -> bool:
    """A short follow-up on the topic being discussed that is about the visitor's own case or puts a
    case to it ("what if I have an MBA?", "what if its an MBA instead" after the GRE rules)."""
    text = text.replace("\u2019", "'")
    return bool(remembered) and is_follow_up(text) and bool(ABOUT_THEMSELVES.search(text) or HYPOTHETICAL.match(text))


def is_unsure(message: Mapping[str, Any], remembered: Optional[str]) -> bool:
    """Whether a miss is one to help with (suggestions, or the topic being discussed): the fallback,
    or "out of scope" for a message that names MISM or MSIT, or for a short follow-up about the
    visitor's own case or a case put to the topic in a conversation about it ("what if I have an MBA?",
    "what if its an MBA instead" after the GRE rules are about the GRE rules, not another degree;
    "and the weather?" stays out of scope)."""
    intent = (message.get("intent") or {}).get("name")
    if intent == FALLBACK_INTENT:
        return True
    if intent != OUT_OF_SCOPE_INTENT:
        return False
    return names_our_program(message) or puts_case_to_topic(str(message.get("text") or ""), remembered)


def names_our_program(message: Mapping[str, Any]) -> bool:
    """Whether the message names MISM or MSIT itself (not a description such as "online"): "is mism
    better than an mba" is about our program, never "outside what I can help with"."""
    return any(e.get("entity") == "program" and not e.get("role") for e in message.get("entities") or [])


def is_other_language(message: Mapping[str, Any]) -> bool:
    language = message.get(LANGUAGE)
    return isinstance(language, str) and language not in ("", "en")
