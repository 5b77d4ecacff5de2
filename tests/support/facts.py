"""What the tests expect the assistant to say, read from the knowledge file rather than typed again:
a fact changes in one place (knowledge/programs.yml) and the tests follow it."""

from __future__ import annotations

from core.knowledge import load_knowledge

_KNOWLEDGE = load_knowledge()

ADMISSIONS_EMAIL = _KNOWLEDGE.contact.email
ADMISSIONS_PHONE = _KNOWLEDGE.contact.phone
# The first words of the MISM program-length answer's first bullet: the track it starts with.
MISM_LENGTH_ANSWER = _KNOWLEDGE.programs["mism"].facts["program_length"].items[0].split(":")[0]
