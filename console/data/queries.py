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
# Not a reason to miss: messages the NLU could not place that the assistant answered all the same (a
# follow-up of the topic being discussed). The Missed page lists them on request: their wording is
# what the NLU should learn.
ANSWERED_UNSURE = "answered_unsure"
MISSED_PAGE_FILTERS = {**MISS_REASONS, ANSWERED_UNSURE: "Low confidence, answered (not missed)"}

c, m = conversations.c, messages.c


def missed(threshold: float) -> Any:
    """A visitor message the assistant missed: no intent, a miss intent or low confidence (unless the
    assistant answered it all the same: ``answered_unsure``), a reply saying it is out of scope, or an
    answer the visitor marked "not helpful". Messages written to a person during a live hand-off (or
    answering the follow-up form) were not questions for the assistant, and a button click is not a
    typed question: neither is ever missed."""
    return sa.and_(
        m.to_person == sa.false(),
        m.clicked == sa.false(),
        sa.or_(
            m.intent.is_(None),
            sa.and_(
                m.answered_unsure == sa.false(), sa.or_(m.intent.in_(list(MISS_INTENTS)), m.confidence < threshold)
            ),
            m.out_of_scope == sa.true(),
            m.feedback == NOT_HELPFUL,
        ),
    )


def missed_page(reason: str, threshold: float) -> Any:
    """The messages the Missed page lists for its "why" filter (``MISSED_PAGE_FILTERS``): the missed ones,
    for one reason or any, or those answered though the NLU could not place them."""
    if reason == ANSWERED_UNSURE:
        return sa.and_(m.to_person == sa.false(), m.clicked == sa.false(), m.answered_unsure == sa.true())
    return sa.and_(missed(threshold), miss_reason(reason, threshold)) if reason else missed(threshold)


def contained() -> Any:
    """A conversation that ended without a person: no live hand-off accepted, no follow-up taken."""
    return sa.and_(c.live_chats == 0, c.followups == 0)


def miss_reason(reason: str, threshold: float) -> Any:
    unanswered = m.answered_unsure == sa.false()
    return {
        "fallback": sa.or_(sa.and_(m.intent == FALLBACK_INTENT, unanswered), m.intent.is_(None)),
        "out_of_scope": sa.or_(sa.and_(m.intent == OUT_OF_SCOPE_INTENT, unanswered), m.out_of_scope == sa.true()),
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
