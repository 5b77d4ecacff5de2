"""The custom actions: thin ``rasa_sdk`` wrappers around ``answers`` and ``misses``.

The domain must contain ``utter_answer`` (variables ``title``, ``subject``, ``body``, ``links``),
``utter_unknown`` (``missing``, ``subject``, ``links``, ``email``, ``phone``),
``utter_answer_contact``, ``utter_fallback``, ``utter_out_of_scope``, ``utter_handoff``,
``utter_feedback_helpful`` and ``utter_feedback_not_helpful`` (``email``, ``phone``) and the
``utter_phrase_*`` phrases; the slots ``program``, ``track`` and ``topic`` with custom mappings; and
the entities ``program``, ``track``, ``detail`` and ``helpful``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, handoff, misses, scope
from actions.context import current_knowledge, page_program
from core.clock import office_clock
from core.knowledge import Knowledge
from core.topics import (
    ANSWER_ACTION,
    FALLBACK_INTENT,
    FEEDBACK_ACTION,
    FEEDBACK_ENTITY,
    FEEDBACK_MARKER,
    GREET_ACTION,
    HELPFUL,
    MISS_ACTION,
    OTHER_PROGRAM_RESPONSE,
    OUT_OF_SCOPE_INTENT,
    READ_CHARS,
    asks_feedback,
    feedback_value,
    intent_for,
)


def answer_turn(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: Dict[Text, Any],
    topic: Optional[str] = None,
    full: bool = False,
) -> List[EventType]:
    """Answer the latest message's topic (or ``topic``) for the programs it, the conversation or the
    page is about; a message that asks two things gets both answers, one after the other."""
    knowledge = current_knowledge()
    message = tracker.latest_message or {}
    if topic is None and other_program_reply(dispatcher, domain, knowledge, tracker):
        return []
    entities = misses.mentioned(message)
    intent = (message.get("intent") or {}).get("name")
    remembered = tracker.get_slot("topic")
    if topic is None and remembered in knowledge.topics and misses.switches_program(message, remembered):
        topic = remembered
    topics = [topic] if topic else answers.topics_asked(knowledge, message, remembered)
    context = answers.resolve_context(
        knowledge, entities, tracker.get_slot("program"), tracker.get_slot("track"), page_program(tracker)
    )
    full = full or any(e.get("entity") == "detail" and e.get("value") == "full" for e in entities)
    answerer = answers.Answerer(knowledge, answers.phrases_from_domain(domain), office_clock().today())
    # A clicked suggestion answers the question typed before it: "is it too late?" or a detail it
    # asked for ("how many courses per semester") still counts.
    typed = (misses.question_of_click(tracker.events) if topic is None else None) or message
    too_late = answers.asks_if_too_late(typed.get("text"))
    for asked in topics:
        reply = answerer.answer(asked, context, full, too_late, answers.asked_text(typed, asked, topics))
        # An answer the visitor may rate carries a small marker (``custom``): the widget adds the buttons.
        marker = {FEEDBACK_MARKER: True} if asks_feedback(reply.response) else None
        dispatcher.utter_message(response=reply.response, buttons=reply.buttons, json_message=marker, **reply.variables)
    more = answers.also_asked(knowledge, message, topics) if topic is None else []
    if more:
        dispatcher.utter_message(response="utter_also_asked", buttons=[topic_button(knowledge, t) for t in more])
    if misses.is_other_language(message) and intent != FALLBACK_INTENT:
        dispatcher.utter_message(response=misses.IN_ENGLISH_RESPONSE)
    events: List[EventType] = [SlotSet("topic", topics[-1]), SlotSet("track", context.track)]
    if len(context.programs) == 1:
        events.append(SlotSet("program", context.programs[0]))
    elif len(context.programs) > 1:
        events.append(SlotSet("program", None))  # a comparison: the next question covers both again
    return events


def other_program_reply(
    dispatcher: CollectingDispatcher, domain: Dict[Text, Any], knowledge: Knowledge, tracker: Tracker
) -> bool:
    """Says "I can only answer about MISM and MSIT" (with the contact) to a question about a degree
    the assistant does not cover, with the topic it asks about as a button for ours (a visitor
    weighing the MBA may weigh MISM too), the overview and a person; whether it did."""
    message = tracker.latest_message or {}
    degree = scope.other_program_asked(message, tracker.get_slot("topic"))
    if not degree:
        return False
    ours = (answers.DEFAULT_TOPIC, answers.CONTACT_TOPIC)  # buttons of their own below
    asked = [t for t in misses.suggested_topics(message, knowledge.topics) if t not in ours][:1]
    talk = answers.person_button(answers.phrases_from_domain(domain)["utter_phrase_talk"])
    buttons = [topic_button(knowledge, topic) for topic in [*asked, answers.DEFAULT_TOPIC]] + [talk]
    contact = knowledge.contact
    dispatcher.utter_message(
        response=OTHER_PROGRAM_RESPONSE, buttons=buttons, degree=degree, email=contact.email, phone=contact.phone
    )
    return True


def answer_correction(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], knowledge: Knowledge
) -> Optional[List[EventType]]:
    """A complaint that says what was wanted ("that's not what I asked, I wanted the start date"):
    a short apology, then that answer; ``None`` (nothing said) for one that says nothing more."""
    wanted = misses.corrected_topic(tracker.latest_message or {}, knowledge.topics, tracker.get_slot("topic"))
    if not wanted or not gives_new_facts(knowledge, tracker, wanted):
        return None
    dispatcher.utter_message(response="utter_feedback_corrected")
    return answer_turn(dispatcher, tracker, domain, wanted)


def gives_new_facts(knowledge: Knowledge, tracker: Tracker, topic: str) -> bool:
    """Whether answering ``topic`` for what the latest message names says anything new: "I meant the
    BIDA track" after the deposit (BIDA has no deposit of its own) would only repeat the answer."""
    if topic != tracker.get_slot("topic"):
        return True
    slots = (tracker.get_slot("program"), tracker.get_slot("track"), page_program(tracker))
    named = misses.mentioned(tracker.latest_message or {})

    def facts(context: answers.Context) -> List[Any]:
        return [knowledge.lookup(p, context.track, topic) for p in context.programs or list(knowledge.programs)]

    return facts(answers.resolve_context(knowledge, named, *slots)) != facts(
        answers.resolve_context(knowledge, [], *slots)
    )


