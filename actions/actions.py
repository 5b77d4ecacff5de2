"""The custom actions: thin ``rasa_sdk`` wrappers around ``answers`` and ``misses``.

The domain must contain, for every topic in ``knowledge.Topic``, the responses
``utter_answer_<topic>`` (variables ``subject``, ``body``, ``link``) and ``utter_unknown_<topic>``
(``subject``, ``link``, ``email``, ``phone``), plus ``utter_ask_program``, ``utter_fallback``,
``utter_out_of_scope``, ``utter_handoff``, ``utter_stem_opt_general`` and the ``utter_phrase_*``
phrases; and the slots ``program``, ``track`` and ``topic`` with custom mappings.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, misses
from core.knowledge import Knowledge, KnowledgeSource

_source: Optional[KnowledgeSource] = None


def current_knowledge() -> Knowledge:
    """The knowledge file, loaded once and re-read whenever it changes on disk."""
    global _source
    if _source is None:
        _source = KnowledgeSource()
    return _source.get()


def answer_turn(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
    """Answer the latest message's topic for the programs it (or the conversation) is about."""
    knowledge = current_knowledge()
    message = tracker.latest_message or {}
    topic = answers.topic_for((message.get("intent") or {}).get("name"), tracker.get_slot("topic"))
    context = answers.resolve_context(
        knowledge, message.get("entities") or [], tracker.get_slot("program"), tracker.get_slot("track")
    )
    events: List[EventType] = [SlotSet("topic", topic.value), SlotSet("track", context.track)]
    if answers.needs_program(topic, context):
        dispatcher.utter_message(response="utter_ask_program")
        return events
    phrases = answers.phrases_from_domain(domain)
    for program in context.programs or [None]:
        for reply in answers.answer(knowledge, topic, program, context.track, phrases):
            dispatcher.utter_message(response=reply.response, **reply.variables)
    if len(context.programs) == 1:
        events.append(SlotSet("program", context.programs[0]))
    elif len(context.programs) > 1:
        events.append(SlotSet("program", None))  # a comparison: the next question must say which
    return events


class ActionAnswerTopic(Action):
    """Answers every ``ask_*`` intent and ``inform`` from the knowledge file, asking for the
    program first when the answer depends on it and none is known yet."""

    def name(self) -> Text:
        return "action_answer_topic"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return answer_turn(dispatcher, tracker, domain)


class ActionHandleMiss(Action):
    """Handles ``nlu_fallback`` and ``out_of_scope``: suggests topics, and after two misses in a
    row puts the human contact first. A low-confidence message that still names a program or a
    track (e.g. "hmm, the on-campus one?") is answered rather than treated as a miss."""

    def name(self) -> Text:
        return "action_handle_miss"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name")
        if intent == misses.FALLBACK_INTENT and misses.names_program_or_track(message):
            return answer_turn(dispatcher, tracker, domain)
        contact = current_knowledge().contact
        response = misses.response_for(intent, misses.consecutive_misses(tracker.events))
        dispatcher.utter_message(response=response, email=contact.email, phone=contact.phone)
        return []
