"""What staff and visitors do in a live hand-off, each step stored in both places that need it.

A step changes the workflow row (:mod:`console.live.handoffs`) and appends to the conversation through Rasa
(:mod:`console.live.rasa_api`). The row changes first, with a conditional ``UPDATE`` that only one request can
win (two staff claiming at once, a visitor ending while staff hand back); only the winner writes to the
conversation. When Rasa cannot store the announcement, the row change is undone and the error is
raised, so staff see it and the two never disagree for long.

The web server's visitor endpoints (``console/live/visitor.py``) and the console's live pages
(``console/live/views.py``) both call this module; the decisions live here once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from console.data.database import MAX_EVENT_DATA, ConsoleDatabase, events
from console.data.events import Turn, TurnBuilder, load_data, parse_user
from console.data.privacy import clean_text, mask_text, mask_value
from console.live.handoffs import Handoff, Handoffs, KeyMismatch, clean_name
from console.live.rasa_api import RasaClient, RasaError, slot_event, staff_event
from core.handoff import (
    CLOSED_BY_STAFF,
    ENDED_BY_VISITOR,
    EXPIRED,
    HANDED_BACK,
    HANDOFF_EVENT_KEY,
    JOINED,
    LIVE,
    MESSAGE,
    QUEUED,
    STAFF_NAME_KEY,
    OfficeHours,
    announcement_text,
    availability_reason,
    is_staff_event,
)
from core.settings import Settings

logger = logging.getLogger(__name__)

# Longest message staff may send in one go (the widget shows it whole).
MAX_STAFF_MESSAGE = 2000
# Most events one poll returns; the next poll picks up the rest.
POLL_LIMIT = 200

__all__ = ["LiveChat", "LiveError", "KeyMismatch", "RasaError", "Handoff"]


class LiveError(Exception):
    """A step refused: ``status`` is the HTTP status the views answer with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


# How many of a conversation's latest visitor messages are searched for one that is not a button payload.
LAST_MESSAGE_LOOKBACK = 20


@dataclass(frozen=True)
class QueueEntry:
    handoff: Handoff
    last_message: str
    waiting_seconds: float


