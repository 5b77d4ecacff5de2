"""Load, validate and query the program knowledge file (``knowledge/programs.yml``).

The file is the only place facts live. It is validated with pydantic when loaded so that a typo
stops the action server with one message naming the file, the field path and the problem, instead
of a wrong answer in front of a visitor. ``KnowledgeSource`` re-reads the file when it changes on
disk, so staff can edit a fact without retraining or restarting anything.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Literal, Mapping, Optional, Tuple

import yaml
from pydantic import BaseModel, Extra, HttpUrl, ValidationError, root_validator, validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KNOWLEDGE_FILE = PROJECT_ROOT / "knowledge" / "programs.yml"
# The entity role of a program's description ("online", "Pittsburgh"): a word about the format that
# also occurs in questions about something else ("a part-time job", "move to Pittsburgh").
DESCRIPTION_ROLE = "description"
# A description followed by one of these names the program ("the online one", "the part-time program").
NAMING_WORDS = ("one", "program", "programme", "option", "version", "degree", "master's", "masters")

logger = logging.getLogger(__name__)


class KnowledgeError(Exception):
    """The knowledge file is missing, unreadable or invalid. The message is meant for a human."""


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        anystr_strip_whitespace = True
        allow_mutation = False


class Dated(_Strict):
    """A date the assistant tells relative to today: a deadline, the application opening, an event.

    ``precision: month`` is for a date the page gives only as a month ("opens in September 2026"):
    the date is the month's first day and is said as the month.
    """

    kind: Literal["deadline", "opens", "event", "decision"]
    label: str
    date: datetime.date
    precision: Literal["day", "month"] = "day"
    applies_to: Optional[str] = None

    @validator("label")
    def _label_not_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value


class Fact(_Strict):
    """One fact: what to say, where it comes from, and (for cycle facts) when it was true."""

    text: str
    # One line for a compact answer that covers several programs (default: ``text``).
    summary: Optional[str] = None
    items: List[str] = []
    gaps: List[str] = []
    source: HttpUrl
    also: List[HttpUrl] = []
    link: Optional[HttpUrl] = None
    cycle: Optional[str] = None
    as_of: Optional[datetime.date] = None
    # The dates in this fact, as data: told relative to today (core/timeline.py).
    dates: List[Dated] = []
    # The last day the cycle's facts hold (default: its last date); after it they are the last
    # thing known, never the next cycle's.
    cycle_ends: Optional[datetime.date] = None
    # What the pages say about applying after the last deadline (said after it passed).
    late: Optional[str] = None
    # CMU-wide rules (international office): general information, never advice.
    general: bool = False

    @validator("text")
    def _text_not_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    @root_validator(skip_on_failure=True)
    def _cycle_needs_as_of(cls, values: dict) -> dict:
        if values.get("cycle") and not values.get("as_of"):
            raise ValueError("a fact with a 'cycle' also needs an 'as_of' date")
        dates: List[Dated] = values.get("dates") or []
        if (dates or values.get("cycle_ends")) and not (values.get("cycle") and values.get("as_of")):
            raise ValueError("a fact with dates needs a 'cycle' and an 'as_of' date (which year the dates are for)")
        deadlines = [d for d in dates if d.kind == "deadline"]
        for earlier, later in zip(deadlines, deadlines[1:]):
            if later.date <= earlier.date:
                raise ValueError(
                    f"deadlines out of order: '{later.label}' ({later.date}) comes after "
                    f"'{earlier.label}' ({earlier.date}); list them earliest first"
                )
        ends = values.get("cycle_ends")
        if ends and dates and ends < max(d.date for d in dates):
            raise ValueError(f"cycle_ends {ends} is before the fact's last date {max(d.date for d in dates)}")
        return values

    def deadlines(self) -> List[Dated]:
        return [d for d in self.dates if d.kind == "deadline"]

    def has_cycle_dates(self) -> bool:
        """Deadlines or an opening date: a status line tells where today falls among them."""
        return any(d.kind in ("deadline", "opens") for d in self.dates)

    def cycle_end(self) -> Optional[datetime.date]:
        """The last day this cycle's facts hold, when the fact says (``cycle_ends`` or its last date)."""
        return self.cycle_ends or max((d.date for d in self.dates), default=None)


