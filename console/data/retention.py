"""The retention purge: conversations idle for longer than the retention period are deleted.

A conversation is purged as a whole (every event of its sender id in Rasa's table, its summary,
every review row and its live hand-offs), and only when its *last* activity is older than the
cut-off, so an old visitor who comes back keeps the full conversation. Closed hand-offs that ended
before the cut-off go too, also those of a conversation that is still going. Each chunk re-checks
the cut-off inside its own transaction, so a visitor writing during the purge is never cut off
mid-conversation.

Follow-up requests (:mod:`console.followups.inbox`) go with their conversation, and on their own once they
were submitted before the cut-off (a returning visitor's conversation may outlive an old request).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from console.data.database import (
    PER_CONVERSATION_TABLES,
    ConsoleDatabase,
    conversations,
    events,
    followups,
    handoffs,
    in_chunks,
)
from console.data.sync import lock, reset_watermark
from console.live.handoffs import Handoffs

CHUNK = 500


@dataclass
class PurgeResult:
    conversations: int
    events: int
    cutoff: float
    followups: int = 0


def stale_conversations(store: ConsoleDatabase, cutoff: float) -> List[str]:
    """Sender ids whose last event is older than ``cutoff`` (plus summaries left without events)."""
    ids: List[str] = []
    with store.connect() as connection:
        if store.has_events_table():
            stale = sa.select(events.c.sender_id).group_by(events.c.sender_id)
            ids = list(connection.execute(stale.having(sa.func.max(events.c.timestamp) < cutoff)).scalars())
        orphans = connection.execute(
            sa.select(conversations.c.sender_id).where(conversations.c.last_activity < cutoff)
        ).scalars()
        known = set(ids)
        ids += [sender_id for sender_id in orphans if sender_id not in known]
    return ids


def purge(
    store: ConsoleDatabase, older_than_days: int, dry_run: bool = False, now: Optional[float] = None
) -> PurgeResult:
    """Delete conversations idle for more than ``older_than_days`` days; returns what was removed."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    cutoff = (now if now is not None else time.time()) - older_than_days * 86400
    candidates = stale_conversations(store, cutoff)
    if dry_run:
        return PurgeResult(
            len(candidates), _count_events(store, candidates), cutoff, _count_followups(store, candidates, cutoff)
        )
    removed = removed_events = removed_followups = 0
    store.create_schema()  # the hand-off tables exist from here on
    with store.session_scope() as connection:
        connection.execute(Handoffs.purge_statement(cutoff))
    for chunk in in_chunks(candidates, CHUNK):
        conversation_count, event_count, followup_count = _purge_chunk(store, chunk, cutoff)
        removed += conversation_count
        removed_events += event_count
        removed_followups += followup_count
    with store.session_scope() as connection:
        removed_followups += connection.execute(sa.delete(followups).where(followups.c.submitted_at < cutoff)).rowcount
    return PurgeResult(removed, removed_events, cutoff, removed_followups)


def _purge_chunk(store: ConsoleDatabase, chunk: List[str], cutoff: float) -> Tuple[int, int, int]:
    with store.session_scope() as connection:
        # Same lock as the summariser: no catch-up pass can re-add what is being deleted.
        lock(connection)
        still_active: set = set()
        if store.has_events_table():
            active = sa.select(events.c.sender_id).where(events.c.sender_id.in_(chunk), events.c.timestamp >= cutoff)
            still_active = set(connection.execute(active.distinct()).scalars())
        doomed = [sender_id for sender_id in chunk if sender_id not in still_active]
        if not doomed:
            return 0, 0, 0
        removed_events, removed_followups = delete_conversations(store, connection, doomed)
    return len(doomed), removed_events, removed_followups


def delete_conversations(store: ConsoleDatabase, connection: Connection, sender_ids: List[str]) -> Tuple[int, int]:
    """Everything of these conversations, in the caller's transaction (which holds the summaries'
    lock): Rasa's events, every console row, hand-offs and follow-up requests. Returns how many
    events and follow-ups went."""
    removed_events = 0
    if store.has_events_table():
        removed_events = connection.execute(sa.delete(events).where(events.c.sender_id.in_(sender_ids))).rowcount
    for table in (*PER_CONVERSATION_TABLES, handoffs):
        connection.execute(sa.delete(table).where(table.c.sender_id.in_(sender_ids)))
    removed_followups = connection.execute(sa.delete(followups).where(followups.c.sender_id.in_(sender_ids))).rowcount
    reset_watermark(store, connection)
    return removed_events, removed_followups


def _count_events(store: ConsoleDatabase, sender_ids: List[str]) -> int:
    if not sender_ids or not store.has_events_table():
        return 0
    total = 0
    with store.connect() as connection:
        for chunk in in_chunks(sender_ids, CHUNK):
            query = sa.select(sa.func.count()).where(events.c.sender_id.in_(chunk))
            total += int(connection.execute(query).scalar() or 0)
    return total


def _count_followups(store: ConsoleDatabase, sender_ids: List[str], cutoff: float) -> int:
    """Follow-up requests a purge would remove: those of purged conversations and all older ones."""
    fu = followups.c
    count = sa.select(sa.func.count()).select_from(followups)
    with store.connect() as connection:
        total = int(connection.execute(count.where(fu.submitted_at < cutoff)).scalar() or 0)
        for chunk in in_chunks(sender_ids, CHUNK):
            newer = count.where(fu.submitted_at >= cutoff, fu.sender_id.in_(chunk))
            total += int(connection.execute(newer).scalar() or 0)
    return total
