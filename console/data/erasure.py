"""Erasure on request: a visitor asks the office to delete their conversation.

One conversation (by its id or the console's reference), or every conversation whose follow-up
request gave a certain e-mail address, is removed as the retention purge removes it: Rasa's events,
every console row (summaries, reviews, training examples), live hand-offs and follow-up requests,
including follow-ups with that address whose conversation is already gone. What stays is an audit
record that says who erased how much and when, never whose data it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import List

import sqlalchemy as sa

from console.data.database import ConsoleDatabase, conversations, erasures, events, followups, in_chunks
from console.data.retention import delete_conversations
from console.data.sync import lock

SCOPES = ("conversation", "email")


@dataclass(frozen=True)
class Erasure:
    scope: str
    conversations: int
    events: int
    followups: int


def conversations_of_email(store: ConsoleDatabase, email: str) -> List[str]:
    """The conversations whose follow-up request gave this address (any case)."""
    query = sa.select(followups.c.sender_id).where(sa.func.lower(followups.c.email) == email.strip().lower())
    with store.connect() as connection:
        return sorted(set(connection.execute(query).scalars()))


def known_conversations(store: ConsoleDatabase, sender_ids: List[str]) -> List[str]:
    """Those of ``sender_ids`` with anything stored (events or a summary)."""
    found = set()
    with store.connect() as connection:
        for chunk in in_chunks(sender_ids):
            if store.has_events_table():
                query = sa.select(events.c.sender_id).where(events.c.sender_id.in_(chunk)).distinct()
                found |= set(connection.execute(query).scalars())
            summaries = sa.select(conversations.c.sender_id).where(conversations.c.sender_id.in_(chunk))
            found |= set(connection.execute(summaries).scalars())
    return sorted(found)


def preview(store: ConsoleDatabase, scope: str, sender_ids: List[str], email: str = "") -> Erasure:
    """What an erasure would remove, for the confirmation step."""
    event_count = followup_count = 0
    with store.connect() as connection:
        for chunk in in_chunks(sender_ids):
            if store.has_events_table():
                count = sa.select(sa.func.count()).where(events.c.sender_id.in_(chunk))
                event_count += int(connection.execute(count).scalar() or 0)
        followup_count = int(connection.execute(_followups_query(sender_ids, email, count=True)).scalar() or 0)
    return Erasure(scope, len(sender_ids), event_count, followup_count)


def _followups_query(sender_ids: List[str], email: str, count: bool = False) -> sa.sql.Select:
    matches = [followups.c.sender_id.in_(sender_ids)] if sender_ids else []
    if email:
        matches.append(sa.func.lower(followups.c.email) == email.strip().lower())
    where = sa.or_(*matches) if matches else sa.false()
    if count:
        return sa.select(sa.func.count()).select_from(followups).where(where)
    return sa.select(followups.c.id).where(where)


def erase(store: ConsoleDatabase, scope: str, sender_ids: List[str], erased_by: str, email: str = "") -> Erasure:
    """Remove the conversations (and, for an e-mail, every follow-up with it) in one transaction,
    and record the audit row in the same one: either all of it happened, or none."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}")
    store.create_schema()
    with store.session_scope() as connection:
        lock(connection)  # no catch-up pass re-adds what is being deleted
        removed_events = removed_followups = 0
        for chunk in in_chunks(sender_ids):
            chunk_events, chunk_followups = delete_conversations(store, connection, chunk)
            removed_events += chunk_events
            removed_followups += chunk_followups
        if email:
            match = sa.func.lower(followups.c.email) == email.strip().lower()
            removed_followups += connection.execute(sa.delete(followups).where(match)).rowcount
        result = Erasure(scope, len(sender_ids), removed_events, removed_followups)
        connection.execute(
            sa.insert(erasures).values(
                erased_at=time.time(),
                erased_by=erased_by,
                scope=scope,
                conversations=result.conversations,
                events=result.events,
                followups=result.followups,
            )
        )
    return result


def audit(store: ConsoleDatabase, limit: int = 50) -> List[dict]:
    query = sa.select(erasures).order_by(erasures.c.id.desc()).limit(limit)
    return store.rows(query)
