"""What every action reads besides the message: the knowledge file, and the page the visitor chats from.

One home for these, so the actions (actions.py, handoff.py, followup.py) import them from here
and never from each other.
"""

from __future__ import annotations

from typing import Optional

from rasa_sdk import Tracker

from core.knowledge import Knowledge, KnowledgeSource

_source: Optional[KnowledgeSource] = None


def current_knowledge() -> Knowledge:
    """The knowledge file, loaded once and re-read whenever it changes on disk."""
    global _source
    if _source is None:
        _source = KnowledgeSource()
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