class LiveChat:
    def __init__(self, store: ConsoleDatabase, settings: Settings, tz: tzinfo, threshold: float) -> None:
        self.store = store
        self.handoffs = Handoffs(store)
        self.rasa = RasaClient(settings.rasa_internal_url, settings.rasa_token)
        self.office_hours_text = str(settings.office_hours)
        self.queue_minutes = int(settings.handoff_queue_minutes)
        self.tz = tz
        self.threshold = threshold

    # -- availability -----------------------------------------------------------------------
    def office_hours(self) -> Optional[OfficeHours]:
        """The configured office hours; ``None`` (never open) when the setting cannot be read."""
        try:
            return OfficeHours.parse(self.office_hours_text)
        except ValueError as error:
            logger.error("OFFICE_HOURS is unreadable, so live chat is never offered: %s", error)
            return None

    def hours_text(self) -> str:
        hours = self.office_hours()
        return hours.text if hours else "not configured (OFFICE_HOURS is unreadable)"

    def availability(self, now: Optional[float] = None) -> Dict[str, Any]:
        """The answer to ``GET /handoff/availability`` (docs/handoff.md)."""
        now = now if now is not None else time.time()
        hours = self.office_hours()
        open_now = hours is not None and hours.is_open(datetime.fromtimestamp(now, timezone.utc), self.tz)
        staff = self.handoffs.available_count(now) if open_now else 0
        return {**availability_reason(open_now, staff), "hours": self.hours_text()}

    # -- the visitor's side -----------------------------------------------------------------
    def queue(self, sender_id: str, key_hash: str, program: Optional[str]) -> Dict[str, Any]:
        """Put a conversation in the queue (idempotent); raises :class:`LiveError` 409 when nobody can take it."""
        existing = self.handoffs.open_for(sender_id)
        if existing is None:
            answer = self.availability()
            if not answer["available"]:
                raise LiveError(str(answer["reason"]), 409)
        handoff = self.handoffs.queue(sender_id, key_hash, program)
        position = self.handoffs.position(handoff) if handoff.status == QUEUED else 0
        return {"status": handoff.status, "position": position}

    def expire_if_stale(self, handoff: Handoff, now: Optional[float] = None) -> Handoff:
        """Close a queued hand-off nobody claimed in time, telling the visitor; the current row."""
        now = now if now is not None else time.time()
        if handoff.status != QUEUED or handoff.requested_at >= now - self.queue_minutes * 60:
            return handoff
        if self.handoffs.close(handoff.id, EXPIRED, from_states=(QUEUED,), now=now):
            try:
                self._announce(handoff, EXPIRED, "", None)
            except RasaError as error:
                logger.warning("Could not expire hand-off %s yet: %s", handoff.id, error)
                self.handoffs.reopen(handoff)
        return self.handoffs.get(handoff.id) or handoff

    def expire_stale(self) -> int:
        """Expire every queued hand-off past its time (the console runs this as it shows the queue)."""
        return sum(1 for h in self.handoffs.stale(self.queue_minutes) if self.expire_if_stale(h).status != QUEUED)

    def end_by_visitor(self, sender_id: str) -> None:
        handoff = self.handoffs.open_for(sender_id)
        if handoff is None:
            return
        if self.handoffs.close(handoff.id, ENDED_BY_VISITOR):
            self._announce_or_reopen(handoff, ENDED_BY_VISITOR, handoff.claimed_name or "", None)

    def staff_events(self, handoff: Handoff, after: int) -> List[Dict[str, Any]]:
        """The staff messages and announcements of ``handoff`` stored after event id ``after``."""
        if not self.store.has_events_table():
            return []
        e = events.c
        query = (
            sa.select(e.id, e.timestamp, e.data)
            .where(
                e.sender_id == handoff.sender_id,
                e.type_name == "bot",
                e.id > max(after, handoff.since_event or 0),
                # A hand-off queued before the console knew event ids (schema 4) falls back to its clock.
                e.timestamp >= handoff.requested_at if handoff.since_event is None else sa.true(),
                sa.func.length(e.data) <= MAX_EVENT_DATA,
            )
            .order_by(e.id)
            .limit(POLL_LIMIT)
        )
        found = []
        for row in self.store.rows(query):
            data = load_data(row["data"])
            metadata = data.get("metadata")
            if not isinstance(metadata, dict) or not is_staff_event(metadata):
                continue
            found.append(
                {
                    "id": row["id"],
                    "kind": metadata[HANDOFF_EVENT_KEY],
                    "text": clean_text(data.get("text")),
                    "staff": clean_text(metadata.get(STAFF_NAME_KEY), 80),
                    "timestamp": row["timestamp"],
                }
            )
        return found

    # -- the staff side ---------------------------------------------------------------------
    def claim(self, handoff_id: int, username: str, display_name: str) -> Handoff:
        """Claim a queued hand-off and announce it; :class:`LiveError` 409 names who was faster."""
        name = clean_name(display_name, username)
        if not self.handoffs.claim(handoff_id, username, name):
            current = self.handoffs.get(handoff_id)
            if current is None:
                raise LiveError("This chat does not exist.", 404)
            if current.status == LIVE and current.claimed_by != username:
                raise LiveError(f"Already taken by {current.claimed_name}.", 409)
            if current.status == LIVE:
                return current
            raise LiveError("This chat has already ended.", 409)
        handoff = self.handoffs.get(handoff_id)
        assert handoff is not None
        try:
            self._announce(handoff, JOINED, name, LIVE)
        except RasaError:
            self.handoffs.unclaim(handoff_id, username)
            raise
        return handoff

    def own(self, handoff_id: int, username: str) -> Handoff:
        """The live hand-off ``username`` claimed; :class:`LiveError` 403 for anyone else."""
        handoff = self.handoffs.get(handoff_id)
        if handoff is None:
            raise LiveError("This chat does not exist.", 404)
        if handoff.claimed_by != username:
            raise LiveError("Only the staff member who claimed this chat can do that.", 403)
        if handoff.status != LIVE:
            raise LiveError("This chat has ended.", 409)
        return handoff

    def send(self, handoff_id: int, username: str, text: Any) -> None:
        handoff = self.own(handoff_id, username)
        message = clean_text(text, MAX_STAFF_MESSAGE * 2).strip()
        if not message:
            raise LiveError("Type a message first.", 400)
        if len(message) > MAX_STAFF_MESSAGE:
            raise LiveError(f"A message can be at most {MAX_STAFF_MESSAGE:,} characters.", 400)
        self.rasa.append(handoff.sender_id, [staff_event(MESSAGE, message, handoff.claimed_name or username)])

    def end_by_staff(self, handoff_id: int, username: str, kind: str) -> None:
        """Hand back to the assistant (``handed_back``) or close the chat (``closed``)."""
        if kind not in (HANDED_BACK, CLOSED_BY_STAFF):
            raise LiveError("Unknown action.", 400)
        handoff = self.own(handoff_id, username)
        if not self.handoffs.close(handoff.id, kind, from_states=(LIVE,), claimed_by=username):
            raise LiveError("This chat has ended.", 409)
        self._announce_or_reopen(handoff, kind, handoff.claimed_name or username, None)

    # -- the console's lists ----------------------------------------------------------------
    def queue_entries(self, now: Optional[float] = None) -> List[QueueEntry]:
        now = now if now is not None else time.time()
        return [
            QueueEntry(h, self.last_visitor_message(h.sender_id), now - h.requested_at)
            for h in self.handoffs.list_open()
        ]

    def last_visitor_message(self, sender_id: str) -> str:
        """The visitor's last real question: button payloads (``/handoff_accept``) are not what they asked."""
        if not self.store.has_events_table():
            return ""
        e = events.c
        query = (
            sa.select(e.data)
            .where(e.sender_id == sender_id, e.type_name == "user", sa.func.length(e.data) <= MAX_EVENT_DATA)
            .order_by(e.id.desc())
            .limit(LAST_MESSAGE_LOOKBACK)
        )
        for row in self.store.rows(query):
            text = parse_user(load_data(row["data"])).text.strip()
            if text and not text.startswith("/"):
                return str(mask_text(text))
        return ""

    def turns(self, sender_id: str, after: int = 0, limit: int = 5000) -> List[Turn]:
        """The conversation's turns after event id ``after`` (visitor text masked as everywhere)."""
        if not self.store.has_events_table():
            return []
        e = events.c
        length = sa.func.length(e.data)
        query = (
            sa.select(
                e.id,
                e.sender_id,
                e.type_name,
                e.timestamp,
                e.intent_name,
                e.action_name,
                sa.case((length <= MAX_EVENT_DATA, e.data), else_=sa.null()).label("data"),
                length.label("data_length"),
            )
            .where(e.sender_id == sender_id, e.id > after)
            .order_by(e.id)
            .limit(limit)
        )
        return list(TurnBuilder(self.threshold, mask_value).build(self.store.rows(query)))

    # -- writing to the conversation --------------------------------------------------------
    def _announce(self, handoff: Handoff, kind: str, staff_name: str, slot: Optional[str]) -> None:
        now = time.time()
        text = announcement_text(kind, staff_name)
        self.rasa.append(handoff.sender_id, [staff_event(kind, text, staff_name, now), slot_event(slot, now)])

    def _announce_or_reopen(self, handoff: Handoff, kind: str, staff_name: str, slot: Optional[str]) -> None:
        try:
            self._announce(handoff, kind, staff_name, slot)
        except RasaError:
            self.handoffs.reopen(handoff)
            raise