class Track(_Strict):
    name: str
    aliases: List[str] = []
    url: HttpUrl
    facts: Dict[str, Fact] = {}


class Program(_Strict):
    name: str
    short_name: str
    aliases: List[str] = []
    # Words that describe the program rather than name it ("online", "on campus"): they say which
    # program only in a short follow-up ("and online?"); followed by a naming word they are a name.
    descriptions: List[str] = []
    url: HttpUrl
    # The program's how-to-apply page: the best link when a detail is not known.
    apply_url: HttpUrl
    facts: Dict[str, Fact] = {}
    tracks: Dict[str, Track] = {}
    # The best official page for a topic the program has no fact for (default: the topic's link,
    # else ``apply_url``).
    pages: Dict[str, HttpUrl] = {}

    def best_page(self, topic_id: str, topic_link: Optional[HttpUrl]) -> str:
        return str(self.pages.get(topic_id) or topic_link or self.apply_url)


class Contact(_Strict):
    office: str
    address: str
    phone: str
    email: str
    source: HttpUrl


class AskedDetail(_Strict):
    """A detail visitors ask about under a topic that no official page we hold states ("a minimum
    GPA"): when a question uses one of ``words``, the answer first says it is not known, with the
    contact, so the topic's answer is not read as covering it."""

    missing: str
    words: List[str]

    @validator("words")
    def _has_words(cls, value: List[str]) -> List[str]:
        if not value or not all(word.strip() for word in value):
            raise ValueError("list at least one word, none empty")
        return value

    def asked_in(self, text: str) -> bool:
        lowered = text.lower().replace("\u2019", "'")
        return any(re.search(rf"(?<!\w){re.escape(word.lower())}(?!\w)", lowered) for word in self.words)


class Topic(_Strict):
    """A question visitors ask. Its intent is ``ask_<id>`` (``core.topics``).

    ``fact`` answers it for every program (a Heinz- or CMU-wide rule); a program's or track's own
    fact under ``facts`` is more specific and comes first. A topic with no fact at all is a *known
    unknown*: the bot says it does not have ``missing``, links ``link`` (or the program's
    how-to-apply page) and gives the admissions contact, so staff can fill it in later without code.
    """

    label: str  # short, for the console's menus and charts
    title: str  # the heading visitors see, and the button that asks about the topic
    missing: str  # what the bot says it does not have: "the official tuition figures"
    fact: Optional[Fact] = None
    link: Optional[HttpUrl] = None
    follow_up: List[str] = []  # topics offered as buttons after the answer
    # Bullets of each program's fact kept in an answer that covers every program (capstone: the
    # examples themselves are what visitors ask for, not a one-line summary per program).
    examples: int = 0
    # Details asked under this topic that are not known, named when asked ("a minimum GPA").
    asked_unknowns: List[AskedDetail] = []
    # Its answer differs by start (a term or intake): a short follow-up that names one ("and for
    # spring?") continues it.
    per_start: bool = False

    def unknowns_asked(self, text: Optional[str]) -> List[str]:
        """What ``text`` asks about under this topic that the bot does not have."""
        return [detail.missing for detail in self.asked_unknowns if text and detail.asked_in(text)]


