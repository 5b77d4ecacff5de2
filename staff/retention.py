"""The retention purge: conversations idle for longer than the retention period are deleted.

A conversation is purged as a whole (every event of its sender id in Rasa's table, its summary and
every review row), and only when its *last* activity is older than the cut-off, so an old visitor
who comes back keeps the full conversation. Each chunk re-checks the cut-off inside its own
transaction, so a visitor writing during the purge is never cut off mid-conversation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import List, Optional

import sqlalchemy as sa

from staff.store import EVENTS_TABLE, EventStore
from staff.sync import Summariser

CHUNK = 500
STAFF_TABLES = ("staff_messages", "staff_message_reviews", "staff_conversation_reviews", "staff_conversations")


@dataclass
class PurgeResult:
    conversations: int
    events: int
    cutoff: float


def _expanding(query: str) -> sa.sql.elements.TextClause:
    return sa.text(query).bindparams(sa.bindparam("ids", expanding=True))


def stale_conversations(store: EventStore, cutoff: float) -> List[str]:
    """Sender ids whose last event is older than ``cutoff`` (plus summaries left without events)."""
    ids: List[str] = []
    with store.connect() as connection:
        if store.has_events_table():
            ids = [
                row[0]
                for row in connection.execute(
                    sa.text(f"SELECT sender_id FROM {EVENTS_TABLE} GROUP BY sender_id HAVING max(timestamp) < :cutoff"),
                    {"cutoff": cutoff},
                )
            ]
        orphans = connection.execute(
            sa.text("SELECT sender_id FROM staff_conversations WHERE last_activity < :cutoff"), {"cutoff": cutoff}
        )
        known = set(ids)
        ids += [row[0] for row in orphans if row[0] not in known]
    return ids


def purge(store: EventStore, older_than_days: int, dry_run: bool = False, now: Optional[float] = None) -> PurgeResult:
    """Delete conversations idle for more than ``older_than_days`` days; returns what was removed."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    cutoff = (now if now is not None else time.time()) - older_than_days * 86400
    candidates = stale_conversations(store, cutoff)
    if dry_run:
        return PurgeResult(len(candidates), _count_events(store, candidates), cutoff)
    conversations = events = 0
    for start in range(0, len(candidates), CHUNK):
        removed, removed_events = _purge_chunk(store, candidates[start : start + CHUNK], cutoff)
        conversations += removed
        events += removed_events
    return PurgeResult(conversations, events, cutoff)


def _purge_chunk(store: EventStore, chunk: List[str], cutoff: float) -> tuple:
    with store.begin() as connection:
        # Same lock as the summariser: no catch-up pass can re-add what is being deleted.
        connection.execute(sa.text("UPDATE staff_sync SET updated_at = :now WHERE id = 1"), {"now": time.time()})
        still_active = set()
        if store.has_events_table():
            still_active = {
                row[0]
                for row in connection.execute(
                    _expanding(
                        f"SELECT DISTINCT sender_id FROM {EVENTS_TABLE} WHERE sender_id IN :ids"
                        " AND timestamp >= :cutoff"
                    ),
                    {"ids": chunk, "cutoff": cutoff},
                )
            }
        doomed = [sender_id for sender_id in chunk if sender_id not in still_active]
        if not doomed:
            return 0, 0
        events = 0
        if store.has_events_table():
            events = connection.execute(
                _expanding(f"DELETE FROM {EVENTS_TABLE} WHERE sender_id IN :ids"), {"ids": doomed}
            ).rowcount
        for table in STAFF_TABLES:
            connection.execute(_expanding(f"DELETE FROM {table} WHERE sender_id IN :ids"), {"ids": doomed})
        Summariser(store).reset_watermark(connection)
    return len(doomed), events


def _count_events(store: EventStore, sender_ids: List[str]) -> int:
    if not sender_ids or not store.has_events_table():
        return 0
    total = 0
    with store.connect() as connection:
        for start in range(0, len(sender_ids), CHUNK):
            total += connection.execute(
                _expanding(f"SELECT count(*) FROM {EVENTS_TABLE} WHERE sender_id IN :ids"),
                {"ids": sender_ids[start : start + CHUNK]},
            ).scalar()
    return total
