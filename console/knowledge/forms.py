"""The edit form of one fact: its fields as the form shows them, and a posted form as a fact.

Lists (bullets, gaps, more sources) are one entry per line; dates are rows of kind, label, day,
precision and what they apply to, with two empty rows to add more. Only what staff filled in is
kept, in the knowledge file's order of fields, so an export reads like the file.
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, List, Mapping, Optional

from core.knowledge_store import FACT_FIELDS, ChangeRefused

TEXT_FIELDS = ("text", "summary", "source", "link", "cycle", "late")
LIST_FIELDS = ("items", "gaps", "also")
DATE_FIELDS = ("as_of", "cycle_ends")
DATE_ROW_FIELDS = ("kind", "label", "date", "precision", "applies_to")
DATE_KINDS = ("deadline", "opens", "event", "decision")
EMPTY_DATE_ROWS = 2
MAX_DATE_ROWS = 30
FIELD_LIMIT = 4000


def form_values(fact: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The form's fields for a fact (empty ones for a fact still unknown)."""
    fact = fact or {}
    values: Dict[str, Any] = {name: str(fact.get(name) or "") for name in TEXT_FIELDS + DATE_FIELDS}
    for name in LIST_FIELDS:
        values[name] = "\n".join(str(item) for item in fact.get(name) or [])
    values["general"] = bool(fact.get("general"))
    rows = [{key: str(row.get(key) or "") for key in DATE_ROW_FIELDS} for row in fact.get("dates") or []]
    values["dates"] = rows + [dict.fromkeys(DATE_ROW_FIELDS, "") for _ in range(EMPTY_DATE_ROWS)]
    return values


def _text(form: Mapping[str, str], name: str) -> str:
    value = (form.get(name) or "").replace("\r\n", "\n").strip()
    if "\x00" in value:
        raise ChangeRefused(name, "contains a NUL character")
    if len(value) > FIELD_LIMIT:
        raise ChangeRefused(name, f"keep it under {FIELD_LIMIT:,} characters")
    return value


def _day(value: str, name: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ChangeRefused(name, f"{value!r} is not a day (YYYY-MM-DD)") from None


def posted_fact(form: Mapping[str, str], general_allowed: bool) -> Dict[str, Any]:
    """The fact a posted form describes, in the file's field order; empty fields left out."""
    fact: Dict[str, Any] = {}
    for name in FACT_FIELDS:
        if name in LIST_FIELDS:
            lines = [line.strip() for line in _text(form, name).split("\n") if line.strip()]
            if lines:
                fact[name] = lines
        elif name in DATE_FIELDS:
            value = _text(form, name)
            if value:
                fact[name] = _day(value, name)
        elif name == "dates":
            rows = _date_rows(form)
            if rows:
                fact["dates"] = rows
        elif name == "general":
            if general_allowed and form.get("general"):
                fact["general"] = True
        else:
            value = _text(form, name)
            if value:
                fact[name] = value
    return fact


def _date_rows(form: Mapping[str, str]) -> List[Dict[str, Any]]:
    rows = []
    for index in range(MAX_DATE_ROWS):
        values = {key: _text(form, f"dates-{index}-{key}") for key in DATE_ROW_FIELDS}
        if not values["label"] and not values["date"]:
            continue  # an empty row (its kind and precision selects always have a value)
        if not values["label"] or not values["date"]:
            raise ChangeRefused("dates", f"date row {index + 1} needs both a label and a day")
        if values["kind"] not in DATE_KINDS:
            raise ChangeRefused("dates", f"date row {index + 1}: the kind must be one of {', '.join(DATE_KINDS)}")
        row: Dict[str, Any] = {"kind": values["kind"], "label": values["label"], "date": _day(values["date"], "dates")}
        if values["precision"] == "month":
            row["precision"] = "month"
        if values["applies_to"]:
            row["applies_to"] = values["applies_to"]
        rows.append(row)
    return rows
