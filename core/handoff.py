"""The one home of the hand-off's and the follow-up request's names and rules.

A visitor who asks for a person is offered a live chat with an admissions officer when someone is
available during office hours, and a follow-up request (a Rasa form) otherwise. Everything that
happens in a hand-off is an event in the conversation itself (Rasa's tracker):

- the ``handoff`` slot is ``queued`` or ``live`` while a person owns the conversation, and empty
  otherwise; the dialogue policy (``bot/policies/handoff.py``) keeps the assistant quiet while it is set;
- each message or announcement from staff is a bot event whose ``metadata`` carries
  ``{"handoff": <kind>, "staff": <display name>}``;
- a submitted follow-up request is a ``followup_request`` slot event holding the whole request.

The action server, the dialogue policy, the web server, the console and the widget's contract all
read these names from here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from pathlib import Path
from typing import Dict, List, Optional, Tuple

# -- the conversation's state -------------------------------------------------------------------
HANDOFF_SLOT = "handoff"
QUEUED, LIVE = "queued", "live"
ACTIVE_STATES = (QUEUED, LIVE)
# States of a hand-off row in the console's table (staff_handoffs): queued -> live -> closed.
CLOSED = "closed"

# -- intents and actions ----------------------------------------------------------------------------
REQUEST_HUMAN_INTENT = "request_human"  # "can I talk to a person?" (typed)
HANDOFF_ACCEPT_INTENT = "handoff_accept"  # the "Chat with an admissions officer" button
FOLLOWUP_INTENT = "request_followup"  # the "Leave a follow-up request" button, or typed
CANCEL_INTENT = "cancel"  # "cancel" / "stop" while the follow-up form is asking
PEOPLE_INTENTS = (REQUEST_HUMAN_INTENT, HANDOFF_ACCEPT_INTENT, FOLLOWUP_INTENT, CANCEL_INTENT)
OFFER_ACTION = "action_offer_human"
START_HANDOFF_ACTION = "action_start_handoff"
FOLLOWUP_FORM = "followup_form"
VALIDATE_FOLLOWUP_ACTION = f"validate_{FOLLOWUP_FORM}"
SUBMIT_FOLLOWUP_ACTION = "action_submit_followup"
CANCEL_FOLLOWUP_ACTION = "action_cancel_followup"

# -- staff events in the tracker ------------------------------------------------------------------
# Key of a bot event's metadata that marks it as written by staff (never by the assistant), and the
# kinds it takes; STAFF_NAME_KEY holds the staff member's display name.
HANDOFF_EVENT_KEY = "handoff"
STAFF_NAME_KEY = "staff"
JOINED, MESSAGE, HANDED_BACK, CLOSED_BY_STAFF, ENDED_BY_VISITOR, EXPIRED = (
    "joined",
    "message",
    "handed_back",
    "closed",
    "ended_by_visitor",
    "expired",
)
HANDOFF_EVENT_KINDS = (JOINED, MESSAGE, HANDED_BACK, CLOSED_BY_STAFF, ENDED_BY_VISITOR, EXPIRED)
# Kinds that end the hand-off (the slot is emptied in the same append).
ENDING_KINDS = (HANDED_BACK, CLOSED_BY_STAFF, ENDED_BY_VISITOR, EXPIRED)

# -- the visitor's secret ---------------------------------------------------------------------------
# The widget makes a random secret per conversation and keeps it in the browser; only its SHA-256
# (hex) travels through Rasa, as message metadata under HANDOFF_KEY_METADATA, and is stored with the
# hand-off. The visitor-side endpoints require the secret itself in this header.
HANDOFF_KEY_METADATA = "handoff_key"
SECRET_HEADER = "X-Handoff-Secret"
# The action server authenticates to the web server's internal queue endpoint with this header.
INTERNAL_TOKEN_HEADER = "X-Handoff-Token"

# -- follow-up requests -------------------------------------------------------------------------------
FOLLOWUP_SLOTS = ("followup_name", "followup_email", "followup_program", "followup_question", "followup_consent")
FOLLOWUP_RECORD_SLOT = "followup_request"
# A conversation may send this many follow-up requests per day; the rest get the contact instead.
FOLLOWUPS_PER_CONVERSATION_PER_DAY = 3
FOLLOWUP_STATUSES = ("open", "answered", "closed")
# "Not sure yet" for the program question.
UNDECIDED_PROGRAM = "undecided"

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# A local part that starts with a letter or digit, "@", and a domain of two or more labels.
_EMAIL = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]*@{_LABEL}(?:\.{_LABEL})+$")


def key_hash(secret: str) -> str:
    """The SHA-256 (hex) the widget sends for ``secret``."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: Optional[str], stored_hash: Optional[str]) -> bool:
    """Constant-time check of a visitor's secret against the stored hash."""
    if not secret or not stored_hash or len(secret) > 200:
        return False
    return hmac.compare_digest(key_hash(secret), stored_hash)


