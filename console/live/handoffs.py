"""The live hand-off's workflow state: who is available, and one row per hand-off.

The conversation itself (Rasa's tracker) holds what was said; these two tables hold only what the
workflow needs (docs/handoff.md):

``staff_availability``  one row per staff member: the display name visitors see, whether they marked
                        themselves available, and when their console last checked in (a closed tab
                        stops counting after :data:`HEARTBEAT_SECONDS`).
``staff_handoffs``      one row per hand-off: ``queued`` -> ``live`` -> ``closed``, the hash of the
                        visitor's secret, who claimed it and why it ended.

At most one hand-off per conversation is open (queued or live): a partial unique index enforces it,
so two queue requests racing for one conversation cannot both insert. Claiming is one
``UPDATE ... WHERE status = 'queued'``: of two staff claiming at once, exactly one changes the row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from console.data.database import OPEN_HANDOFF, STAFF_NAME_LIMIT, ConsoleDatabase, availability, handoffs, upsert
from core.handoff import ACTIVE_STATES, CLOSED, LIVE, QUEUED

# A staff member marked available counts only while their console checked in this recently (the
# console's script checks in every few seconds; a closed tab or a lost network stops counting).
HEARTBEAT_SECONDS = 90.0
NAME_LIMIT = STAFF_NAME_LIMIT
# The hand-offs still open (queued or live): at most one per conversation (a unique partial index).
OPEN = OPEN_HANDOFF


class KeyMismatch(Exception):
    """A queue request for a conversation whose open hand-off belongs to another secret."""


@dataclass(frozen=True)
class Handoff:
    id: int
    sender_id: str
    status: str
    key_hash: str
    program: Optional[str]
    requested_at: float
    since_event: Optional[int]
    claimed_by: Optional[str]
    claimed_name: Optional[str]
    claimed_at: Optional[float]
    closed_at: Optional[float]
    closed_reason: Optional[str]

    @property
    def is_open(self) -> bool:
        return self.status in ACTIVE_STATES

    @classmethod
    def from_row(cls, row: Any) -> "Handoff":
        return cls(**{name: row._mapping[name] for name in cls.__dataclass_fields__})


def clean_name(name: Any, fallback: str) -> str:
    """A display name as visitors see it: one line, bounded, never empty."""
    from console.data.privacy import clean_text

    text = " ".join(clean_text(name, NAME_LIMIT).split())
    return text[:NAME_LIMIT] or fallback


class Handoffs:
    """The two tables' queries, each one short statement or transaction."""

    def __init__(self, store: ConsoleDatabase) -> None:
        self.store = store

    # -- availability -----------------------------------------------------------------------
    def set_available(self, username: str, display_name: str, available: bool, now: Optional[float] = None) -> None:
        row = {
            "username": username,
            "display_name": clean_name(display_name, username),
            "available": available,
            "last_seen": now if now is not None else time.time(),
        }
        with self.store.session_scope() as connection:
            upsert(connection, availability, [row], ["username"], ["display_name", "available", "last_seen"])

    def heartbeat(self, username: str, now: Optional[float] = None) -> None:
        """The console of ``username`` is open: keeps an available staff member counted."""
        with self.store.session_scope() as connection:
            connection.execute(
                sa.update(availability)
                .where(availability.c.username == username)
                .values(last_seen=now if now is not None else time.time())
            )

    def staff_member(self, username: str) -> Optional[Dict[str, Any]]:
        with self.store.connect() as connection:
            row = connection.execute(sa.select(availability).where(availability.c.username == username)).first()
        return dict(row._mapping) if row else None

    def available_count(self, now: Optional[float] = None) -> int:
        """Staff marked available whose console checked in within :data:`HEARTBEAT_SECONDS`."""
        now = now if now is not None else time.time()
        a = availability.c
        query = sa.select(sa.func.count()).where(a.available.is_(True), a.last_seen >= now - HEARTBEAT_SECONDS)
        with self.store.connect() as connection:
            return int(connection.execute(query).scalar() or 0)

    # -- hand-offs --------------------------------------------------------------------------
    def queue(self, sender_id: str, key_hash: str, program: Optional[str], now: Optional[float] = None) -> Handoff:
        """The open hand-off of ``sender_id``, created when there is none.

        Asking again with the same key returns the same hand-off (the action may be retried); an
        open hand-off under a different key is refused with :class:`KeyMismatch`.
        """
        try:
            current = self._open_or_insert(sender_id, key_hash, program, now)
        except IntegrityError:  # another request inserted it first: read theirs
            current = self._open_or_insert(sender_id, key_hash, program, now)
        if current.key_hash != key_hash:
            raise KeyMismatch(sender_id)
        return current

    def _open_or_insert(self, sender_id: str, key_hash: str, program: Optional[str], now: Optional[float]) -> Handoff:
        with self.store.session_scope() as connection:
            current = self._open(connection, sender_id)
            if current is not None:
                return current
            connection.execute(
                sa.insert(handoffs).values(
                    sender_id=sender_id,
                    status=QUEUED,
                    key_hash=key_hash,
                    program=program,
                    requested_at=now if now is not None else time.time(),
                    since_event=self.store.last_event_id(connection, sender_id),
                )
            )
            inserted = self._open(connection, sender_id)
        assert inserted is not None
        return inserted

    def _open(self, connection: Connection, sender_id: str) -> Optional[Handoff]:
        query = sa.select(handoffs).where(handoffs.c.sender_id == sender_id, OPEN)
        row = connection.execute(query).first()
        return Handoff.from_row(row) if row else None

    def get(self, handoff_id: int) -> Optional[Handoff]:
        with self.store.connect() as connection:
            row = connection.execute(sa.select(handoffs).where(handoffs.c.id == handoff_id)).first()
        return Handoff.from_row(row) if row else None

    def open_for(self, sender_id: str) -> Optional[Handoff]:
        with self.store.connect() as connection:
            return self._open(connection, sender_id)

    def latest_for(self, sender_id: str) -> Optional[Handoff]:
        query = sa.select(handoffs).where(handoffs.c.sender_id == sender_id).order_by(handoffs.c.id.desc()).limit(1)
        with self.store.connect() as connection:
            row = connection.execute(query).first()
        return Handoff.from_row(row) if row else None

    def position(self, handoff: Handoff) -> int:
        """1 for the longest-waiting queued hand-off."""
        h = handoffs.c
        query = sa.select(sa.func.count()).where(h.status == QUEUED, h.id <= handoff.id)
        with self.store.connect() as connection:
            return int(connection.execute(query).scalar() or 0)

    def claim(self, handoff_id: int, username: str, display_name: str, now: Optional[float] = None) -> bool:
        """Take a queued hand-off; ``False`` when someone else took it first (or it ended)."""
        statement = (
            sa.update(handoffs)
            .where(handoffs.c.id == handoff_id, handoffs.c.status == QUEUED)
            .values(
                status=LIVE,
                claimed_by=username,
                claimed_name=clean_name(display_name, username),
                claimed_at=now if now is not None else time.time(),
            )
        )
        with self.store.session_scope() as connection:
            return connection.execute(statement).rowcount == 1

    def unclaim(self, handoff_id: int, username: str) -> None:
        """Undo :meth:`claim` (the announcement could not be stored): back in the queue."""
        h = handoffs.c
        with self.store.session_scope() as connection:
            connection.execute(
                sa.update(handoffs)
                .where(h.id == handoff_id, h.status == LIVE, h.claimed_by == username)
                .values(status=QUEUED, claimed_by=None, claimed_name=None, claimed_at=None)
            )

    def close(
        self,
        handoff_id: int,
        reason: str,
        from_states: tuple = ACTIVE_STATES,
        claimed_by: Optional[str] = None,
        now: Optional[float] = None,
    ) -> bool:
        """End an open hand-off; ``False`` when it was not in ``from_states`` (or not ``claimed_by``'s)."""
        h = handoffs.c
        statement = sa.update(handoffs).where(h.id == handoff_id, h.status.in_(from_states))
        if claimed_by is not None:
            statement = statement.where(h.claimed_by == claimed_by)
        statement = statement.values(
            status=CLOSED, closed_reason=reason, closed_at=now if now is not None else time.time()
        )
        with self.store.session_scope() as connection:
            return connection.execute(statement).rowcount == 1

    def reopen(self, handoff: Handoff) -> None:
        """Undo :meth:`close` (the announcement could not be stored), unless a new one opened since."""
        h = handoffs.c
        try:
            with self.store.session_scope() as connection:
                connection.execute(
                    sa.update(handoffs)
                    .where(h.id == handoff.id, h.status == CLOSED)
                    .values(status=handoff.status, closed_at=None, closed_reason=None)
                )
        except IntegrityError:
            pass  # the visitor queued again meanwhile; the old one stays closed

    def queue_counts(self) -> Dict[str, int]:
        """``{"queued": n, "live": m}``."""
        query = sa.select(handoffs.c.status, sa.func.count()).where(OPEN).group_by(handoffs.c.status)
        with self.store.connect() as connection:
            counts = dict(connection.execute(query).all())
        return {state: int(counts.get(state, 0)) for state in ACTIVE_STATES}

    def list_open(self, limit: int = 200) -> List[Handoff]:
        """Open hand-offs, the longest-waiting first."""
        query = sa.select(handoffs).where(OPEN).order_by(handoffs.c.requested_at, handoffs.c.id).limit(limit)
        with self.store.connect() as connection:
            return [Handoff.from_row(row) for row in connection.execute(query)]

    def stale(self, minutes: int, now: Optional[float] = None) -> List[Handoff]:
        """Queued hand-offs nobody claimed within ``minutes`` (the caller announces and closes them)."""
        cutoff = (now if now is not None else time.time()) - minutes * 60
        h = handoffs.c
        query = sa.select(handoffs).where(h.status == QUEUED, h.requested_at < cutoff).order_by(h.id)
        with self.store.connect() as connection:
            return [Handoff.from_row(row) for row in connection.execute(query)]

    def expire_stale(self, minutes: int, now: Optional[float] = None) -> List[Handoff]:
        """Close the hand-offs :meth:`stale` lists; returns those this call closed."""
        closed = []
        for handoff in self.stale(minutes, now):
            if self.close(handoff.id, "expired", from_states=(QUEUED,), now=now):
                closed.append(handoff)
        return closed

    # -- retention --------------------------------------------------------------------------
    @staticmethod
    def purge_statement(cutoff: float) -> Any:
        """Deletes closed hand-offs that ended before ``cutoff`` (the retention purge runs it)."""
        h = handoffs.c
        return sa.delete(handoffs).where(h.status == CLOSED, h.closed_at < cutoff)
