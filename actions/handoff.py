"""The action server's side of the live hand-off: ask the web server whether an admissions officer
can chat now, and put a conversation in the officers' queue (docs/handoff.md).

The web server owns the queue (the console's tables); the action server only calls its two
endpoints, so neither imports the other. A web server that is down, slow or refusing is never an
error the visitor sees: the offer falls back to a follow-up request and the admissions contact.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Text

import aiohttp
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import phrases_from_domain
from actions.context import current_knowledge, page_program
from core.handoff import (
    HANDOFF_KEY_METADATA,
    HANDOFF_SLOT,
    INTERNAL_TOKEN_HEADER,
    OFFER_ACTION,
    QUEUED,
    START_HANDOFF_ACTION,
    valid_key_hash,
)
from core.settings import Settings, load_settings

logger = logging.getLogger(__name__)

# Seconds to wait for the web server: the visitor is waiting for this turn's reply.
DESK_TIMEOUT = 2.0
# ``reason`` -> the phrase that says why no one can chat (domain.yml).
REASON_PHRASES = {
    "closed": "utter_phrase_closed",
    "busy": "utter_phrase_busy",
    "unreachable": "utter_phrase_unreachable",
}


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str  # "open", "closed", "busy" or "unreachable"
    hours: str = ""


class HandoffDesk:
    """HTTP client of the web server's hand-off endpoints."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.handoff_url.rstrip("/")
        self.token = settings.handoff_token

    async def _call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=DESK_TIMEOUT)
        headers = {INTERNAL_TOKEN_HEADER: self.token} if self.token else {}
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.request(method, self.url + path, json=body, headers=headers) as response:
                data = await response.json(content_type=None)
                if not isinstance(data, dict):
                    raise ValueError(f"unexpected answer {response.status} from {path}")
                data["_status"] = response.status
                return data

    async def availability(self) -> Availability:
        try:
            data = await self._call("GET", "/handoff/availability")
        except Exception as error:  # noqa: BLE001 - any failure means "nobody can chat now"
            logger.warning("Hand-off availability unknown (%s): offering a follow-up request.", error)
            return Availability(False, "unreachable")
        return Availability(
            bool(data.get("available")), str(data.get("reason") or "busy"), str(data.get("hours") or "")
        )

    async def queue(self, sender_id: str, key_hash: str, program: Optional[str]) -> Availability:
        """Put the conversation in the queue; ``available`` is whether it is now queued."""
        try:
            data = await self._call(
                "POST", "/handoff/queue", {"sender_id": sender_id, "key_hash": key_hash, "program": program}
            )
        except Exception as error:  # noqa: BLE001
            logger.warning("Could not queue conversation for a hand-off (%s).", error)
            return Availability(False, "unreachable")
        if data["_status"] == 200 and data.get("status") == QUEUED:
            return Availability(True, "open")
        if data["_status"] != 409:
            logger.warning("Hand-off queue answered %s: %s", data["_status"], data.get("error"))
        return Availability(False, str(data.get("reason") or "unreachable"), str(data.get("hours") or ""))


def desk() -> HandoffDesk:
    return HandoffDesk(load_settings())


def offer_follow_up(dispatcher: CollectingDispatcher, domain: Dict[Text, Any], availability: Availability) -> None:
    """Say why no one can chat, and offer a follow-up request with the admissions contact."""
    contact = current_knowledge().contact
    template = phrases_from_domain(domain).get(REASON_PHRASES.get(availability.reason, "utter_phrase_busy"), "")
    reason = template.replace("{hours}", availability.hours or "during office hours")
    dispatcher.utter_message(response="utter_offer_followup", reason=reason, email=contact.email, phone=contact.phone)


async def offer_person(dispatcher: CollectingDispatcher, domain: Dict[Text, Any]) -> None:
    """A live chat when an officer is free now, else a follow-up request."""
    availability = await desk().availability()
    if availability.available:
        dispatcher.utter_message(response="utter_offer_live")
    else:
        offer_follow_up(dispatcher, domain, availability)


def handoff_program(tracker: Tracker) -> Optional[str]:
    """The program the officer sees for the chat: the one discussed, else the page's (``/msit``)."""
    program = tracker.get_slot("program")
    return program if isinstance(program, str) and program else page_program(tracker)


def visitor_key(tracker: Tracker) -> Optional[str]:
    """The hash of the widget's per-conversation secret, from the latest message's metadata."""
    metadata = (tracker.latest_message or {}).get("metadata")
    value = metadata.get(HANDOFF_KEY_METADATA) if isinstance(metadata, dict) else None
    return value if valid_key_hash(value) else None


class ActionOfferHuman(Action):
    """ "Can I talk to a person?": offers a live chat or a follow-up request (never a dead end)."""

    def name(self) -> Text:
        return OFFER_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        await offer_person(dispatcher, domain)
        return []


class ActionStartHandoff(Action):
    """ "Chat with an admissions officer": puts the conversation in the officers' queue.

    The visitor's widget must have sent its key (``handoff_key`` metadata); a client without one
    could never read the officer's replies, so it gets the follow-up offer instead.
    """

    def name(self) -> Text:
        return START_HANDOFF_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        key = visitor_key(tracker)
        if key is None:
            offer_follow_up(dispatcher, domain, Availability(False, "unreachable"))
            return []
        result = await desk().queue(tracker.sender_id, key, handoff_program(tracker))
        if not result.available:
            offer_follow_up(dispatcher, domain, result)
            return []
        dispatcher.utter_message(response="utter_handoff_queued", json_message={HANDOFF_SLOT: {"state": QUEUED}})
        return [SlotSet(HANDOFF_SLOT, QUEUED)]
