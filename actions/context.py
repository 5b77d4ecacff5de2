"""What every action reads besides the message: the knowledge, and the page the visitor chats from.

One home for these, so the actions (actions.py, handoff.py, followup.py) import them from here
and never from each other.
"""

from __future__ import annotations

from typing import Optional

from rasa_sdk import Tracker

from core.knowledge import Knowledge
from core.knowledge_store import StoredKnowledge
from core.settings import load_settings

_source: Optional[StoredKnowledge] = None


def current_knowledge() -> Knowledge:
    """The newest knowledge staff saved (the database beside the conversations), seeded from the
    knowledge file; a newer version reaches this server within ``KNOWLEDGE_POLL_SECONDS``."""
    global _source
    if _source is None:
        settings = load_settings()
        _source = StoredKnowledge(settings.database_url, poll_seconds=settings.knowledge_poll_seconds)
    return _source.get()


def page_metadata(tracker: Tracker, key: str) -> Optional[str]:
    """A text the widget sends as message metadata (``program``, ``page_url``), if any.

    The widget sends it with every message; Rasa also keeps the first message's metadata of a
    session in the ``session_started_metadata`` slot.
    """
    message = tracker.latest_message or {}
    for metadata in (message.get("metadata"), tracker.get_slot("session_started_metadata")):
        if isinstance(metadata, dict) and isinstance(metadata.get(key), str):
            return metadata[key]
    return None


def page_program(tracker: Tracker) -> Optional[str]:
    """The program of the page the visitor chats from (the widget's ``data-program``), if any."""
    program = (page_metadata(tracker, "program") or "").strip().lower()
    return program or None
