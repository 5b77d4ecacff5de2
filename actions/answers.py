"""Decide what to answer: topic + programs (+ track) → the bot's messages, from the knowledge file.

One path serves every topic. The wording lives in ``domain.yml``: ``utter_answer`` (a fact is
known) and ``utter_unknown`` (it is not), filled with a heading, a body and named links; the small
phrases that frame a fact (the admissions cycle, missing details, "general information", button
titles) are ``utter_phrase_*`` responses, read from the domain the action server receives.

The rules a visitor notices:
- a question always gets an answer on its first turn: with no program known, a program-dependent
  fact is answered for every program in a line or two each, with buttons to go deeper into one;
- a Heinz-wide fact (the topic's own ``fact``) is answered once, without asking which program;
- a topic nobody has a fact for is a *known unknown*: "I don't have <missing>", the best page, the
  contact — never a neighbouring topic's answer;
- the first answer fits on a phone screen: at most ``COMPACT_ITEMS`` bullets, the rest behind a
  "More details" button;
- dates are told relative to today (``core/timeline.py``): what has closed, what is next and in how
  many days, "is it too late?" answered yes or no first, a past event never offered as upcoming,
  and a cycle whose dates have all passed said to be over, never followed by guessed dates.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from core import timeline
from core.clock import office_clock
from core.handoff import REQUEST_HUMAN_INTENT
from core.knowledge import Dated, Fact, Knowledge, Program, Topic, Track
from core.topics import ALSO_ASKED, QUESTIONS, intent_for
from core.topics import topic_for as topic_of_intent

CONTACT_TOPIC = "contact"  # answered from the knowledge file's ``contact`` block
TRACKS_TOPIC = "tracks"  # its answer also lists the program's tracks, from the file's structure
DEFAULT_TOPIC = "program_overview"  # what a message naming only a program asks about
COMPACT_ITEMS = 3  # bullets in a first answer; the rest behind "More details"
FOLLOW_UPS = 3  # topic buttons after an answer
MORE_QUESTIONS = 2  # buttons for the questions of a message beyond the two answered


@dataclass(frozen=True)
class Context:
    """Which programs (none, one, or several) and track a question is about, and where the program
    came from: named in this message, remembered from the conversation, or the page's context."""

    programs: List[str] = field(default_factory=list)
    track: Optional[str] = None
    named: bool = False  # the visitor named the program in this message


@dataclass(frozen=True)
class Reply:
    """One bot message: a domain response name, the variables it needs, and buttons."""

    response: str
    variables: Dict[str, Any] = field(default_factory=dict)
    buttons: List[Dict[str, str]] = field(default_factory=list)


def person_button(title: str) -> Dict[str, str]:
    """A button that asks for a person: a live chat when an officer is free, else a follow-up request
    (core/handoff.py)."""
    return {"title": title, "payload": f"/{REQUEST_HUMAN_INTENT}"}


def topic_for(knowledge: Knowledge, intent: Optional[str], remembered: Optional[str]) -> str:
    """The topic of this turn: the intent's own, else the one being discussed, else an overview."""
    asked = topic_of_intent(intent)
    if asked and asked in knowledge.topics:
        return asked
    if remembered and remembered in knowledge.topics:
        return remembered
    return DEFAULT_TOPIC


# "how much is that?" names no cost of its own: it asks the amount of what was just discussed.
AMOUNT_OF_IT = re.compile(
    r"^\W*(?:(?:and|so|ok|okay|oh)\W+)*how much(?:\s+(?:is|was|does|would|will))?\s+(?:that|it|this)"
    r"(?:\s+(?:cost|be))?\W*$",
    re.IGNORECASE,
)


def has_amount(knowledge: Knowledge, topic: str) -> bool:
    """Whether any fact of ``topic`` states a dollar amount (the deposit's $500, the tuition)."""
    return any(
        "$" in " ".join([fact.text, fact.summary or "", *fact.items])
        for _, topic_id, fact in knowledge.facts()
        if topic_id == topic
    )


