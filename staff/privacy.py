"""Masking of e-mail addresses and phone numbers that visitors type.

Visitors sometimes paste contact details into the chat ("my email is ...", "call me at ...").
Staff reviewing conversations do not need them, so the console and its exports show placeholders
instead. The console's own tables store only masked text; the raw text stays in Rasa's ``events``
table, where the retention purge removes it.

Phone detection is deliberately conservative about things admissions visitors type all the time:
years ("Fall 2026"), dates ("2026-01-15", "12/15/2025"), scores ("TOEFL 100", "GPA 3.5") and money
("$60,000") are left alone.
"""

from __future__ import annotations

import re
from typing import Any

EMAIL_MASK = "[email hidden]"
PHONE_MASK = "[phone hidden]"
NUMBER_MASK = "[number hidden]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# Optional country code, optional area code in parentheses, then 2+ groups of digits separated by
# a space, dot or dash. The surrounding look-arounds keep it from starting/ending inside a number.
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w$.,/-])"
    r"(?:\+\d{1,3}[\s.\-]?)?"
    r"(?:\(\d{1,4}\)[\s.\-]?)?"
    r"\d{1,15}(?:[\s.\-]\d{1,5}){0,5}"
    r"(?![\w%/]|[.,]\d)"
)
# US social security numbers are not phones but are just as private.
_SSN = re.compile(r"\d{3}-\d{2}-\d{4}")
_DATE = re.compile(r"\d{4}[.\-]\d{1,2}[.\-]\d{1,2}|\d{1,2}[.\-]\d{1,2}[.\-]\d{2,4}")


def _looks_like_phone(candidate: str) -> bool:
    digits = sum(map(str.isdigit, candidate))
    if digits < 7 or digits > 15 or _DATE.fullmatch(candidate.strip()):
        return False
    if candidate.startswith("+") or "(" in candidate or digits >= 10:
        return True
    # 7-9 digits: only with a separator after a 3-digit exchange, e.g. "268-2000" or "268 2000".
    return bool(re.fullmatch(r"\d{3}[\s.\-]\d{4,6}", candidate.strip()))


def _mask_phone(match: "re.Match[str]") -> str:
    text = match.group(0)
    if _SSN.fullmatch(text):
        return NUMBER_MASK
    return PHONE_MASK if _looks_like_phone(text) else text


def mask_text(text: Any) -> Any:
    """Replace e-mail addresses and phone numbers in ``text``; non-strings pass through unchanged."""
    if not isinstance(text, str) or not text:
        return text
    masked = _EMAIL.sub(EMAIL_MASK, text)
    if sum(map(str.isdigit, masked)) >= 7:
        masked = _PHONE_CANDIDATE.sub(_mask_phone, masked)
    return masked


def mask_value(value: Any) -> Any:
    """Mask strings inside slot values and entity values, which can be lists or dicts."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [mask_value(item) for item in value]
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    return value


def identity(value: Any) -> Any:
    """Used instead of :func:`mask_value` when an operator explicitly exports unmasked data."""
    return value