def note_long_message(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Tells a visitor whose message was longer than the NLU reads that only its start was read: a
    question further down must not go unanswered without a word."""
    read = (tracker.latest_message or {}).get(READ_CHARS)
    if isinstance(read, int):
        dispatcher.utter_message(response="utter_read_start", chars=f"{read:,}")


class ActionAnswerTopic(Action):
    """Answers every ``ask_*`` intent and ``inform`` from the knowledge file."""

    def name(self) -> Text:
        return ANSWER_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        note_long_message(dispatcher, tracker)
        return answer_turn(dispatcher, tracker, domain)


def greeting(knowledge: Knowledge, events: Sequence[Dict[str, Any]], page: Optional[str]) -> Tuple[str, Dict[str, str]]:
    """The welcome and its variables: a short "Hello! What would you like to know?" once the bot has
    spoken in this session (the widget greets on opening, so a typed "hi" would repeat the menu); on a
    program's page, that program."""
    for event in reversed(events):
        if event.get("event") == "bot":
            return "utter_greet_again", {}
        if event.get("event") == "action" and event.get("name") == "action_session_start":
            break
    program = knowledge.program(page) if page else None
    if program is None:
        return "utter_greet", {}
    others = " or ".join(p.short_name for p in knowledge.programs.values() if p is not program)
    return "utter_greet_program", {"program": program.short_name, "name": program.name, "others": others}


class ActionGreet(Action):
    """Answers a greeting (and the widget's ``/greet`` on opening) with the welcome for this page."""

    def name(self) -> Text:
        return GREET_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        response, variables = greeting(current_knowledge(), tracker.events, page_program(tracker))
        dispatcher.utter_message(response=response, **variables)
        return []


class ActionHandleMiss(Action):
    """Handles ``nlu_fallback`` and ``out_of_scope`` (the decisions are ``actions/misses.py``'s): a
    short follow-up continues the topic being discussed ("and for spring?", "any examples?"); an
    unsure question gets its likeliest topics as buttons and a person; another language gets
    "English only"; after two misses in a row the human contact comes first."""

    def name(self) -> Text:
        return MISS_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        message = tracker.latest_message or {}
        knowledge = current_knowledge()
        note_long_message(dispatcher, tracker)
        if other_program_reply(dispatcher, domain, knowledge, tracker):
            return []
        intent = (message.get("intent") or {}).get("name")
        remembered = tracker.get_slot("topic")
        corrected = answer_correction(dispatcher, tracker, domain, knowledge)  # "that's wrong, I meant BIDA"
        if corrected is not None:
            return corrected
        unsure = misses.is_unsure(message, remembered)
        per_start = remembered in knowledge.topics and knowledge.topics[remembered].per_start
        names_its_start = per_start and answers.asked_start(message.get("text")) is not None
        if unsure and misses.continues_topic(message, remembered, names_its_start):
            return answer_turn(dispatcher, tracker, domain, remembered, full=misses.wants_more(message))
        contact = knowledge.contact
        suggested = (
            misses.with_topic_discussed(message, remembered, misses.suggested_topics(message, knowledge.topics))
            if unsure
            else []
        )
        if not suggested and intent == OUT_OF_SCOPE_INTENT and misses.names_our_program(message):
            suggested = [answers.DEFAULT_TOPIC]  # never "outside what I can help with" for MISM or MSIT
        response = misses.response_for(
            intent,
            misses.consecutive_misses(tracker.events),
            other_language=misses.is_other_language(message),
            suggesting=len(suggested),
        )
        if response == misses.HANDOFF_RESPONSE and (await handoff.desk().availability()).available:
            response = misses.HANDOFF_LIVE_RESPONSE  # an officer is free: offer the live chat right here
        buttons = None
        if suggested:
            buttons = [topic_button(knowledge, topic) for topic in suggested]
            decline = misses.decline_phrase(response)
            if decline:
                buttons.append(answers.person_button(answers.phrases_from_domain(domain)[decline]))
        dispatcher.utter_message(response=response, buttons=buttons, email=contact.email, phone=contact.phone)
        return []


def topic_button(knowledge: Knowledge, topic: str) -> Dict[str, str]:
    """A button that asks about ``topic`` (its title, and its intent as the payload)."""
    return {"title": knowledge.topics[topic].title, "payload": f"/{intent_for(topic)}"}


def feedback_response(entities: List[Dict[str, Any]]) -> str:
    """``utter_feedback_helpful`` for a "yes", else ``utter_feedback_not_helpful`` (which asks what the
    visitor was looking for and gives the contact): a click we cannot read, or a typed complaint (no
    ``helpful`` entity), is not taken as praise."""
    values = [feedback_value(e.get("value")) for e in entities if e.get("entity") == FEEDBACK_ENTITY]
    return "utter_feedback_helpful" if values and values[-1] == HELPFUL else "utter_feedback_not_helpful"


class ActionRecordFeedback(Action):
    """Acknowledges a "helpful / not helpful" click or a typed complaint. The visitor's message itself
    is the record: an event right after the answer it rates, where the staff console reads it."""

    def name(self) -> Text:
        return FEEDBACK_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge = current_knowledge()
        corrected = answer_correction(dispatcher, tracker, domain, knowledge)  # "... I wanted the start date"
        if corrected is not None:
            return corrected
        response = feedback_response((tracker.latest_message or {}).get("entities") or [])
        # "Not helpful": what were you looking for, the contact, and a person one click away.
        talk = answers.person_button(answers.phrases_from_domain(domain)["utter_phrase_talk"])
        buttons = [talk] if response != "utter_feedback_helpful" else None
        contact = knowledge.contact
        dispatcher.utter_message(response=response, buttons=buttons, email=contact.email, phone=contact.phone)
        return []