def topics_asked(knowledge: Knowledge, message: Mapping[str, Any], remembered: Optional[str]) -> List[str]:
    """The topics a message asks about: both of a two-question message (the NLU's ``questions``,
    when its intent is still the first question's), else the one of ``topic_for``; "how much is
    that?" after an answer about an amount (the deposit's, the scholarships') asks that amount, not the tuition."""
    intent = (message.get("intent") or {}).get("name")
    text = str(message.get("text") or "")
    if remembered and remembered in knowledge.topics and AMOUNT_OF_IT.match(text):
        # An amount the topic states, or one it knows it does not have (the scholarships' amounts).
        if has_amount(knowledge, remembered) or knowledge.topics[remembered].unknowns_asked(text):
            return [remembered]
    questions = [q for q in message.get(QUESTIONS) or [] if isinstance(q, Mapping)]
    asked = [topic_of_intent((q.get("intent") or {}).get("name")) for q in questions]
    topics = _unique(t for t in asked if t and t in knowledge.topics)
    if len(topics) == 2 and topic_of_intent(intent) == topics[0]:
        return topics
    return [topic_for(knowledge, intent, remembered)]


def asked_text(message: Mapping[str, Any], topic: str, topics: Sequence[str]) -> str:
    """The words that ask about ``topic``: its own part of a two-question message ("how much is
    tuition? and are there scholarships": "how much" is not asked of scholarships), else the message."""
    if len(topics) > 1:
        for question in message.get(QUESTIONS) or []:
            if isinstance(question, Mapping) and topic_of_intent((question.get("intent") or {}).get("name")) == topic:
                return str(question.get("text") or "")
    return str(message.get("text") or "")


def also_asked(knowledge: Knowledge, message: Mapping[str, Any], answered: Sequence[str]) -> List[str]:
    """The topics of a message's questions beyond the two answered (the NLU's ``also_asked``): offered
    as buttons, since more than two answers in one turn is more than a visitor reads."""
    parts = [q for q in message.get(ALSO_ASKED) or [] if isinstance(q, Mapping)]
    asked = [topic_of_intent((q.get("intent") or {}).get("name")) for q in parts]
    return _unique(t for t in asked if t and t in knowledge.topics and t not in answered)[:MORE_QUESTIONS]


def resolve_context(
    knowledge: Knowledge,
    mentioned: Sequence[Mapping[str, Any]],
    slot_program: Optional[str],
    slot_track: Optional[str],
    page_program: Optional[str] = None,
) -> Context:
    """Combine this message's entities with what the conversation and the page established.

    A track named now wins, and implies its program when only one program has it; a program named
    now replaces the remembered one (keeping the remembered track only if that program has it); the
    page's program applies when nothing else says which.
    """
    programs = _unique(e["value"] for e in mentioned if e.get("entity") == "program")
    programs = [p for p in programs if knowledge.program(p)]
    tracks = [e["value"] for e in mentioned if e.get("entity") == "track"]
    if tracks:
        return _context_for_track(knowledge, tracks[0], programs, slot_program or page_program)
    if programs:
        keep = slot_track if slot_track and all(_has_track(knowledge, p, slot_track) for p in programs) else None
        return Context(programs, keep, named=True)
    remembered = slot_program if slot_program and knowledge.program(slot_program) else None
    remembered = remembered or (page_program if page_program and knowledge.program(page_program) else None)
    if remembered:
        track = slot_track if _has_track(knowledge, remembered, slot_track) else None
        return Context([remembered], track)
    return Context([], slot_track if slot_track and knowledge.programs_with_track(slot_track) else None)


