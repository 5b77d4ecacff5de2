"""The follow-up request: a Rasa form that takes the visitor's name, e-mail, program, question and
consent, and hands the request to the staff console's Follow-ups inbox.

The request is stored in the conversation itself, as one ``followup_request`` slot event holding
the whole request (core/handoff.py); the console reads it from there, so the action server needs
no database of its own. Submissions are limited per conversation (read from the same events) and
per action-server process, so a script cannot flood the inbox.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from typing import Any, Deque, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import current_knowledge, page_metadata
from core.handoff import (
    CANCEL_FOLLOWUP_ACTION,
    FOLLOWUP_FORM,
    FOLLOWUP_RECORD_SLOT,
    FOLLOWUP_SLOTS,
    FOLLOWUPS_PER_CONVERSATION_PER_DAY,
    SUBMIT_FOLLOWUP_ACTION,
    UNDECIDED_PROGRAM,
    VALIDATE_FOLLOWUP_ACTION,
    clean_email,
)
from core.topics import FALLBACK_INTENT, SMALL_TALK_INTENTS, topic_for

MAX_NAME = 100
MAX_NAME_WORDS = 8
MAX_QUESTION = 1000
MIN_QUESTION = 3
# Requests one action-server process accepts per hour from all conversations together.
PROCESS_LIMIT_PER_HOUR = 120
_NOT_SURE = re.compile(r"\b(not sure|undecided|don'?t know|either|both|no idea)\b", re.IGNORECASE)


def clean_name(value: Any) -> Optional[str]:
    """A plausible name: some letters, at most eight words, no question or e-mail address."""
    text = " ".join(str(value or "").split())
    if not text or len(text) > MAX_NAME or len(text.split()) > MAX_NAME_WORDS:
        return None
    if "?" in text or "@" in text or not re.search(r"[^\W\d_]", text):
        return None
    return text


def clean_question(value: Any) -> Optional[str]:
    text = " ".join(str(value or "").split())
    return text if MIN_QUESTION <= len(text) <= MAX_QUESTION else None


def clean_program(value: Any, known: List[str]) -> Optional[str]:
    """A program id the knowledge file knows, or ``undecided`` for "not sure yet"."""
    text = str(value or "").strip().lower()
    if text in known or text == UNDECIDED_PROGRAM:
        return text
    if _NOT_SURE.search(text):
        return UNDECIDED_PROGRAM
    named = [program for program in known if re.search(rf"\b{re.escape(program)}\b", text)]
    return named[0] if len(named) == 1 else None


class ValidateFollowupForm(FormValidationAction):
    """Checks each answer; an invalid one is asked again with a hint (never stored)."""

    def name(self) -> Text:
        return VALIDATE_FOLLOWUP_ACTION

    def validate_followup_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """A name; an e-mail address or a question typed here instead is kept for its own step (a
        visitor typed their address first and was only told it was not a name)."""
        name = None if is_conversational(tracker) else clean_name(value)
        if name is not None:
            return {"followup_name": name}
        typed = str((tracker.latest_message or {}).get("text") or "")
        email = clean_email(typed)
        if email and not tracker.get_slot("followup_email"):
            dispatcher.utter_message(response="utter_followup_email_kept", followup_email=email)
            return {"followup_name": None, "followup_email": email}
        question = clean_question(typed) if is_question(tracker) else None
        if question and not tracker.get_slot("followup_question"):
            dispatcher.utter_message(response="utter_followup_question_kept")
            return {"followup_name": None, "followup_question": question}
        dispatcher.utter_message(response="utter_invalid_name")
        return {"followup_name": None}

    def validate_followup_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        email = clean_email(value)
        if email is None:
            dispatcher.utter_message(response="utter_invalid_email")
        return {"followup_email": email}

    def validate_followup_program(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """A program; a question typed here instead is kept as the question (and names the program
        when it names one), so the visitor is never asked to type it twice."""
        slots: Dict[Text, Any] = {"followup_program": clean_program(value, list(current_knowledge().programs))}
        typed = str((tracker.latest_message or {}).get("text") or "")
        if is_question(tracker) and not tracker.get_slot("followup_question"):
            slots["followup_question"] = clean_question(typed)
            if slots["followup_program"] is None:
                dispatcher.utter_message(response="utter_followup_question_kept")
        return slots

    def validate_followup_question(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        question = None if is_conversational(tracker) else clean_question(value)
        if question is None:
            dispatcher.utter_message(response="utter_invalid_question")
        return {"followup_question": question}


def is_conversational(tracker: Tracker) -> bool:
    """Whether the latest message is a "yes", "no", "hi" or "thanks" rather than an answer ("yes"
    stored as the question was a real visitor's request)."""
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return intent in SMALL_TALK_INTENTS


def is_question(tracker: Tracker) -> bool:
    """Whether the latest message is a question for admissions (the NLU found a topic in it, or it
    asks something the NLU was unsure of) rather than a choice ("the MISM one", "not sure yet")."""
    message = tracker.latest_message or {}
    text = str(message.get("text") or "")
    intent = (message.get("intent") or {}).get("name")
    if text.startswith("/"):
        return False  # a button
    return topic_for(intent) is not None or (intent == FALLBACK_INTENT and "?" in text)


class ProcessLimit:
    """At most ``limit`` submissions per hour in this process (a sliding window)."""

    def __init__(self, limit: int, window: float = 3600.0) -> None:
        self.limit, self.window = limit, window
        self._times: Deque[float] = deque()
        self._lock = threading.Lock()

    def allow(self, now: Optional[float] = None) -> bool:
        now = time.time() if now is None else now
        with self._lock:
            while self._times and self._times[0] <= now - self.window:
                self._times.popleft()
            if len(self._times) >= self.limit:
                return False
            self._times.append(now)
            return True


process_limit = ProcessLimit(PROCESS_LIMIT_PER_HOUR)


def requests_today(events: List[Dict[str, Any]], now: float) -> int:
    """Follow-up requests this conversation sent in the last 24 hours."""
    return sum(
        1
        for event in events
        if event.get("event") == "slot"
        and event.get("name") == FOLLOWUP_RECORD_SLOT
        and isinstance(event.get("value"), dict)
        and float(event.get("timestamp") or 0) > now - 86400
    )


def cleared_form() -> List[EventType]:
    return [SlotSet(name, None) for name in FOLLOWUP_SLOTS]


class ActionSubmitFollowup(Action):
    """Sends the filled form to the console's inbox, if the visitor agreed to be contacted."""

    def name(self) -> Text:
        return SUBMIT_FOLLOWUP_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        contact = current_knowledge().contact
        if tracker.get_slot("followup_consent") is not True:
            dispatcher.utter_message(response="utter_followup_no_consent", email=contact.email, phone=contact.phone)
            return cleared_form()
        now = time.time()
        if requests_today(tracker.events, now) >= FOLLOWUPS_PER_CONVERSATION_PER_DAY or not process_limit.allow(now):
            dispatcher.utter_message(response="utter_followup_limit", email=contact.email, phone=contact.phone)
            return cleared_form()
        request = {
            "name": tracker.get_slot("followup_name"),
            "email": tracker.get_slot("followup_email"),
            "program": tracker.get_slot("followup_program"),
            "question": tracker.get_slot("followup_question"),
            "consent": True,
            "submitted_at": now,
            "page_url": (page_metadata(tracker, "page_url") or "")[:500] or None,
        }
        dispatcher.utter_message(response="utter_followup_submitted")
        return [SlotSet(FOLLOWUP_RECORD_SLOT, request), *cleared_form()]


class ActionCancelFollowup(Action):
    """ "Cancel" while the form asks: forgets what the form had taken."""

    def name(self) -> Text:
        return CANCEL_FOLLOWUP_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_followup_cancelled")
        return cleared_form()


__all__ = ["FOLLOWUP_FORM", "ActionCancelFollowup", "ActionSubmitFollowup", "ValidateFollowupForm"]