class Knowledge(_Strict):
    version: int
    contact: Contact
    # Names for the official pages the bot links, so visitors see "MISM how-to-apply page"
    # rather than a 90-character address.
    pages: Dict[str, str] = {}
    topics: Dict[str, Topic]
    programs: Dict[str, Program]

    @root_validator(skip_on_failure=True)
    def _facts_name_topics(cls, values: dict) -> dict:
        """Every fact and follow-up names a declared topic, so a typo cannot hide an answer."""
        topics = values["topics"]
        places: List[Tuple[str, List[str]]] = [
            (f"topics.{topic_id}.follow_up", topic.follow_up) for topic_id, topic in topics.items()
        ]
        for program_id, program in values["programs"].items():
            places.append((f"programs.{program_id}.facts", list(program.facts)))
            places.append((f"programs.{program_id}.pages", list(program.pages)))
            for track_id, track in program.tracks.items():
                places.append((f"programs.{program_id}.tracks.{track_id}.facts", list(track.facts)))
        for where, names in places:
            unknown = [name for name in names if name not in topics]
            if unknown:
                raise ValueError(
                    f"{where}: unknown topic {', '.join(repr(n) for n in unknown)}; "
                    f"topics are declared under 'topics:' ({', '.join(topics)})"
                )
        return values

    @validator("programs")
    def _aliases_unambiguous(cls, programs: Dict[str, Program]) -> Dict[str, Program]:
        """An alias may name one program and one track id, never two different ones."""
        owners: Dict[Tuple[str, str], str] = {}
        for program_id, program in programs.items():
            entries = [("program", alias, program_id) for alias in [*program.aliases, *program.descriptions]]
            entries += [
                ("track", alias, track_id)
                for track_id, track in program.tracks.items()
                for alias in [track.name, *track.aliases]
            ]
            for kind, alias, value in entries:
                key = (kind, alias.lower())
                if owners.setdefault(key, value) != value:
                    raise ValueError(f"{kind} alias '{alias}' is used for both '{owners[key]}' and '{value}'")
        return programs

    # -- queries -------------------------------------------------------------------------------

    def program(self, program_id: str) -> Optional[Program]:
        return self.programs.get(program_id)

    def programs_with_track(self, track_id: str) -> List[str]:
        return [pid for pid, program in self.programs.items() if track_id in program.tracks]

    def aliases(self) -> Iterator[Tuple[str, str, str]]:
        """Yield ``(entity, value, phrase)`` for every program and track name and alias."""
        for program_id, program in self.programs.items():
            named = {f"{description} {word}" for description in program.descriptions for word in NAMING_WORDS}
            for phrase in {program.short_name, program.name, *program.aliases, *named}:
                yield "program", program_id, phrase
            for track_id, track in program.tracks.items():
                for phrase in {track.name, *track.aliases}:
                    yield "track", track_id, phrase

    def descriptions(self) -> Iterator[Tuple[str, str]]:
        """Yield ``(program id, phrase)`` for every program description (``DESCRIPTION_ROLE``)."""
        for program_id, program in self.programs.items():
            for phrase in program.descriptions:
                yield program_id, phrase

    def known_unknowns(self) -> List[str]:
        """Topics no Heinz-wide, program or track fact answers: the bot says what it lacks."""
        answered = {topic_id for topic_id, topic in self.topics.items() if topic.fact}
        for program in self.programs.values():
            answered |= set(program.facts)
            for track in program.tracks.values():
                answered |= set(track.facts)
        return [topic_id for topic_id in self.topics if topic_id not in answered]

    def page_name(self, url: str) -> str:
        """The name visitors see for an official page (its address when the file names none)."""
        return self.pages.get(url) or self.pages.get(url.split("#", 1)[0]) or url

    def facts(self) -> Iterator[Tuple[str, str, Fact]]:
        """Every fact with where it is (``topics.deadlines``, ``programs.mism.facts.deadlines``) and its topic."""
        for topic_id, topic in self.topics.items():
            if topic.fact is not None:
                yield f"topics.{topic_id}.fact", topic_id, topic.fact
        for program_id, program in self.programs.items():
            for topic_id, fact in program.facts.items():
                yield f"programs.{program_id}.facts.{topic_id}", topic_id, fact
            for track_id, track in program.tracks.items():
                for topic_id, fact in track.facts.items():
                    yield f"programs.{program_id}.tracks.{track_id}.facts.{topic_id}", topic_id, fact

    def lookup(self, program_id: str, track_id: Optional[str], topic: str) -> Optional[Fact]:
        """The most specific fact for a topic: the track's own if it has one, else the program's."""
        program = self.programs.get(program_id)
        if program is None:
            return None
        track = program.tracks.get(track_id) if track_id else None
        if track and topic in track.facts:
            return track.facts[topic]
        return program.facts.get(topic)