def _context_for_track(knowledge: Knowledge, track: str, programs: List[str], remembered: Optional[str]) -> Context:
    owners = knowledge.programs_with_track(track)
    if not owners:
        return Context(programs, named=bool(programs))
    named = [p for p in programs if p in owners]
    if named:
        return Context(named, track, named=True)
    if programs:  # e.g. "MSIT 16-month": the track is not in the named program; trust the program.
        return Context(programs, named=True)
    if remembered and remembered in owners:
        return Context([remembered], track)
    if len(owners) == 1:
        return Context(owners, track, named=True)
    return Context([], track)


def _has_track(knowledge: Knowledge, program_id: str, track_id: Optional[str]) -> bool:
    program = knowledge.program(program_id)
    return bool(program and track_id and track_id in program.tracks)


def _unique(values: Iterable[str]) -> List[str]:
    return list(dict.fromkeys(values))


TOO_LATE = re.compile(
    r"\btoo late\b|\bstill (?:apply|submit|get in|make it)\b|\bmissed (?:the|a|every) deadline|\bis it late\b"
    r"|\bcan i still\b|\bstill (?:open|accepting)\b|\blate application",
    re.IGNORECASE,
)


def asks_if_too_late(text: Optional[str]) -> bool:
    """ "Is it too late to apply?" and its kin: answered yes or no before the dates."""
    return bool(text and TOO_LATE.search(text))


