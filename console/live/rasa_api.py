"""Writing staff messages into the conversation, through Rasa's token-protected HTTP API.

Every human message and every hand-off change is stored in the conversation itself, so transcripts,
exports and trends read one history. Rasa's server appends events with
``POST /conversations/<sender_id>/tracker/events?token=...`` (``rasa/server.py``: it takes the
conversation's lock, applies the events to the tracker and saves it in the tracker store), which is
the only writer the tracker store should have. A staff message is a bot event whose metadata names
the kind and the staff member (``core.handoff``); a state change appends the ``handoff`` slot event
in the same request, so the announcement and the slot change are stored together.

A Rasa server that is down or answers with an error raises :class:`RasaError` with a sentence staff
can act on; nothing here swallows it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Optional

from core.handoff import HANDOFF_EVENT_KEY, HANDOFF_SLOT, STAFF_NAME_KEY

TIMEOUT_SECONDS = 5.0


class RasaError(RuntimeError):
    """The conversation could not be updated; the message says why, for staff."""


def staff_event(kind: str, text: str, staff_name: str, now: Optional[float] = None) -> Dict[str, Any]:
    """A bot event written by staff (a message or an announcement)."""
    return {
        "event": "bot",
        "text": text,
        "metadata": {HANDOFF_EVENT_KEY: kind, STAFF_NAME_KEY: staff_name},
        "timestamp": now if now is not None else time.time(),
    }


def slot_event(value: Optional[str], now: Optional[float] = None) -> Dict[str, Any]:
    """The ``handoff`` slot set to ``queued`` / ``live``, or emptied (``None``)."""
    return {
        "event": "slot",
        "name": HANDOFF_SLOT,
        "value": value,
        "timestamp": now if now is not None else time.time(),
    }


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def events_url(self, sender_id: str) -> str:
        query = {"include_events": "NONE"}  # the answer would otherwise repeat the whole tracker
        if self.token:
            query["token"] = self.token
        path = urllib.parse.quote(sender_id, safe="")
        return f"{self.base_url}/conversations/{path}/tracker/events?{urllib.parse.urlencode(query)}"

    def append(self, sender_id: str, events: List[Dict[str, Any]]) -> None:
        """Append ``events`` to the conversation, in one request (one lock, one save)."""
        request = urllib.request.Request(
            self.events_url(sender_id),
            data=json.dumps(events).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            if error.code in (401, 403):
                raise RasaError(
                    "The assistant's server refused the web server's token (RASA_TOKEN differs between them),"
                    " so the message was not stored."
                ) from error
            raise RasaError(
                f"The assistant's server answered {error.code} and did not store the message; try again."
            ) from error
        except (urllib.error.URLError, OSError) as error:
            raise RasaError(
                "The assistant's server is not reachable right now, so the message was not stored; try again"
                " in a moment."
            ) from error