def valid_key_hash(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) is not None


def clean_email(text: object) -> Optional[str]:
    """The e-mail address in ``text`` (trimmed, lower-cased domain), or ``None`` when it is not one.

    The widget's visitors type it, so surrounding words are tolerated: "it's jane@example.com".
    """
    if not isinstance(text, str):
        return None
    candidates = [word.strip(" .,;:<>()[]\"'") for word in text.split() if "@" in word]
    if len(candidates) != 1 or len(candidates[0]) > 254:
        return None
    local, _, domain = candidates[0].rpartition("@")
    address = f"{local}@{domain.lower()}"
    return address if _EMAIL.match(address) else None


def is_staff_event(metadata: object) -> bool:
    """Whether a bot event's metadata marks it as written by staff."""
    return isinstance(metadata, dict) and metadata.get(HANDOFF_EVENT_KEY) in HANDOFF_EVENT_KINDS


# -- office hours -------------------------------------------------------------------------------------
_HOURS = re.compile(r"([A-Za-z]{3})(?:\s*-\s*([A-Za-z]{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class OfficeHours:
    """When live chat may be offered: ``"Mon-Fri 09:00-17:00"`` (several ranges with ``;``), read in
    the console's time zone. ``"always"`` means any time; an empty or unreadable value means never."""

    ranges: Tuple[Tuple[frozenset, time, time], ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> "OfficeHours":
        text = (text or "").strip()
        if text.lower() == "always":
            return cls(((frozenset(range(7)), time(0, 0), time(23, 59, 59)),), "any time")
        ranges: List[Tuple[frozenset, time, time]] = []
        for part in filter(None, (p.strip() for p in text.split(";"))):
            match = re.fullmatch(
                r"([A-Za-z]{3})(?:\s*-\s*([A-Za-z]{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", part
            )
            if not match:
                raise ValueError(f"office hours must look like 'Mon-Fri 09:00-17:00', not {part!r}")
            first, last = match.group(1).lower(), (match.group(2) or match.group(1)).lower()
            if first not in _DAYS or last not in _DAYS:
                raise ValueError(f"unknown day in office hours: {part!r}")
            start_day, end_day = _DAYS.index(first), _DAYS.index(last)
            days = {d % 7 for d in range(start_day, end_day + 1 if end_day >= start_day else end_day + 8)}
            start, end = time(int(match.group(3)), int(match.group(4))), time(int(match.group(5)), int(match.group(6)))
            ranges.append((frozenset(days), start, end))
        return cls(tuple(ranges), text)

    def is_open(self, now: datetime, tz: tzinfo) -> bool:
        local = now.astimezone(tz)
        return any(local.weekday() in days and start <= local.time() < end for days, start, end in self.ranges)


def availability_reason(open_now: bool, staff_available: int) -> Dict[str, object]:
    """The availability answer the web server gives the action server and the widget."""
    if not open_now:
        return {"available": False, "reason": "closed"}
    if staff_available <= 0:
        return {"available": False, "reason": "busy"}
    return {"available": True, "reason": "open"}


# -- what staff events say ---------------------------------------------------------------------------
ANNOUNCEMENT_RESPONSE_PREFIX = "utter_handoff_"  # utter_handoff_joined, ..._handed_back, ...


def announcement_response(kind: str) -> str:
    """The domain response that announces a hand-off change: ``joined`` -> ``utter_handoff_joined``."""
    return f"{ANNOUNCEMENT_RESPONSE_PREFIX}{kind}"


def announcement_text(kind: str, staff_name: str, domain_file: Optional[Path] = None) -> str:
    """The sentence the widget shows for a hand-off change, from ``domain.yml`` (where all of the
    assistant's wording lives), with the staff member's display name filled in."""
    from core.settings import PROJECT_ROOT

    texts = _domain_texts(domain_file or PROJECT_ROOT / "domain.yml")
    template = texts.get(announcement_response(kind), "")
    return template.replace("{staff}", staff_name).strip()


_texts_cache: Dict[str, Tuple[float, Dict[str, str]]] = {}


def _domain_texts(path: Path) -> Dict[str, str]:
    """Response name -> the text of its first variation, re-read when the file changes."""
    import yaml

    mtime = path.stat().st_mtime
    cached = _texts_cache.get(str(path))
    if cached and cached[0] == mtime:
        return cached[1]
    responses = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {}
    texts = {name: str((variants or [{}])[0].get("text") or "") for name, variants in responses.items()}
    _texts_cache[str(path)] = (mtime, texts)
    return texts
