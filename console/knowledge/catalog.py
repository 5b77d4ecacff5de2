"""The knowledge page's list: one entry per place a fact is or could be, with its flags.

A topic nobody answers shows an *unknown* entry for every program and one for all programs, so
staff can fill the gap where it belongs; a program's own fact, and a track's, show as themselves.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

from core.knowledge import Fact, Knowledge
from core.knowledge_store import Version
from core.timeline import stale_facts

FLAGS = {"unknown": "Unknown", "stale": "Stale", "recent": "Recently changed"}
ALL_PROGRAMS = "all"  # the program filter's value (and the place label) for a Heinz-wide fact


@dataclass(frozen=True)
class Entry:
    path: str
    topic_id: str
    topic_label: str
    place: str  # "All programs", "MISM", "MISM · 16-month Traditional Track"
    program_id: Optional[str]  # None for a Heinz-wide fact
    track_id: Optional[str]
    fact: Optional[Fact]
    missing: str  # what the bot says it lacks when there is no fact
    flags: List[str] = field(default_factory=list)
    stale_reasons: List[str] = field(default_factory=list)

    @property
    def first_line(self) -> str:
        """What a visitor sees first: the summary (answers covering several programs) or the text."""
        if self.fact is None:
            return ""
        return self.fact.summary or self.fact.text


def place_of(knowledge: Knowledge, path: str) -> str:
    parts = path.split(".")
    if parts[0] == "topics":
        return "All programs"
    program = knowledge.programs[parts[1]]
    if len(parts) == 6:
        return f"{program.short_name} · {program.tracks[parts[3]].name}"
    return program.short_name


def entries(
    knowledge: Knowledge, today: datetime.date, stale_after_days: int, recent: Mapping[str, float]
) -> List[Entry]:
    """Every entry in the knowledge file's order; ``recent`` maps a path to when staff last changed it."""
    stale = {item.where: item.reasons for item in stale_facts(knowledge, today, stale_after_days)}
    found: List[Entry] = []

    def add(path: str, topic_id: str, program_id: Optional[str], track_id: Optional[str], fact: Optional[Fact]) -> None:
        topic = knowledge.topics[topic_id]
        flags = [] if fact else ["unknown"]
        if path in stale:
            flags.append("stale")
        if path in recent:
            flags.append("recent")
        found.append(
            Entry(
                path,
                topic_id,
                topic.label,
                place_of(knowledge, path),
                program_id,
                track_id,
                fact,
                topic.missing,
                flags,
                stale.get(path, []),
            )
        )

    unknowns = set(knowledge.known_unknowns())
    for topic_id, topic in knowledge.topics.items():
        if topic.fact is not None or topic_id in unknowns:
            add(f"topics.{topic_id}.fact", topic_id, None, None, topic.fact)
        for program_id, program in knowledge.programs.items():
            fact = program.facts.get(topic_id)
            if fact is not None or topic_id in unknowns:
                add(f"programs.{program_id}.facts.{topic_id}", topic_id, program_id, None, fact)
            for track_id, track in program.tracks.items():
                if topic_id in track.facts:
                    add(
                        f"programs.{program_id}.tracks.{track_id}.facts.{topic_id}",
                        topic_id,
                        program_id,
                        track_id,
                        track.facts[topic_id],
                    )
    return found


def recent_changes(history: Sequence[Version], days: int) -> Dict[str, float]:
    """Paths staff changed within ``days`` days, with when (newest first in ``history``)."""
    since = time.time() - days * 86400
    changed: Dict[str, float] = {}
    for version in history:
        if version.by_staff and version.path and version.created_at >= since:
            changed.setdefault(version.path, version.created_at)
    return changed


def select(found: Sequence[Entry], program: str = "", flag: str = "", topic: str = "") -> List[Entry]:
    """The entries a filter keeps: ``program`` (an id, or ``all`` for Heinz-wide facts), a flag, a topic."""
    kept = []
    for entry in found:
        if program == ALL_PROGRAMS and entry.program_id is not None:
            continue
        if program and program != ALL_PROGRAMS and entry.program_id != program:
            continue
        if flag and flag not in entry.flags:
            continue
        if topic and entry.topic_id != topic:
            continue
        kept.append(entry)
    return kept
