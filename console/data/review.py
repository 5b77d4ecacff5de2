"""What staff decide about conversations and missed questions, stored in the console's own tables.

Decisions are keyed by Rasa's identifiers (the conversation's sender id, the visitor message's
event id), so they survive a rebuild of the summary tables and are removed with the conversation
by the retention purge. Labelled questions become a Rasa NLU training file via :func:`nlu_yaml`.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from console.data.database import (
    ConsoleDatabase,
    conversation_reviews,
    in_chunks,
    message_reviews,
    messages,
    training_examples,
    upsert,
)
from console.data.events import normalise_text
from console.data.privacy import clean_text
from console.data.queries import CONVERSATION_STATUSES, MESSAGE_STATUSES

INTENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,99}$")
# Words YAML 1.1 would read as booleans or null if an intent were named after them.
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class ReviewError(ValueError):
    """A review request that cannot be applied (unknown status, invalid intent name)."""


def valid_intent(name: Optional[str]) -> str:
    name = (name or "").strip()
    if not INTENT_NAME.fullmatch(name):
        raise ReviewError("An intent name uses letters, digits and underscores, starting with a letter.")
    return name


class Reviews:
    def __init__(self, store: ConsoleDatabase) -> None:
        self.store = store

    def set_conversation_status(self, sender_id: str, status: str, user: str, note: str = "") -> None:
        """``new`` removes the review; other statuses are stored with who set them and when."""
        if status not in CONVERSATION_STATUSES:
            raise ReviewError(f"Unknown conversation status {status!r}.")
        note = clean_text(note.strip(), 2000)
        with self.store.session_scope() as connection:
            if status == "new" and not note:
                connection.execute(sa.delete(conversation_reviews).where(conversation_reviews.c.sender_id == sender_id))
                return
            row = {
                "sender_id": sender_id,
                "status": status,
                "note": note,
                "updated_by": user,
                "updated_at": time.time(),
            }
            upsert(
                connection, conversation_reviews, [row], ["sender_id"], ["status", "note", "updated_by", "updated_at"]
            )

    def set_message_status(
        self,
        reviewed: Sequence[Tuple[int, str]],
        status: str,
        user: str,
        intent: Optional[str] = None,
    ) -> int:
        """Mark visitor messages (event id, sender id); ``open`` forgets earlier decisions."""
        if status not in MESSAGE_STATUSES:
            raise ReviewError(f"Unknown review status {status!r}.")
        intent = valid_intent(intent) if status == "assigned" else None
        if not reviewed:
            return 0
        with self.store.session_scope() as connection:
            self._set_examples(connection, reviewed, intent, user)
            if status == "open":
                for chunk in in_chunks([event_id for event_id, _ in reviewed]):
                    connection.execute(sa.delete(message_reviews).where(message_reviews.c.event_id.in_(chunk)))
                return len(reviewed)
            now = time.time()
            rows = [
                {
                    "event_id": event_id,
                    "sender_id": sender_id,
                    "status": status,
                    "intent": intent,
                    "updated_by": user,
                    "updated_at": now,
                }
                for event_id, sender_id in reviewed
            ]
            upsert(connection, message_reviews, rows, ["event_id"], ["status", "intent", "updated_by", "updated_at"])
        return len(reviewed)

    def _set_examples(
        self, connection: Connection, reviewed: Sequence[Tuple[int, str]], intent: Optional[str], user: str
    ) -> None:
        """Keep the training examples in step with the decision: assigned messages become (or change)
        examples with who and when; any other decision withdraws them."""
        ids = [event_id for event_id, _ in reviewed]
        for chunk in in_chunks(ids):
            connection.execute(sa.delete(training_examples).where(training_examples.c.event_id.in_(chunk)))
        if intent is None:
            return
        now = time.time()
        for chunk in in_chunks(ids):
            query = sa.select(messages.c.event_id, messages.c.sender_id, messages.c.text).where(
                messages.c.event_id.in_(chunk)
            )
            rows = [
                {
                    "event_id": e,
                    "sender_id": s,
                    "text": example_line(t),
                    "intent": intent,
                    "added_by": user,
                    "added_at": now,
                }
                for e, s, t in connection.execute(query)
                if example_line(t) and not example_line(t).startswith("/")
            ]
            if rows:
                connection.execute(sa.insert(training_examples), rows)

    def examples(self) -> List[Dict[str, Any]]:
        """Every training example staff added, oldest first, with who and when."""
        t = training_examples.c
        query = sa.select(t.text, t.intent, t.added_by, t.added_at, t.event_id).order_by(t.added_at, t.id)
        return self.store.rows(query)

    def assigned_examples(self) -> Dict[str, List[str]]:
        """Assigned intent -> distinct example texts (masked, as stored), for the NLU export."""
        t = training_examples.c
        query = sa.select(t.intent, t.text).order_by(t.intent, t.added_at, t.id)
        examples: Dict[str, List[str]] = {}
        seen: Dict[str, Set[str]] = {}
        with self.store.connect() as connection:
            for intent, text in connection.execute(query):
                line = example_line(text)
                key = normalise_text(line)
                if not line or line.startswith("/") or key in seen.setdefault(intent, set()):
                    continue
                seen[intent].add(key)
                examples.setdefault(intent, []).append(line)
        return examples


def example_line(text: str) -> str:
    """One training example per line: no line breaks or control characters, single spaces."""
    return " ".join(_CONTROL.sub(" ", text or "").split())


def _yaml_key(name: str) -> str:
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name.lower() not in _YAML_WORDS
    return name if plain else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def nlu_yaml(examples: Dict[str, List[str]], now: Optional[datetime] = None) -> str:
    """A Rasa 3 NLU training file (``version: "3.1"``) with the examples in literal blocks.

    Literal blocks (``examples: |``) take the text verbatim, so quotes, colons and ``#`` in visitor
    questions need no escaping; :func:`example_line` has already removed line breaks.
    """
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Visitor questions the assistant missed, labelled by admissions staff in the staff console.",
        f"# Exported {stamp}. Check the examples, then add them to data/nlu/ and retrain.",
        'version: "3.1"',
        "nlu:" if examples else "nlu: []",
    ]
    for intent in sorted(examples):
        lines.append(f"- intent: {_yaml_key(intent)}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in examples[intent])
    return "\n".join(lines) + "\n"


def review_note(status: str, count: int, label: Optional[str]) -> str:
    """What staff are told after reviewing ``count`` messages (``label``: the topic's, as staff picked it)."""
    noun = "message" if count == 1 else "messages"
    if status == "assigned":
        return f"Assigned {count} {noun} to “{label}”."
    if status == "open":
        return f"Reopened {count} {noun}."
    return f"Marked {count} {noun} as {MESSAGE_STATUSES.get(status, status).lower()}."
