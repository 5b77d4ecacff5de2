"""Whether a message asks about a degree the assistant does not cover ("does the MBA need the GMAT?").

Such a question must not get MISM's or MSIT's answer: it would read as the other degree's rules. A
visitor who names the other degree as their own background ("I have an MBA, do I need the GRE?",
"with a PhD can I apply?"), as one of our requirements ("is a PhD required?", "is an MBA enough?")
or in a follow-up on the topic being discussed is asking about our programs, and so is any message
that names MISM or MSIT.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from actions.misses import names_our_program, puts_case_to_topic
from core.topics import OTHER_PROGRAM_ENTITY

# Words just before the degree's name that make it the visitor's own ("I have an", "my", "with a"),
# or a requirement of ours ("do I need a PhD"); and just after it ("is a PhD required?").
OWN_DEGREE = re.compile(
    r"\b(have|had|hold|holding|did|done|doing|completed?|completing|finished|finishing|earned|got|"
    r"my|with|having|after|i'm|im|am|as|need|needed|require|requires)\b(\s+\S+){0,2}\s*$",
    re.IGNORECASE,
)
REQUIRED_AFTER = re.compile(
    r"^\W*(degree\s+)?(is\s+|be\s+)?(required|needed|necessary|mandatory|enough|sufficient|count|counts|"
    r"qualify|qualifies|accepted|ok|okay|fine)\b",
    re.IGNORECASE,
)
ACRONYM = re.compile(r"^[a-z.]{2,6}$")


def other_program_asked(message: Mapping[str, Any], remembered: Optional[str] = None) -> Optional[str]:
    """The other degree the message asks about, as the visitor wrote it ("MBA"); ``None`` when the
    message names MISM or MSIT, names none, names it as the visitor's own degree or as one of our
    requirements ("is an MBA enough to skip the GRE?"), or puts the visitor's case in a short
    follow-up on the topic being discussed (``remembered``: "what if its an MBA instead" after the
    GRE rules; "and for the MBA?" still asks about the MBA)."""
    if names_our_program(message):
        return None
    entities = message.get("entities") or []
    text = str(message.get("text") or "").replace("\u2019", "'")
    if puts_case_to_topic(text, remembered):
        return None
    for entity in entities:
        if entity.get("entity") != OTHER_PROGRAM_ENTITY or not isinstance(entity.get("start"), int):
            continue
        end = entity.get("end") if isinstance(entity.get("end"), int) else entity["start"]
        if not OWN_DEGREE.search(text[: entity["start"]]) and not REQUIRED_AFTER.search(text[end:]):
            return display_name(str(entity.get("value") or ""))
    return None


def display_name(typed: str) -> str:
    """ "mba" -> "MBA", "phd" -> "PhD"; a longer name as typed."""
    if typed.lower().replace(".", "") == "phd":
        return "PhD"
    return typed.upper() if ACRONYM.match(typed) else typed