def _format_location(location: Tuple) -> str:
    return ".".join(str(part) for part in location if part != "__root__") or "(top level)"


def _describe(item: Mapping[str, Any]) -> str:
    """``path: problem``; checks across the whole file name their own path in the message."""
    if tuple(item["loc"]) == ("__root__",):
        return str(item["msg"])
    return f"{_format_location(item['loc'])}: {item['msg']}"


def parse_knowledge(raw: object, origin: str) -> Knowledge:
    """Validate already-parsed YAML. ``origin`` names the file in error messages."""
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{origin}: the file must contain a YAML mapping at the top level")
    try:
        return Knowledge.parse_obj(raw)
    except ValidationError as error:
        problems = "; ".join(_describe(item) for item in error.errors())
        raise KnowledgeError(f"{origin}: invalid knowledge file — {problems}") from None


def load_knowledge(path: Optional[Path] = None) -> Knowledge:
    """Read and validate a knowledge file, raising ``KnowledgeError`` with a readable message."""
    path = Path(path or knowledge_file_from_env())
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KnowledgeError(f"{path}: knowledge file not found") from None
    except UnicodeDecodeError as error:
        raise KnowledgeError(f"{path}: not valid UTF-8 ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise KnowledgeError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise KnowledgeError(f"{path}: invalid YAML{where} — {problem}") from None
    except ValueError as error:  # PyYAML builds dates itself: 2026-13-01 fails here, not in validation
        raise KnowledgeError(f"{path}: invalid date — {error} (dates are real days, YYYY-MM-DD)") from None
    return parse_knowledge(raw, str(path))


def knowledge_file_from_env() -> Path:
    return Path(os.environ.get("KNOWLEDGE_FILE") or DEFAULT_KNOWLEDGE_FILE)


class KnowledgeSource:
    """The current knowledge, re-read when the file changes.

    If an edit breaks the file while the server runs, the last good version keeps answering and the
    error is kept in ``last_error`` (and logged by the caller) — visitors never see a broken file.
    """

    def __init__(self, path: Optional[Path] = None) -> None:
        self.path = Path(path or knowledge_file_from_env())
        self._lock = threading.Lock()
        self._knowledge = load_knowledge(self.path)
        self._stamp = self._file_stamp()
        self.last_error: Optional[str] = None

    def _file_stamp(self) -> Tuple[float, int]:
        stat = self.path.stat()
        return stat.st_mtime, stat.st_size

    def get(self) -> Knowledge:
        try:
            stamp = self._file_stamp()
        except OSError as error:
            if self.last_error is None:
                logger.error(
                    "Knowledge file cannot be read, still answering from the last good version: %s", error.strerror
                )
            self.last_error = f"{self.path}: cannot be read ({error.strerror})"
            return self._knowledge
        if stamp != self._stamp:
            with self._lock:
                self._reload(stamp)
        return self._knowledge

    def _reload(self, stamp: Tuple[float, int]) -> None:
        """Called once per change of the file, so a rejected edit is logged once, not per message."""
        try:
            self._knowledge = load_knowledge(self.path)
            self.last_error = None
            logger.info("Knowledge file reloaded: %s", self.path)
        except KnowledgeError as error:
            self.last_error = str(error)
            logger.error("Knowledge file edit rejected, still answering from the last good version: %s", error)
        self._stamp = stamp
