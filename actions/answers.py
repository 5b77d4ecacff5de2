"""Decide what to answer: topic + program (+ track) → which domain response, with which variables.

One path serves every topic. The wording lives in ``domain.yml``: each topic has an
``utter_answer_<topic>`` (the fact is known) and an ``utter_unknown_<topic>`` (it is not), filled
with ``subject``, ``body`` and ``link``. Small phrases that frame a fact (the admissions cycle, the
details we lack) are domain responses too (``utter_phrase_*``), read from the domain the action
server receives with every request.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from core.knowledge import Fact, Knowledge, Program, Topic, Track

# The ask_* intents, and the topic each one asks about (intent names are a contract).
INTENT_TOPICS: Dict[str, Topic] = {
    "ask_program_length": Topic.length,
    "ask_tracks": Topic.tracks,
    "ask_stem_opt": Topic.stem_opt,
    "ask_capstone": Topic.capstone,
    "ask_how_to_apply": Topic.how_to_apply,
    "ask_deadlines": Topic.deadlines,
    "ask_requirements": Topic.requirements,
    "ask_internship": Topic.internship,
    "ask_format": Topic.format,
    "ask_program_overview": Topic.overview,
    "ask_careers": Topic.careers,
    "ask_cost": Topic.cost,
    "ask_events": Topic.events,
    "ask_contact": Topic.contact,
}

# Topics answered the same whatever the program: no need to ask "which program?".
PROGRAM_INDEPENDENT = {Topic.contact}


@dataclass(frozen=True)
class Context:
    """Which programs (one, or several when the visitor names more) and track a question is about."""

    programs: List[str] = field(default_factory=list)
    track: Optional[str] = None


@dataclass(frozen=True)
class Reply:
    """One bot message: a domain response name and the variables it needs."""

    response: str
    variables: Dict[str, Any] = field(default_factory=dict)


def topic_for(intent: Optional[str], remembered: Optional[str]) -> Topic:
    """The topic of this turn: the intent's own, else the one being discussed, else an overview."""
    if intent in INTENT_TOPICS:
        return INTENT_TOPICS[intent]  # type: ignore[index]
    if remembered in Topic.__members__:
        return Topic(remembered)
    return Topic.overview


def resolve_context(
    knowledge: Knowledge,
    mentioned: Sequence[Mapping[str, Any]],
    slot_program: Optional[str],
    slot_track: Optional[str],
) -> Context:
    """Combine this message's entities with what the conversation already established.

    A track named now wins, and implies its program when only one program has it; a program named
    now replaces the remembered one (keeping the remembered track only if that program has it).
    """
    programs = _unique(e["value"] for e in mentioned if e.get("entity") == "program")
    programs = [p for p in programs if knowledge.program(p)]
    tracks = [e["value"] for e in mentioned if e.get("entity") == "track"]
    if tracks:
        return _context_for_track(knowledge, tracks[0], programs, slot_program)
    if programs:
        keep = slot_track if slot_track and all(_has_track(knowledge, p, slot_track) for p in programs) else None
        return Context(programs, keep)
    if slot_program and knowledge.program(slot_program):
        track = slot_track if _has_track(knowledge, slot_program, slot_track) else None
        return Context([slot_program], track)
    return Context([], slot_track if slot_track and knowledge.programs_with_track(slot_track) else None)


def _context_for_track(knowledge: Knowledge, track: str, programs: List[str], slot_program: Optional[str]) -> Context:
    owners = knowledge.programs_with_track(track)
    if not owners:
        return Context(programs)
    named = [p for p in programs if p in owners]
    if named:
        return Context(named, track)
    if programs:  # e.g. "MSIT 16-month": the track is not in the named program; trust the program.
        return Context(programs)
    if slot_program in owners:
        return Context([slot_program], track)  # type: ignore[list-item]
    if len(owners) == 1:
        return Context(owners, track)
    return Context([], track)


