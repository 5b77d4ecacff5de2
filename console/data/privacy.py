"""What stored text must go through before staff see it: sanitising, then masking.

Anything a visitor typed reaches the console from Rasa's ``events`` table, which holds whatever the
chat channel accepted, including text stored before the edge limits existed. :func:`clean_text` is
the one sanitising step for all of it (transcripts, summaries, exports, the CLI): NUL and other
control characters and unpaired surrogates are removed (PostgreSQL refuses NUL in text, the csv
module refuses to write it, and a surrogate cannot be encoded), and the length is bounded *before*
any pattern runs.

Masking then replaces what staff do not need: e-mail addresses, phone numbers, US social security
numbers and card numbers (13-19 digits, spaces or dashes allowed, and only when the Luhn check
passes, so order numbers and scores stay readable). Conversation ids that are an e-mail address or
a phone number are shown masked too, followed by an opaque reference (:func:`display_id`).

Every pattern here runs in linear time: none can start inside a run it could also start at the
beginning of (look-behinds), and repetitions are bounded, so a long message costs a single pass.
Phone detection is deliberately conservative about what admissions visitors type all the time:
years ("Fall 2026"), dates ("2026-01-15", "12/15/2025"), scores ("TOEFL 100", "GPA 3.5") and money
("$60,000") are left alone.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

EMAIL_MASK = "[email hidden]"
PHONE_MASK = "[phone hidden]"
NUMBER_MASK = "[number hidden]"
CARD_MASK = "[card hidden]"
# Longest text kept from one stored value; the chat edge accepts far less, so only old or hostile
# rows are ever cut.
MAX_TEXT = 4000
CUT_NOTE = " […cut]"

# C0 controls except tab and line feed, DEL, C1 controls, line/paragraph separators, surrogates.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}")
_EMAIL_TAIL = re.compile(r"\.[A-Za-z]{2,}$")
# 13-19 digits, single spaces or dashes between them, not inside a longer number.
_CARD = re.compile(r"(?<![\w.])\d(?:[ \-]?\d){12,18}(?![\w]|[.,]\d)")
# Optional country code, optional area code in parentheses, then 2+ groups of digits separated by
# a space, dot or dash. The look-arounds keep it from starting/ending inside a number.
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
_SHORT_PHONE = re.compile(r"\d{3}[\s.\-]\d{4,6}")


def clean_text(value: Any, limit: int = MAX_TEXT) -> str:
    """``value`` as safe text: no NUL/control characters/surrogates, ``\\r\\n`` as ``\\n``, at most
    ``limit`` characters (plus a note saying it was cut). ``None`` becomes ``""``."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    cut = len(text) > limit
    # Cut first (with room for what cleaning removes), so nothing below ever sees a huge string.
    text = _UNSAFE.sub("", text[: limit * 2].replace("\r\n", "\n").replace("\r", "\n"))
    if cut or len(text) > limit:
        return text[:limit].rstrip() + CUT_NOTE
    return text


def luhn_valid(digits: str) -> bool:
    """The check digit card numbers carry (ISO/IEC 7812); catches almost every non-card number."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _mask_email(match: "re.Match[str]") -> str:
    return EMAIL_MASK if _EMAIL_TAIL.search(match.group(0)) else match.group(0)


def _mask_card(match: "re.Match[str]") -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return CARD_MASK if luhn_valid(digits) else match.group(0)


def _looks_like_phone(candidate: str) -> bool:
    digits = sum(map(str.isdigit, candidate))
    if digits < 7 or digits > 15 or _DATE.fullmatch(candidate.strip()):
        return False
    if candidate.startswith("+") or "(" in candidate or digits >= 10:
        return True
    # 7-9 digits: only with a separator after a 3-digit exchange, e.g. "268-2000" or "268 2000".
    return bool(_SHORT_PHONE.fullmatch(candidate.strip()))


def _mask_phone(match: "re.Match[str]") -> str:
    text = match.group(0)
    if _SSN.fullmatch(text):
        return NUMBER_MASK
    return PHONE_MASK if _looks_like_phone(text) else text


def mask_text(text: Any) -> Any:
    """Sanitise ``text`` and replace contact details and card numbers; non-strings pass through."""
    if not isinstance(text, str) or not text:
        return text
    masked = clean_text(text)
    if "@" in masked:
        masked = _EMAIL.sub(_mask_email, masked)
    if sum(map(str.isdigit, masked)) >= 7:
        masked = _CARD.sub(_mask_card, masked)
        masked = _PHONE_CANDIDATE.sub(_mask_phone, masked)
    return masked


def mask_value(value: Any) -> Any:
    """Mask strings inside slot values and entity values, which can be lists or dicts."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [mask_value(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(key, 200): mask_value(item) for key, item in value.items()}
    return value


def clean_value(value: Any) -> Any:
    """Used instead of :func:`mask_value` when an operator explicitly exports unmasked data:
    sanitised all the same."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_value(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(key, 200): clean_value(item) for key, item in value.items()}
    return value


def conversation_ref(sender_id: str) -> str:
    """A short opaque name for a conversation: links and exports use it where the id is private."""
    return "c-" + hashlib.sha256(sender_id.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def is_private_id(sender_id: str) -> bool:
    """Whether a conversation id is itself contact data (an e-mail address or a phone number)."""
    return mask_text(sender_id) != clean_text(sender_id, 255)


def display_id(sender_id: str) -> str:
    """The conversation id as staff see it: masked with its reference when it is contact data."""
    if is_private_id(sender_id):
        return f"{mask_text(sender_id)} {conversation_ref(sender_id)}"
    return clean_text(sender_id, 255)


def url_id(sender_id: str) -> str:
    """What a link to the conversation carries: the id itself, or its reference when it is private."""
    return (
        conversation_ref(sender_id)
        if is_private_id(sender_id) or clean_text(sender_id, 255) != sender_id
        else sender_id
    )