# A start the visitor names ("the spring 2027 start", "in may"), by the season deadlines are named for.
SEASONS = {
    "fall": "fall",
    "autumn": "fall",
    "august": "fall",
    "spring": "spring",
    "january": "spring",
    "summer": "summer",
    "may": "summer",
}
START = re.compile(
    r"\b(fall|autumn|august|spring|january|summer|(?:(?<=\bin )|(?<=\bthe ))may)\b(?:\s+(?:of\s+)?(20\d\d))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Start:
    """A start named in a question: its season, its year if given, and the words as written."""

    season: str
    year: Optional[int]
    said: str

    def matches(self, item: Dated) -> bool:
        """Whether a deadline is for this start (its label or what it applies to names the season)."""
        words = re.findall(r"[a-z0-9]+", f"{item.label} {item.applies_to or ''}".lower())
        seasons = {SEASONS[w] for w in words if w in SEASONS}
        return self.season in seasons and (self.year is None or str(self.year) in words)


def asked_start(text: Optional[str]) -> Optional[Start]:
    """The start a question names ("can I still apply for the spring 2027 start?"), if any."""
    found = START.search(text or "")
    if not found:
        return None
    year = int(found.group(2)) if found.group(2) else None
    return Start(SEASONS[found.group(1).lower()], year, found.group(0).lower())


# Words too common in admissions questions to say which bullet of an answer a question asks about.
COMMON_WORDS = frozenset(
    "about also apply applying application applications could deadline deadlines does "
    "doing from have heinz into just know like many more much need program programs should than that "
    "their there these they this those want what when where which will with would your mism msit".split()
)


def _stems(text: str) -> set:
    return {word[:6] for word in re.findall(r"[a-z]{4,}", text.lower()) if word not in COMMON_WORDS}


def asked_first(groups: Sequence[Sequence[str]], question: str) -> List[str]:
    """The bullets that share the most words with the question first ("when do I get a decision?":
    the decision line before the dates), the rest in their own order: a compact answer must not hide
    what was asked behind "More details". A group (the dates) moves as one, keeping its order."""
    asked = _stems(question)

    def score(group: Sequence[str]) -> int:
        return max((len(asked & _stems(item)) for item in group), default=0)

    # Stable; on a tie a single bullet goes before a group (the status lines already tell the dates).
    ordered = (
        sorted(groups, key=lambda group: (-score(group), score(group) > 0 and len(group) > 1))
        if asked
        else list(groups)
    )
    return [item for group in ordered for item in group]


def asked_item(items: Sequence[str], question: str, named: str) -> Optional[str]:
    """The bullet a question asks about beyond what the topic's own name says (``named``), if any:
    a summary of both programs shows one line each, and "when do I get a decision?" needs each
    program's decision line, not only its next deadline."""
    asked = _stems(question) - _stems(named)
    best = max(items, key=lambda item: len(asked & _stems(item)), default=None)
    return best if best is not None and asked & _stems(best) else None


def program_gaps(knowledge: Knowledge, facts: Mapping[str, Optional[Fact]]) -> List[str]:
    """What each program's fact says it does not know, named with its program: a summary of both
    programs shows one line each, and must not drop "whether MISM requires the GRE" that the
    program's own answer says."""
    named: Dict[str, List[str]] = {}  # a gap both programs share is said once, for both
    for pid, fact in facts.items():
        name = knowledge.programs[pid].short_name
        for gap in fact.gaps if fact is not None else []:
            named.setdefault(gap, []).append(name)
    return [gap if names[0].lower() in gap.lower() else f"{gap} for {_and(names)}" for gap, names in named.items()]


class Answerer:
    """Builds the replies for one turn; ``phrases`` are the domain's ``utter_phrase_*`` texts and
    ``today`` the office's day that dates are told relative to (``core/clock.py``)."""

    def __init__(self, knowledge: Knowledge, phrases: Mapping[str, str], today: Optional[datetime.date] = None) -> None:
        self.knowledge = knowledge
        self.phrases = phrases
        self.today = today or office_clock().today()
        self.contact = {"email": knowledge.contact.email, "phone": knowledge.contact.phone}
        self.too_late = False
        self.start: Optional[Start] = None
        self.question = ""
        self.asked_unknowns: List[str] = []

    def answer(
        self, topic_id: str, context: Context, full: bool = False, too_late: bool = False, question: str = ""
    ) -> Reply:
        """The reply to a question about ``topic_id`` in ``context`` (``full``: every detail;
        ``too_late``: the visitor asked whether it is too late, answered yes or no first;
        ``question``: the visitor's words, for the topic's details known to be missing)."""
        topic = self.knowledge.topics[topic_id]
        self.too_late = too_late
        self.start = asked_start(question)
        self.question = question
        self.asked_unknowns = topic.unknowns_asked(question)
        if topic_id == CONTACT_TOPIC:
            return self._contact(topic)
        if len(context.programs) == 1:
            return self._for_program(topic_id, topic, context.programs[0], context, full)
        programs = context.programs or list(self.knowledge.programs)
        return self._for_programs(topic_id, topic, programs, context.track, full)

    # -- one program ---------------------------------------------------------------------------

    def _for_program(self, topic_id: str, topic: Topic, program_id: str, context: Context, full: bool) -> Reply:
        program = self.knowledge.programs[program_id]
        track = program.tracks.get(context.track) if context.track else None
        own = self.knowledge.lookup(program_id, context.track, topic_id)
        if own is None and topic.fact is None:
            link = program.best_page(topic_id, topic.link)
            offers = self._switch_buttons(topic_id, program_id, context) + self._follow_ups(topic)
            return self._unknown(topic, _subject(program, track), [link], offers)
        own_track = track if track and own is not None and topic_id in track.facts else None
        # The program's (or track's) own fact first, then what applies to every program.
        sections: List[Tuple[Fact, str, List[str]]] = []
        if own is not None:
            extra = self._track_items(program) if topic_id == TRACKS_TOPIC else []
            sections.append((own, str(own.link or (own_track or program).url), extra))
        if topic.fact is not None:
            sections.append((topic.fact, str(topic.fact.link or topic.fact.source), []))
        parts: List[str] = []
        # General rules (STEM OPT) do not say whether they apply to this program: say what is missing.
        general_only = own is None and topic.fact is not None and topic.fact.general
        missing = [*self.asked_unknowns, topic.missing] if general_only else self.asked_unknowns
        if missing:
            gaps = f"{'; '.join(missing)} for {program.short_name}"
            parts.append(self._phrase("utter_phrase_gaps", gaps=gaps, **self.contact))
        truncated = False
        for fact, _, extra in sections:
            text, cut = self._render(fact, full, extra, contact_given=bool(missing))
            parts.append(text)
            truncated = truncated or cut
        links = [link for _, link, _ in sections]
        buttons: List[Dict[str, str]] = []
        if truncated:
            buttons.append(self._button("utter_phrase_more", topic_id, {"program": program_id, "detail": "full"}))
        if own is not None or general_only:
            buttons += self._switch_buttons(topic_id, program_id, context)
        buttons += self._follow_ups(topic)
        subject = (
            _subject(program, own_track) if own is not None or general_only else self._phrase("utter_phrase_everyone")
        )
        return self._answer(topic, subject, "\n".join(parts), links, buttons)

    def _track_items(self, program: Program) -> List[str]:
        return [f"{track.name}: {self._link(str(track.url))}" for track in program.tracks.values()]

    def _switch_buttons(self, topic_id: str, program_id: str, context: Context) -> List[Dict[str, str]]:
        """When the program came from the page or the conversation, offer the others."""
        if context.named:
            return []
        return [
            self._button("utter_phrase_switch", topic_id, {"program": other}, program=p.short_name)
            for other, p in self.knowledge.programs.items()
            if other != program_id
        ]

    # -- several programs (none known, or a comparison) ----------------------------------------

    def _for_programs(
        self, topic_id: str, topic: Topic, program_ids: List[str], track_id: Optional[str], full: bool = False
    ) -> Reply:
        facts = {
            pid: self.knowledge.lookup(pid, track_id if _has_track(self.knowledge, pid, track_id) else None, topic_id)
            for pid in program_ids
        }
        owners = [pid for pid, fact in facts.items() if fact is not None]
        if not owners and topic.fact is None:
            pages = [self.knowledge.programs[p].best_page(topic_id, topic.link) for p in program_ids]
            return self._unknown(topic, self._both(program_ids), pages, self._follow_ups(topic))
        lines: List[str] = []
        if self.asked_unknowns:
            lines.append(self._phrase("utter_phrase_gaps", gaps="; ".join(self.asked_unknowns), **self.contact))
        if owners:
            for pid in program_ids:
                program = self.knowledge.programs[pid]
                fact = facts[pid]
                if fact is None:
                    page = self._link(program.best_page(topic_id, topic.link))
                    lines.append(self._phrase("utter_phrase_program_unknown", program=program.short_name, link=page))
                else:
                    track = program.tracks.get(track_id) if track_id and track_id in program.tracks else None
                    own_track = track if track and topic_id in track.facts else None
                    page = self._link(str(fact.link or (own_track or program).url))
                    lines.append(
                        self._phrase(
                            "utter_phrase_program_line",
                            program=_subject(program, own_track),
                            summary=self._summary(fact),
                            link=page,
                        )
                    )
                    shown = fact.items if full and topic.examples else fact.items[: topic.examples]
                    asked = asked_item(fact.items, self.question, f"{topic.title} {topic.label}")
                    if not shown and asked:
                        shown = [asked]
                    lines.extend(f"  ◦ {item}" for item in shown)
        gaps = program_gaps(self.knowledge, facts)
        if gaps:
            phrase = "utter_phrase_gaps_also" if self.asked_unknowns else "utter_phrase_gaps"
            lines.append(self._phrase(phrase, gaps="; ".join(gaps), **self.contact))
        links: List[str] = []
        if topic.fact is not None:
            text, _ = self._render(topic.fact, full=False)
            lines.append(text)
            links.append(str(topic.fact.link or topic.fact.source))
        buttons = [
            self._button(
                "utter_phrase_deeper", topic_id, {"program": pid}, program=self.knowledge.programs[pid].short_name
            )
            for pid in owners
        ] + self._follow_ups(topic)
        subject = self._both(program_ids) if owners else self._phrase("utter_phrase_everyone")
        return self._answer(topic, subject, "\n".join(lines), links, buttons)

    def _both(self, program_ids: Sequence[str]) -> str:
        names = [self.knowledge.programs[p].short_name for p in program_ids]
        return " and ".join(names)

    # -- pieces --------------------------------------------------------------------------------

    def _contact(self, topic: Topic) -> Reply:
        contact = self.knowledge.contact
        variables = {**self.contact, "address": contact.address, "office": contact.office}
        return Reply("utter_answer_contact", variables, self._follow_ups(topic))

    def _answer(self, topic: Topic, subject: str, body: str, links: List[str], buttons: List[Dict[str, str]]) -> Reply:
        # The links close the body only when there are any: an empty slot would leave a blank line
        # (answers covering both programs carry each program's link in its own line instead).
        body = "\n".join(part for part in (body, self._links(links)) if part)
        variables = {"title": topic.title, "subject": subject, "body": body}
        return Reply("utter_answer", variables, _dedupe(buttons))

    def _unknown(self, topic: Topic, subject: str, links: List[str], buttons: List[Dict[str, str]]) -> Reply:
        """ "I don't have ...": the details the visitor asked for when they named some (the course
        load, not the program length, for "how many courses per semester"), else the topic's gap."""
        missing = "; ".join(self.asked_unknowns) or topic.missing
        variables = {"missing": missing, "subject": subject, "links": self._links(links), **self.contact}
        talk = person_button(self._phrase("utter_phrase_talk"))
        return Reply("utter_unknown", variables, _dedupe([talk, *buttons]))

    def _render(
        self, fact: Fact, full: bool, extra_items: Sequence[str] = (), contact_given: bool = False
    ) -> Tuple[str, bool]:
        """A fact as message text; ``True`` when bullets were left for "More details" (``contact_given``:
        the reply already named a missing detail with the contact, so the fact's gaps do not repeat it)."""
        lines: List[str] = []
        status = self._when_lines(fact)
        lead = bool(fact.deadlines()) and (self.too_late or self._asked_start_deadlines(fact) is not None)
        if lead:
            lines.extend(status)  # "Is it too late?", or the start asked about: said first
        if fact.general:
            lines.append(self._phrase("utter_phrase_general"))
        if fact.cycle and fact.as_of:
            # A cycle that has ended is said to be over: "For the August 2026 start" read as current.
            phrase = "utter_phrase_cycle_past" if self._past_cycle(fact) else "utter_phrase_cycle"
            lines.append(self._phrase(phrase, cycle=fact.cycle, as_of=_date(fact.as_of), **self.contact))
        if not lead:
            lines.extend(status)
        lines.append(fact.text)
        groups: List[Sequence[str]] = [self._date_items(fact), *([item] for item in [*fact.items, *extra_items])]
        if fact.late and timeline.deadlines(fact, self.today).next is not None:
            groups.append([fact.late])  # said in the status once the last deadline has passed
        every = asked_first(groups, self.question)
        items = every if full else every[:COMPACT_ITEMS]
        lines.extend(f"• {item}" for item in items)
        hidden = len(every) - len(items)
        if hidden:  # a shortened list must not read as the whole list
            more = self._phrase("utter_phrase_more")
            lines.append(self._phrase("utter_phrase_more_items", count=str(hidden), more=more))
        if fact.gaps:
            phrase = "utter_phrase_gaps_also" if contact_given else "utter_phrase_gaps"
            lines.append(self._phrase(phrase, gaps="; ".join(fact.gaps), **self.contact))
        return "\n".join(lines), hidden > 0

    def _summary(self, fact: Fact) -> str:
        status = self._when_lines(fact)
        if status:
            return " ".join(status)
        summary = fact.summary or fact.text
        if self._past_cycle(fact):
            summary = f"{summary} ({self._phrase('utter_phrase_cycle_past_short', cycle=fact.cycle)})"
        elif fact.cycle and fact.as_of and not fact.summary:
            summary = f"{summary} ({fact.cycle})"
        return summary

    def _past_cycle(self, fact: Fact) -> bool:
        """A cycle's fact without dates of its own whose cycle has ended (dated facts say so in their
        status line, ``utter_phrase_cycle_over``)."""
        return bool(fact.cycle) and not fact.has_cycle_dates() and timeline.cycle_over(fact, self.today)

    # -- dates, told relative to today ---------------------------------------------------------

    def _when_lines(self, fact: Fact) -> List[str]:
        """Where today falls among the fact's dates, in a sentence or two (none for an undated fact)."""
        lines: List[str] = []
        if timeline.cycle_over(fact, self.today) and fact.has_cycle_dates():
            cycle, as_of = fact.cycle or "", _date(fact.as_of) if fact.as_of else ""
            return [self._phrase("utter_phrase_cycle_over", cycle=cycle, as_of=as_of, **self.contact)]
        if fact.deadlines():
            lines.extend(self._deadline_lines(fact))
        for item in fact.dates:
            if item.kind == "opens":
                phrase = "utter_phrase_opened" if timeline.is_past(item, self.today) else "utter_phrase_opens"
                lines.append(self._phrase(phrase, label=item.label, when=self._on(item)))
        if any(item.kind == "event" for item in fact.dates):
            upcoming = timeline.events(fact, self.today)
            if upcoming:
                lines += [
                    self._phrase("utter_phrase_event_next", label=e.label, date=_day(e), when=self._in(e))
                    for e in upcoming
                ]
            else:
                last = timeline.past_events(fact, self.today)[-1]
                lines.append(self._phrase("utter_phrase_event_past", label=last.label, date=_day(last)))
        return lines

    def _deadline_lines(self, fact: Fact) -> List[str]:
        status = timeline.deadlines(fact, self.today)
        asked = self._asked_start_lines(fact, status)
        if asked is not None:
            return asked
        upcoming = status.next
        if upcoming is None:
            last = status.closed[-1]
            phrase = "utter_phrase_too_late" if self.too_late else "utter_phrase_deadlines_passed"
            lines = [self._phrase(phrase, label=last.label, date=_day(last))]
            if fact.late:
                lines.append(fact.late)
            return [*lines, self._phrase("utter_phrase_late_contact", **self.contact)]
        lines = []
        if self.too_late:
            lines.append(
                self._phrase(
                    "utter_phrase_not_too_late", label=upcoming.label, date=_day(upcoming), when=self._in(upcoming)
                )
            )
        if status.closed:
            closed = [f"{d.label} ({_day(d)})" for d in status.closed]
            if len(closed) == 1:
                lines.append(self._phrase("utter_phrase_deadline_closed_one", deadline=closed[0]))
            else:
                lines.append(self._phrase("utter_phrase_deadline_closed_many", deadlines=_and(closed)))
        if not self.too_late:
            lines.append(
                self._phrase(
                    "utter_phrase_deadline_next", label=upcoming.label, date=_day(upcoming), when=self._in(upcoming)
                )
            )
        return lines

    def _asked_start_deadlines(self, fact: Fact) -> Optional[List[Dated]]:
        """The fact's deadlines for the start the question names (maybe none); ``None`` when it names
        no start, or one that every deadline is for."""
        every = fact.deadlines()
        asked = [d for d in every if self.start and self.start.matches(d)]
        return None if self.start is None or len(asked) == len(every) else asked

    def _asked_start_lines(self, fact: Fact, status: timeline.Deadlines) -> Optional[List[str]]:
        """The deadline of the start the visitor named, said first: "can I still apply for the spring
        2027 start?" must not hear "not too late" about the summer's. ``None`` when the question names
        no start, or one that every deadline of the fact is for."""
        asked = self._asked_start_deadlines(fact)
        start = self.start
        if asked is None or start is None:  # the second only for the type checker: asked is None then
            return None
        upcoming = status.next
        then = [
            self._phrase(
                "utter_phrase_deadline_next", label=upcoming.label, date=_day(upcoming), when=self._in(upcoming)
            )
            if upcoming
            else self._phrase("utter_phrase_late_contact", **self.contact)
        ]
        if not asked:
            return [self._phrase("utter_phrase_start_unknown", start=start.said, **self.contact), *then]
        still_open = [d for d in asked if not timeline.is_past(d, self.today)]
        if still_open:
            first = still_open[0]
            phrase = "utter_phrase_not_too_late" if self.too_late else "utter_phrase_deadline_asked"
            return [self._phrase(phrase, label=first.label, date=_day(first), when=self._in(first))]
        last = asked[-1]
        phrase = "utter_phrase_start_too_late" if self.too_late else "utter_phrase_start_closed"
        return [self._phrase(phrase, label=last.label, date=_day(last)), *then]

    def _date_items(self, fact: Fact) -> List[str]:
        """Each deadline as a bullet, the passed ones marked closed."""
        return [
            self._phrase(
                "utter_phrase_deadline_item_closed"
                if timeline.is_past(d, self.today)
                else "utter_phrase_deadline_item",
                label=d.label,
                date=_day(d),
            )
            for d in fact.deadlines()
        ]

    def _in(self, item: Dated) -> str:
        days = timeline.days_until(item, self.today)
        if days == 0:
            return self._phrase("utter_phrase_when_today")
        if days == 1:
            return self._phrase("utter_phrase_when_tomorrow")
        return self._phrase("utter_phrase_when_days", days=days)

    def _on(self, item: Dated) -> str:
        """ "in September 2026" for a month, "on September 1, 2026" for a day."""
        if item.precision == "month":
            return f"in {item.date:%B} {item.date.year}"
        return f"on {_day(item)}"

    def _links(self, urls: Iterable[str]) -> str:
        return "\n".join(self._phrase("utter_phrase_link", link=self._link(url)) for url in _unique(urls))

    def _link(self, url: str) -> str:
        """A named Markdown link: the widget shows the page's name, not its address."""
        return f"[{self.knowledge.page_name(url)}]({url})"

    def _follow_ups(self, topic: Topic) -> List[Dict[str, str]]:
        topics = self.knowledge.topics
        return [
            {"title": topics[name].title, "payload": f"/{intent_for(name)}"}
            for name in topic.follow_up[:FOLLOW_UPS]
            if name in topics
        ]

    def _button(self, phrase: str, topic_id: str, entities: Mapping[str, str], **variables: str) -> Dict[str, str]:
        payload = f"/{intent_for(topic_id)}" + (json.dumps(dict(entities), separators=(",", ":")) if entities else "")
        return {"title": self._phrase(phrase, **variables), "payload": payload}

    def _phrase(self, name: str, **variables: Any) -> str:
        template = self.phrases.get(name)
        if template is None:
            raise KeyError(f"domain.yml has no response '{name}'")
        return template.format(**variables)


def _subject(program: Program, track: Optional[Track]) -> str:
    return f"{program.short_name} — {track.name}" if track else program.short_name


def _dedupe(buttons: List[Dict[str, str]]) -> List[Dict[str, str]]:
    seen = set()
    unique = []
    for button in buttons:
        if button["payload"] not in seen:
            seen.add(button["payload"])
            unique.append(button)
    return unique


def _date(value: datetime.date) -> str:
    return f"{value:%B} {value.day}, {value.year}"


def _day(item: Dated) -> str:
    return f"{item.date:%B} {item.date.year}" if item.precision == "month" else _date(item.date)


def _and(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def phrases_from_domain(domain: Mapping[str, Any]) -> Dict[str, str]:
    """The ``utter_phrase_*`` texts of the domain (first variation of each)."""
    responses = domain.get("responses", {})
    return {
        name: variations[0]["text"]
        for name, variations in responses.items()
        if name.startswith("utter_phrase_") and variations and "text" in variations[0]
    }