def _has_track(knowledge: Knowledge, program_id: str, track_id: Optional[str]) -> bool:
    program = knowledge.program(program_id)
    return bool(program and track_id and track_id in program.tracks)


def _unique(values) -> List[str]:
    return list(dict.fromkeys(values))


def needs_program(topic: Topic, context: Context) -> bool:
    return topic not in PROGRAM_INDEPENDENT and not context.programs


def answer(
    knowledge: Knowledge,
    topic: Topic,
    program_id: Optional[str],
    track_id: Optional[str],
    phrases: Mapping[str, str],
) -> List[Reply]:
    """The replies for one topic and one program (or none, for program-independent topics)."""
    contact = _contact_variables(knowledge)
    if topic is Topic.contact:
        return [
            Reply(
                "utter_answer_contact",
                {**contact, "address": knowledge.contact.address, "office": knowledge.contact.office},
            )
        ]
    program = knowledge.program(program_id) if program_id else None
    if program is None or program_id is None:
        return [Reply("utter_ask_program")]
    track = program.tracks.get(track_id) if track_id else None
    fact = knowledge.lookup(program_id, track_id, topic)
    if fact is None:
        subject = _subject(program, track)
        link = str((track or program).url)
        return [Reply(f"utter_unknown_{topic.value}", {**contact, "subject": subject, "link": link})]
    # Name the track only when the fact is the track's own, not the program's.
    own_track = track if track and topic in track.facts else None
    subject = _subject(program, own_track)
    link = str(fact.link or (own_track or program).url)
    body = render_fact(fact, phrases, contact, link, extra_items=_extra_items(topic, program))
    replies = [Reply(f"utter_answer_{topic.value}", {"subject": subject, "body": body, "link": link})]
    if topic is Topic.stem_opt:
        rules = knowledge.stem_opt_rules
        replies.append(
            Reply(
                "utter_stem_opt_general",
                {"body": render_fact(rules, phrases, contact, str(rules.link)), "link": str(rules.link)},
            )
        )
    return replies


def _subject(program: Program, track: Optional[Track]) -> str:
    return f"{program.short_name} — {track.name}" if track else program.short_name


def _extra_items(topic: Topic, program: Program) -> List[str]:
    """Items derived from the file's structure rather than written out: the list of tracks."""
    if topic is Topic.tracks:
        return [f"{track.name}: {track.url}" for track in program.tracks.values()]
    return []


def _contact_variables(knowledge: Knowledge) -> Dict[str, str]:
    return {"email": knowledge.contact.email, "phone": knowledge.contact.phone}


def render_fact(
    fact: Fact,
    phrases: Mapping[str, str],
    contact: Mapping[str, str],
    link: str,
    extra_items: Sequence[str] = (),
) -> str:
    """A fact as message text: its cycle, its sentence, bullet items, then what we don't know."""
    lines: List[str] = []
    if fact.cycle and fact.as_of:
        lines.append(_phrase(phrases, "utter_phrase_cycle", cycle=fact.cycle, as_of=_date(fact.as_of)))
    lines.append(fact.text)
    lines.extend(f"• {item}" for item in [*fact.items, *extra_items])
    if fact.gaps:
        lines.append(_phrase(phrases, "utter_phrase_gaps", gaps="; ".join(fact.gaps), link=link, **contact))
    return "\n".join(lines)


def _date(value: datetime.date) -> str:
    return f"{value:%B} {value.day}, {value.year}"


def _phrase(phrases: Mapping[str, str], name: str, **variables: Any) -> str:
    template = phrases.get(name)
    if template is None:
        raise KeyError(f"domain.yml has no response '{name}'")
    return template.format(**variables)


def phrases_from_domain(domain: Mapping[str, Any]) -> Dict[str, str]:
    """The ``utter_phrase_*`` texts of the domain (first variation of each)."""
    responses = domain.get("responses", {})
    return {
        name: variations[0]["text"]
        for name, variations in responses.items()
        if name.startswith("utter_phrase_") and variations and "text" in variations[0]
    }
