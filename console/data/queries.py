"""What the console's query modules share, over the summary tables kept by :mod:`console.data.sync`.

Each feature keeps its own queries beside its views (``console/conversations/queries.py``,
``console/missed/queries.py``, ``console/trends/queries.py``); what they all need lives here: what
counts as a missed message, the review statuses, and how a value typed by staff is cleaned. Every
value typed by staff reaches SQL as a bound parameter; the SQL text itself is assembled only from
fixed fragments.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

import sqlalchemy as sa

from console.data.database import conversations, messages
from console.data.privacy import clean_text
from core.topics import FALLBACK_INTENT, MISS_INTENTS, NOT_HELPFUL, OUT_OF_SCOPE_INTENT

CONVERSATION_STATUSES = {"new": "New", "reviewed": "Reviewed", "follow_up": "Needs follow-up"}
MESSAGE_STATUSES = {"open": "Open", "reviewed": "Reviewed", "dismissed": "Dismissed", "assigned": "Topic assigned"}
MISS_REASONS = {
    "fallback": "Fallback",
    "out_of_scope": "Out of scope",
    "low_confidence": "Low confidence",
    "not_helpful": "Marked not helpful",
}

c, m = conversations.c, messages.c


def missed(threshold: float) -> Any:
    """A visitor message the assistant missed: no intent, a miss intent, low confidence, a reply saying
    it is out of scope, or an answer the visitor marked "not helpful". Messages written to a person
    during a live hand-off (or answering the follow-up form) were not questions for the assistant, and
    a button click is not a typed question: neither is ever missed."""
    return sa.and_(
        m.to_person == sa.false(),
        m.clicked == sa.false(),
        sa.or_(
            m.intent.is_(None),
            m.intent.in_(list(MISS_INTENTS)),
            m.confidence < threshold,
            m.out_of_scope == sa.true(),
            m.feedback == NOT_HELPFUL,
        ),
    )


def contained() -> Any:
    """A conversation that ended without a person: no live hand-off accepted, no follow-up taken."""
    return sa.and_(c.live_chats == 0, c.followups == 0)


def miss_reason(reason: str, threshold: float) -> Any:
    return {
        "fallback": sa.or_(m.intent == FALLBACK_INTENT, m.intent.is_(None)),
        "out_of_scope": sa.or_(m.intent == OUT_OF_SCOPE_INTENT, m.out_of_scope == sa.true()),
        "low_confidence": sa.and_(m.intent.not_in(list(MISS_INTENTS)), m.confidence < threshold),
        "not_helpful": m.feedback == NOT_HELPFUL,
    }[reason]


def count_where(condition: Any) -> Any:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def user_text(value: Optional[str], limit: int) -> str:
    """A value typed by staff, sanitised like stored text (PostgreSQL refuses NUL even as a parameter)."""
    return clean_text((value or "").strip(), limit)


def like_pattern(text: str) -> str:
    """``%text%`` for ``LIKE ... ESCAPE '!'`` with the wildcards in ``text`` taken literally."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def choice(value: Optional[str], allowed: Sequence[str]) -> str:
    """``value`` if it is one of ``allowed``, else empty (unknown query-string values are ignored)."""
    return value if value is not None and value in allowed else ""


def share(part: int, whole: int) -> Optional[float]:
    return part / whole if whole else None


def split_list(value: Optional[str]) -> List[str]:
    return [item for item in (value or "").split(",") if item]
