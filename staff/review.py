"""What staff decide about conversations and missed questions, stored in the console's own tables.

Decisions are keyed by Rasa's identifiers (the conversation's sender id, the visitor message's
event id), so they survive a rebuild of the summary tables and are removed with the conversation
by the retention purge. Labelled questions become a Rasa NLU training file via :func:`nlu_yaml`.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import sqlalchemy as sa

from staff.events import normalise_text
from staff.queries import CONVERSATION_STATUSES, MESSAGE_STATUSES
from staff.store import EventStore

INTENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,99}$")
# Words YAML 1.1 would read as booleans or null if an intent were named after them.
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class ReviewError(ValueError):
    """A review request that cannot be applied (unknown status, invalid intent name)."""


def valid_intent(name: Optional[str]) -> str:
    name = (name or "").strip()
    if not INTENT_NAME.match(name):
        raise ReviewError("An intent name uses letters, digits and underscores, starting with a letter.")
    return name


class Reviews:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def set_conversation_status(self, sender_id: str, status: str, user: str, note: str = "") -> None:
        """``new`` removes the review; other statuses are stored with who set them and when."""
        if status not in CONVERSATION_STATUSES:
            raise ReviewError(f"Unknown conversation status {status!r}.")
        with self.store.begin() as connection:
            if status == "new" and not note.strip():
                connection.execute(
                    sa.text("DELETE FROM staff_conversation_reviews WHERE sender_id = :id"), {"id": sender_id}
                )
                return
            connection.execute(
                sa.text(
                    "INSERT INTO staff_conversation_reviews (sender_id, status, note, updated_by, updated_at)"
                    " VALUES (:id, :status, :note, :user, :now) ON CONFLICT (sender_id) DO UPDATE SET"
                    " status = excluded.status, note = excluded.note, updated_by = excluded.updated_by,"
                    " updated_at = excluded.updated_at"
                ),
                {"id": sender_id, "status": status, "note": note.strip()[:2000], "user": user, "now": time.time()},
            )

    def set_message_status(
        self,
        messages: Sequence[Tuple[int, str]],
        status: str,
        user: str,
        intent: Optional[str] = None,
    ) -> int:
        """Mark visitor messages (event id, sender id); ``open`` forgets earlier decisions."""
        if status not in MESSAGE_STATUSES:
            raise ReviewError(f"Unknown review status {status!r}.")
        if status == "assigned":
            intent = valid_intent(intent)
        else:
            intent = None
        if not messages:
            return 0
        with self.store.begin() as connection:
            if status == "open":
                statement = sa.text("DELETE FROM staff_message_reviews WHERE event_id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)
                )
                for chunk in _chunks([event_id for event_id, _ in messages], 500):
                    connection.execute(statement, {"ids": chunk})
                return len(messages)
            now = time.time()
            connection.execute(
                sa.text(
                    "INSERT INTO staff_message_reviews (event_id, sender_id, status, intent, updated_by, updated_at)"
                    " VALUES (:event_id, :sender_id, :status, :intent, :user, :now)"
                    " ON CONFLICT (event_id) DO UPDATE SET status = excluded.status, intent = excluded.intent,"
                    " updated_by = excluded.updated_by, updated_at = excluded.updated_at"
                ),
                [
                    {
                        "event_id": event_id,
                        "sender_id": sender_id,
                        "status": status,
                        "intent": intent,
                        "user": user,
                        "now": now,
                    }
                    for event_id, sender_id in messages
                ],
            )
        return len(messages)

    def assigned_examples(self) -> Dict[str, List[str]]:
        """Assigned intent -> distinct example texts (masked, as stored), for the NLU export."""
        with self.store.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT r.intent, m.text FROM staff_message_reviews r"
                    " JOIN staff_messages m ON m.event_id = r.event_id"
                    " WHERE r.status = 'assigned' AND r.intent IS NOT NULL ORDER BY r.intent, m.timestamp"
                )
            )
            examples: Dict[str, List[str]] = {}
            seen: Dict[str, set] = {}
            for intent, text in rows:
                line = example_line(text)
                key = normalise_text(line)
                if not line or line.startswith("/") or key in seen.setdefault(intent, set()):
                    continue
                seen[intent].add(key)
                examples.setdefault(intent, []).append(line)
            return examples


def _chunks(items: List[int], size: int) -> Iterable[List[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
