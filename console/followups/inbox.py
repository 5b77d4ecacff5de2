"""Follow-up requests: the console's inbox of visitors who asked to be contacted.

When nobody can chat live, the assistant's follow-up form (``core.handoff.FOLLOWUP_FORM``) ends with
one ``followup_request`` slot event holding the whole request (name, e-mail, program, question,
consent, submission time, page). :mod:`console.data.sync` reads each such event once into
``staff_followups``; staff then work on the row (status, assignee, notes), which no later catch-up
or rebuild overwrites (rows are keyed by the event id and inserted only when missing).

The request's e-mail is the one contact detail the console shows in full, here and in the CRM
export, because answering it is the point; everywhere else (transcripts, message exports, the missed
queue) it stays masked. Everything stored is sanitised text, bounded in length; pages render it
escaped, and the CSV export defuses spreadsheet formulas.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import sqlalchemy as sa

from console.data.database import FOLLOWUP_ASSIGNEE_LIMIT, FOLLOWUP_NAME_LIMIT, ConsoleDatabase, followups
from console.data.privacy import clean_text, conversation_ref
from console.exports.formats import to_csv
from core.handoff import FOLLOWUP_STATUSES, UNDECIDED_PROGRAM, clean_email

logger = logging.getLogger(__name__)

NAME_LIMIT = FOLLOWUP_NAME_LIMIT
QUESTION_LIMIT = 2000
URL_LIMIT = 2000
ASSIGNEE_LIMIT = FOLLOWUP_ASSIGNEE_LIMIT
NOTES_LIMIT = 4000
OPEN = FOLLOWUP_STATUSES[0]
STATUS_LABELS = {"open": "Open", "answered": "Answered", "closed": "Closed"}
UNDECIDED_LABEL = "Undecided"
SOURCE = "Heinz Admissions Assistant"

f = followups.c


class FollowupError(ValueError):
    """A staff update that cannot be saved (unknown status, say); the message is shown as is."""


def _text(value: Any, limit: int) -> str:
    """A visitor-typed string, sanitised, whitespace-collapsed at the ends and bounded."""
    return clean_text(value.strip(), limit).strip() if isinstance(value, str) else ""


def _page_url(value: Any) -> Optional[str]:
    """The page the widget ran on: only an http(s) address is kept (never ``javascript:``)."""
    text = _text(value, URL_LIMIT)
    if not text or len(text) >= URL_LIMIT or any(char.isspace() for char in text):
        return None
    parts = urlsplit(text)
    return text if parts.scheme in ("http", "https") and parts.netloc else None


def parse_request(
    value: Any, fallback_time: Optional[float], normalise_program: Callable[[Any], Optional[str]]
) -> Tuple[Optional[Dict[str, Any]], str]:
    """The stored fields of a ``followup_request`` slot value, or ``(None, why)`` when it is not a
    usable request (no consent, no valid e-mail, missing name or question, not a dict)."""
    if not isinstance(value, dict):
        return None, f"value is a {type(value).__name__}, not an object"
    name, question = _text(value.get("name"), NAME_LIMIT), _text(value.get("question"), QUESTION_LIMIT)
    email = clean_email(value.get("email")) if isinstance(value.get("email"), str) else None
    if not name:
        return None, "no name"
    if not question:
        return None, "no question"
    if email is None:
        return None, "no valid e-mail address"
    if value.get("consent") is not True:
        return None, "no consent to be contacted"
    raw_program = _text(value.get("program"), 40).lower()
    program = UNDECIDED_PROGRAM if raw_program in ("", UNDECIDED_PROGRAM) else normalise_program(raw_program)
    submitted = value.get("submitted_at")
    if isinstance(submitted, bool) or not isinstance(submitted, (int, float)) or not math.isfinite(submitted):
        submitted = fallback_time
    if submitted is None or submitted <= 0:
        return None, "no submission time"
    return {
        "name": name,
        "email": email,
        "program": (program or UNDECIDED_PROGRAM)[:40],
        "question": question,
        "consent": True,
        "submitted_at": float(submitted),
        "page_url": _page_url(value.get("page_url")),
    }, ""


def request_row(
    row: Mapping[str, Any], value: Any, normalise_program: Callable[[Any], Optional[str]]
) -> Optional[Dict[str, Any]]:
    """The ``staff_followups`` row for a slot event row, or ``None`` (logged) when it is malformed."""
    fields, why = parse_request(value, row.get("timestamp"), normalise_program)
    if fields is None:
        logger.warning("Skipped follow-up request in event %s: %s.", row.get("id"), why)
        return None
    return {"event_id": row["id"], "sender_id": row["sender_id"], "status": OPEN, **fields}


# -- the inbox ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FollowupFilter:
    status: str = OPEN
    program: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "FollowupFilter":
        status = args.get("status") or OPEN
        program = clean_text((args.get("program") or "").strip().lower(), 40)
        return cls(status=status if status in FOLLOWUP_STATUSES or status == "all" else OPEN, program=program)

    def to_args(self) -> Dict[str, str]:
        return {key: value for key, value in {"status": self.status, "program": self.program}.items() if value}

    def where(self) -> List[Any]:
        where: List[Any] = []
        if self.status != "all":
            where.append(f.status == self.status)
        if self.program:
            where.append(f.program == self.program)
        return where


class Followups:
    """Reading and updating follow-up requests for the web views and the CLI."""

    def __init__(self, store: ConsoleDatabase) -> None:
        self.store = store

    def page(self, flt: FollowupFilter, page: int = 1, per_page: int = 50) -> Tuple[List[Dict[str, Any]], int]:
        """One page of requests, newest first, and how many match."""
        where = flt.where()
        with self.store.connect() as connection:
            total = int(connection.execute(sa.select(sa.func.count()).select_from(followups).where(*where)).scalar())
        query = (
            sa.select(followups)
            .where(*where)
            .order_by(f.submitted_at.desc(), f.id.desc())
            .limit(per_page)
            .offset(max(0, page - 1) * per_page)
        )
        return self.store.rows(query), total

    def open_count(self) -> int:
        with self.store.connect() as connection:
            query = sa.select(sa.func.count()).select_from(followups).where(f.status == OPEN)
            return int(connection.execute(query).scalar() or 0)

    def get(self, followup_id: int) -> Optional[Dict[str, Any]]:
        rows = self.store.rows(sa.select(followups).where(f.id == followup_id))
        return rows[0] if rows else None

    def programs(self) -> List[str]:
        """Program ids the stored requests name (for the filter menu)."""
        query = sa.select(f.program).distinct().order_by(f.program)
        with self.store.connect() as connection:
            return [value for value in connection.execute(query).scalars() if value]

    def update(self, followup_id: int, status: str, assignee: str, notes: str, user: str) -> None:
        """Save staff's status, assignee and notes (sanitised and bounded like any stored text)."""
        if status not in FOLLOWUP_STATUSES:
            raise FollowupError(f"Unknown status {status!r}.")
        values = {
            "status": status,
            "assignee": _text(assignee, ASSIGNEE_LIMIT) or None,
            "notes": clean_text((notes or "").strip(), NOTES_LIMIT) or None,
            "updated_at": time.time(),
            "updated_by": clean_text(user, 255),
        }
        with self.store.session_scope() as connection:
            if connection.execute(sa.update(followups).where(f.id == followup_id).values(**values)).rowcount != 1:
                raise FollowupError("That follow-up request no longer exists.")

    def records(self, flt: FollowupFilter, program_label: Callable[[str], str]) -> Iterator[Dict[str, Any]]:
        """CRM rows (:data:`CRM_FIELDS`), oldest first, streamed."""
        query = sa.select(followups).where(*flt.where()).order_by(f.submitted_at, f.id)
        for row in self.store.stream(query):
            yield crm_record(row, program_label)


