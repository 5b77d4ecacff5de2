"""Decide how to handle a message the bot could not answer, and when to hand off to a human."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from core.topics import MISS_INTENTS, OUT_OF_SCOPE_INTENT

HANDOFF_AFTER = 2  # misses in a row before the human contact comes first
HANDOFF_RESPONSE = "utter_handoff"  # the contact and a follow-up request
HANDOFF_LIVE_RESPONSE = "utter_handoff_live"  # the same, with a live chat when an officer is free
# A low-confidence message this short that names a program ("hmm, the on-campus one?") continues
# the topic being discussed; a longer one is a new question the NLU did not understand, and
# answering it with the remembered topic (or an overview) would answer a different question.
FOLLOW_UP_MAX_WORDS = 6


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


def response_for(intent: Optional[str], misses_in_a_row: int) -> str:
    if misses_in_a_row >= HANDOFF_AFTER:
        return HANDOFF_RESPONSE
    if intent == OUT_OF_SCOPE_INTENT:
        return "utter_out_of_scope"
    return "utter_fallback"


def names_program_or_track(message: Mapping[str, Any]) -> bool:
    return any(e.get("entity") in ("program", "track") for e in message.get("entities") or [])


def is_program_follow_up(message: Mapping[str, Any], remembered_topic: Optional[str]) -> bool:
    """An unsure message that only says which program, while a topic is being discussed."""
    words = str(message.get("text") or "").split()
    return bool(remembered_topic) and names_program_or_track(message) and len(words) <= FOLLOW_UP_MAX_WORDS