# -- the CRM export -------------------------------------------------------------------------------
CRM_FIELDS = [
    "First Name",
    "Last Name",
    "Email",
    "Program of Interest",
    "Question",
    "Consent to Contact",
    "Submitted At",
    "Status",
    "Assignee",
    "Notes",
    "Source",
    "Reference",
]


def split_name(name: str) -> Tuple[str, str]:
    """``"Mary Ann Smith"`` -> ``("Mary Ann", "Smith")``: CRMs want two fields; a single word is a
    first name."""
    first, _, last = name.strip().rpartition(" ")
    return (first.strip(), last) if first.strip() else (last, "")


def iso_utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def program_name(program: str, program_label: Callable[[str], str]) -> str:
    return UNDECIDED_LABEL if program == UNDECIDED_PROGRAM else program_label(program)


def crm_record(row: Mapping[str, Any], program_label: Callable[[str], str]) -> Dict[str, Any]:
    first, last = split_name(row["name"])
    return {
        "First Name": first,
        "Last Name": last,
        "Email": row["email"],
        "Program of Interest": program_name(row["program"], program_label),
        "Question": row["question"],
        "Consent to Contact": "Yes" if row["consent"] else "No",
        "Submitted At": iso_utc(row["submitted_at"]),
        "Status": STATUS_LABELS.get(row["status"], row["status"]),
        "Assignee": row["assignee"] or "",
        "Notes": row["notes"] or "",
        "Source": SOURCE,
        "Reference": conversation_ref(row["sender_id"]),
    }


def crm_csv(records: Iterator[Dict[str, Any]]) -> Iterator[str]:
    """The CSV text, header first; formulas defused by :func:`console.exports.formats.to_csv`'s cell guard."""
    return to_csv(records, CRM_FIELDS)


def filename(today_label: str) -> str:
    return f"heinz-assistant-followups-{today_label}.csv"
