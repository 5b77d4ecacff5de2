"""Answers that know today's date: deadlines, the application opening and events told relative to today.

Every expected date and label comes from the knowledge file (or from this file's own broken
fixtures), never from the test: a deadline edited in knowledge/programs.yml breaks only the tests
about that deadline. Each date-sensitive answer is checked on five days across a cycle: before the
application opens, between rounds, on a deadline day, after the final round and after the cycle,
for both programs, on the home page and on each program's page.
"""

from __future__ import annotations

import datetime
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List
from zoneinfo import ZoneInfo

import pytest
import yaml

from actions import answers
from console.cli import main as admissions_logs
from core.clock import Clock, ClockError, office_clock, parse_day
from core.knowledge import Dated, Fact, KnowledgeError, KnowledgeSource, load_knowledge
from core.settings import PROJECT_ROOT, Settings
from core.timeline import deadlines, stale_facts

EASTERN = ZoneInfo("America/New_York")


def said(day: datetime.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def said_item(item: Dated) -> str:
    return f"{item.date:%B} {item.date.year}" if item.precision == "month" else said(item.date)


@pytest.fixture(scope="module")
def phrases() -> Dict[str, str]:
    return answers.phrases_from_domain(yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text()))


@pytest.fixture(scope="module")
def mism(knowledge) -> Fact:
    return knowledge.lookup("mism", None, "deadlines")


@pytest.fixture(scope="module")
def msit(knowledge) -> Fact:
    return knowledge.lookup("msit", None, "deadlines")


def reply(
    knowledge,
    phrases,
    day: datetime.date,
    topic: str,
    programs: List[str],
    too_late: bool = False,
    question: str = "",
    full: bool = False,
) -> str:
    """The answer's text on ``day``: one program (its page, or named) or none (the home page)."""
    answerer = answers.Answerer(knowledge, phrases, day)
    context = answers.Context(programs, named=bool(programs))
    result = answerer.answer(topic, context, full=full, too_late=too_late, question=question)
    return result.variables["body"]


def cycle_days(knowledge, fact: Fact) -> Dict[str, datetime.date]:
    """The five days of a cycle, from the knowledge file's own dates."""
    opens = knowledge.topics["application_opens"].fact.dates[0]
    rounds = fact.deadlines()
    end = fact.cycle_end()
    assert end is not None
    return {
        "before the application opens": opens.date - datetime.timedelta(days=20),
        "between rounds": rounds[0].date + datetime.timedelta(days=2),
        "on a deadline day": rounds[1].date,
        "after the final round": rounds[-1].date + datetime.timedelta(days=1),
        "after the cycle": end + datetime.timedelta(days=1),
    }


# -- the knowledge file's dates ------------------------------------------------------------------


def test_every_dated_fact_has_its_cycle_and_as_of_and_ordered_deadlines(knowledge):
    dated = [(where, fact) for where, _, fact in knowledge.facts() if fact.dates]
    assert len(dated) >= 5, "deadlines, the application opening and events carry dates"
    for where, fact in dated:
        assert fact.cycle and fact.as_of, where
        days = [d.date for d in fact.deadlines()]
        assert days == sorted(days), where


def test_no_fact_states_a_dated_day_in_prose_without_its_cycle(knowledge):
    """A day written in a fact's words ("December 1, 2026") must belong to a cycle with an as-of date."""
    import re

    day = re.compile(
        r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December)"
        r" \d{1,2}, \d{4}\b|\b\d{4}-\d{2}-\d{2}\b"
    )
    for where, _, fact in knowledge.facts():
        words = " ".join([fact.text, fact.summary or "", *fact.items, fact.late or ""])
        if day.search(words):
            assert fact.cycle and fact.as_of, f"{where} states a date but has no cycle or as-of"


BROKEN = """
version: 1
contact: {office: O, address: A, phone: "1", email: e@x.edu, source: "https://heinz.cmu.edu/"}
topics:
  deadlines: {label: deadlines, title: Deadlines, missing: the deadlines}
programs:
  mism:
    name: MISM
    short_name: MISM
    url: https://heinz.cmu.edu/mism
    apply_url: https://heinz.cmu.edu/mism/apply
    facts:
      deadlines:
        text: Rounds
        source: https://heinz.cmu.edu/mism
"""


@pytest.mark.parametrize(
    "fact_lines, problem",
    [
        (
            "        dates: [{kind: deadline, label: Round 1}]\n        cycle: C\n        as_of: 2026-11-01\n",
            "programs.mism.facts.deadlines.dates.0.date: field required",
        ),
        (
            "        dates: [{kind: deadline, label: Round 2, date: 2027-01-10},"
            " {kind: deadline, label: Round 1, date: 2026-12-01}]\n        cycle: C\n        as_of: 2026-11-01\n",
            "deadlines out of order: 'Round 1' (2026-12-01) comes after 'Round 2' (2027-01-10)",
        ),
        (
            "        dates: [{kind: deadline, label: Round 1, date: 2026-12-01}]\n",
            "a fact with dates needs a 'cycle' and an 'as_of' date",
        ),
        (
            "        dates: [{kind: deadline, label: Round 1, date: 2026-12-01}]\n        cycle: C\n",
            "a fact with a 'cycle' also needs an 'as_of' date",
        ),
        (
            "        dates: [{kind: deadline, label: Round 1, date: 2026-13-01}]\n"
            "        cycle: C\n        as_of: 2026-11-01\n",
            "invalid date — month must be in 1..12 (dates are real days, YYYY-MM-DD)",
        ),
    ],
)
def test_a_broken_date_fails_the_load_with_a_clear_message(tmp_path, fact_lines, problem):
    path = tmp_path / "programs.yml"
    path.write_text(BROKEN + fact_lines)
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(path)
    assert problem in str(error.value), str(error.value)


def test_a_broken_date_edit_leaves_the_last_good_version_answering(tmp_path):
    path = tmp_path / "programs.yml"
    good = (
        "        dates: [{kind: deadline, label: Round 1, date: 2026-12-01}]\n"
        "        cycle: C\n        as_of: 2026-11-01\n"
    )
    path.write_text(BROKEN + good)
    source = KnowledgeSource(path)
    before = source.get()
    path.write_text(BROKEN + good.replace("2026-12-01", "2026-12-01}, {kind: deadline, label: Round 0"))
    assert source.get() is before
    assert source.last_error and "programs.mism.facts.deadlines.dates.1.date" in source.last_error


# -- the clock -----------------------------------------------------------------------------------


def test_a_deadline_day_is_open_until_its_end_in_eastern_time(knowledge, phrases, mism):
    second = mism.deadlines()[1]
    # 23:30 in Pittsburgh on the deadline day is already the next day in UTC.
    late_evening = datetime.datetime.combine(second.date, datetime.time(23, 30), EASTERN).astimezone(
        datetime.timezone.utc
    )
    clock = Clock(EASTERN, now=lambda zone: late_evening.astimezone(zone))
    assert clock.today() == second.date
    text = reply(knowledge, phrases, clock.today(), "deadlines", ["mism"])
    assert f"The next deadline is {second.label}: {said(second.date)}, today" in text
    assert "Eastern time" in text
    next_morning = Clock(EASTERN, now=lambda zone: (late_evening + datetime.timedelta(hours=2)).astimezone(zone))
    text = reply(knowledge, phrases, next_morning.today(), "deadlines", ["mism"])
    assert f"{second.label} ({said(second.date)})" in text and "have closed" in text


def test_the_preview_day_comes_from_assistant_today_and_a_bad_one_is_refused():
    assert office_clock(Settings(assistant_today="2027-01-11")).today() == datetime.date(2027, 1, 11)
    assert office_clock(Settings(assistant_today="")).preview is None
    with pytest.raises(ClockError, match="ASSISTANT_TODAY must be a date like 2027-01-11"):
        parse_day("11/01/2027")
    with pytest.raises(ClockError, match="OFFICE_TIMEZONE"):
        office_clock(Settings(office_timezone="Mars/Olympus"))


# -- deadlines on five days ----------------------------------------------------------------------


@pytest.mark.parametrize("program", ["mism", "msit"])
def test_deadlines_on_five_days_of_the_cycle(knowledge, phrases, program):
    fact = knowledge.lookup(program, None, "deadlines")
    for name, day in cycle_days(knowledge, fact).items():
        text = reply(knowledge, phrases, day, "deadlines", [program])
        status = deadlines(fact, day)
        assert " -" not in text and "in 0 days" not in text, (name, text)
        if status.cycle_over:
            assert f"These dates were for the {fact.cycle} and have all passed" in text, (name, text)
            assert "The next deadline" not in text and knowledge.contact.email in text, (name, text)
            continue
        for closed in status.closed:
            assert f"{closed.label}: {said(closed.date)} (closed)" in text, (name, text)
        if status.next is None:
            last = status.closed[-1]
            assert f"The last deadline has passed: {last.label} ({said(last.date)})" in text, (name, text)
            if fact.late:
                assert fact.late in text, (name, text)
            assert knowledge.contact.email in text, (name, text)
        else:
            days = (status.next.date - day).days
            when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
            assert f"The next deadline is {status.next.label}: {said(status.next.date)}, {when}" in text, (name, text)
            for upcoming in status.upcoming:
                assert f"{upcoming.label}: {said(upcoming.date)}\n" in text + "\n", (name, text)


def test_the_issue_example_round_1_closed_two_days_ago(knowledge, phrases, mism):
    first, second = mism.deadlines()[:2]
    day = first.date + datetime.timedelta(days=2)
    text = reply(knowledge, phrases, day, "deadlines", ["mism"])
    assert (
        f"{first.label} ({said(first.date)}) has closed.\n"
        f"The next deadline is {second.label}: {said(second.date)}, in {(second.date - day).days} days."
    ) in text


@pytest.mark.parametrize("program", ["mism", "msit"])
def test_is_it_too_late_is_answered_yes_or_no_first(knowledge, phrases, program):
    fact = knowledge.lookup(program, None, "deadlines")
    for name, day in cycle_days(knowledge, fact).items():
        text = reply(knowledge, phrases, day, "deadlines", [program], too_late=True)
        status = deadlines(fact, day)
        first_line = text.splitlines()[0]
        if status.cycle_over:
            assert first_line.startswith("These dates were for the"), (name, text)
        elif status.next is None:
            assert first_line.startswith("Yes, the last deadline has passed"), (name, text)
            assert knowledge.contact.email in text
        else:
            assert first_line.startswith(f"No, it's not too late: the next deadline is {status.next.label}"), (
                name,
                text,
            )


def test_the_home_page_gets_each_programs_next_deadline(knowledge, phrases, mism, msit):
    for day in cycle_days(knowledge, mism).values():
        text = reply(knowledge, phrases, day, "deadlines", [])
        for program, fact in (("MISM", mism), ("MSIT", msit)):
            line = next(line for line in text.splitlines() if line.startswith(f"• {program}:"))
            status = deadlines(fact, day)
            if status.cycle_over:
                assert "have all passed" in line, line
            elif status.next is not None:
                assert f"The next deadline is {status.next.label}: {said(status.next.date)}" in line, line
            else:
                assert "The last deadline has passed" in line, line


def test_msit_gives_the_next_start_term_and_its_deadline(knowledge, phrases, msit):
    spring, summer = msit.deadlines()[1:]
    day = spring.date + datetime.timedelta(days=32)
    text = reply(knowledge, phrases, day, "deadlines", ["msit"])
    assert f"The next deadline is {summer.label}: {said(summer.date)}, in {(summer.date - day).days} days." in text
    assert f"{spring.label}: {said(spring.date)} (closed)" in text


def test_too_late_for_a_named_start_is_about_that_start(knowledge, phrases, msit):
    """A tryout's visitor asked "can i still apply for the spring 2027 start?" after its deadline and
    heard "No, it's not too late", about the summer start's deadline."""
    spring, summer = msit.deadlines()[1:]
    day = spring.date + datetime.timedelta(days=34)
    question = f"can i still apply for the spring {spring.date.year + 1} start?"
    text = reply(knowledge, phrases, day, "deadlines", ["msit"], too_late=True, question=question)
    first, second = text.splitlines()[:2]
    assert first == f"Yes, that deadline has passed: {spring.label} ({said(spring.date)}).", text
    assert second.startswith(f"The next deadline is {summer.label}: {said(summer.date)}"), text
    assert "not too late" not in text
    summer_question = "is it too late for the summer start?"
    text = reply(knowledge, phrases, day, "deadlines", ["msit"], too_late=True, question=summer_question)
    assert text.splitlines()[0].startswith(f"No, it's not too late: the next deadline is {summer.label}"), text


def test_a_deadline_asked_for_a_start_comes_first_or_is_said_unknown(knowledge, phrases, mism, msit):
    spring, summer = msit.deadlines()[1:]
    day = spring.date - datetime.timedelta(days=10)
    text = reply(knowledge, phrases, day, "deadlines", ["msit"], question="whats the deadline for spring?")
    assert text.splitlines()[0] == f"{spring.label}: the deadline is {said(spring.date)}, in 10 days.", text
    # MISM's rounds are all for one August start: a spring start is not one the file has a date for.
    text = reply(knowledge, phrases, day, "deadlines", ["mism"], question="mism deadline for a spring start")
    assert text.splitlines()[0].startswith("I don't have a deadline for a spring start"), text
    assert knowledge.contact.email in text.splitlines()[0]
    later = mism.deadlines()[0].date.year + 2
    text = reply(knowledge, phrases, day, "deadlines", ["mism"], question=f"deadline for fall {later}")
    assert text.splitlines()[0].startswith(f"I don't have a deadline for a fall {later} start"), text
    # The start every deadline is for changes nothing: the usual status line.
    text = reply(knowledge, phrases, day, "deadlines", ["mism"], question="deadline for the august start")
    assert text == reply(knowledge, phrases, day, "deadlines", ["mism"]), text


def test_the_bullet_a_follow_up_asks_about_comes_first(knowledge, phrases, mism, msit):
    """A tryout's "when do i get a decision" and "what if i apply after the final round" got the
    dates again, the line that answers them hidden behind "More details"."""
    day = mism.deadlines()[0].date + datetime.timedelta(days=4)
    for program, fact in (("mism", mism), ("msit", msit)):
        text = reply(knowledge, phrases, day, "deadlines", [program], question="when do i get a decision")
        decision = next(item for item in fact.items if "decision" in item)
        assert text.split("• ")[1].startswith(decision), text
    text = reply(knowledge, phrases, day, "deadlines", ["mism"], question="what if i apply after the final round")
    assert f"• {mism.late}" in text and "More details" in text, text
    # The dates move as one list, in their order, however many of them the question names.
    text = reply(knowledge, phrases, day, "deadlines", ["msit"], question="can i apply for the spring start", full=True)
    shown = [line for line in text.splitlines() if any(line.startswith(f"• {d.label}:") for d in msit.deadlines())]
    assert shown == sorted(shown, key=lambda line: [d.label for d in msit.deadlines()].index(line[2:].split(":")[0]))
    assert len(shown) == len(msit.deadlines()), text


def test_a_summary_of_both_programs_shows_the_line_each_program_has_on_what_was_asked(knowledge, phrases, mism, msit):
    """On the home page "when do i get a decision" got each program's next deadline and no word of a
    decision; a question about nothing beyond the topic's name keeps the plain summary."""
    day = mism.deadlines()[0].date + datetime.timedelta(days=4)
    text = reply(knowledge, phrases, day, "deadlines", [], question="when do i get a decision")
    for fact in (mism, msit):
        decision = next(item for item in fact.items if "decision" in item)
        assert f"◦ {decision}" in text, text
    assert "◦" not in reply(knowledge, phrases, day, "deadlines", [], question="what are the application deadlines")


def test_a_named_start_is_read_from_the_question():
    assert answers.asked_start("can i still apply for the Spring 2027 start?") == answers.Start(
        "spring", 2027, "spring 2027"
    )
    assert answers.asked_start("is there a January intake").season == "spring"
    assert answers.asked_start("what about in may").season == "summer"
    for text in ("May I apply late?", "when is the deadline", ""):
        assert answers.asked_start(text) is None, text


def test_too_late_questions_are_recognised():
    for text in ("Is it too late to apply to MISM for fall 2027?", "can I still apply?", "I missed the deadline"):
        assert answers.asks_if_too_late(text), text
    for text in ("what's the next MISM deadline?", "when do applications open?", ""):
        assert not answers.asks_if_too_late(text), text


# -- the application opening and events ----------------------------------------------------------


def test_the_application_opening_is_told_in_the_right_tense(knowledge, phrases):
    fact = knowledge.topics["application_opens"].fact
    opens = fact.dates[0]
    month = said_item(opens)
    before = reply(knowledge, phrases, opens.date - datetime.timedelta(days=20), "application_opens", [])
    assert f"{opens.label} opens in {month}." in before
    after = reply(knowledge, phrases, opens.date + datetime.timedelta(days=93), "application_opens", [])
    assert f"{opens.label} opened in {month}." in after and " opens in " not in after
    over = reply(knowledge, phrases, fact.cycle_end() + datetime.timedelta(days=1), "application_opens", [])
    assert f"These dates were for the {fact.cycle} and have all passed" in over


def test_an_undated_fact_of_a_cycle_that_is_over_is_never_told_as_current(knowledge, phrases):
    """ "For the August 2026 start (as of …): late applicants can still be considered" read as today's
    rule to a visitor in December 2026; once the cycle has ended the answer says so."""
    fact = knowledge.lookup("mism", None, "scholarships")
    assert fact.cycle and not fact.dates, "the knowledge file's example of an undated cycle fact changed"
    during = reply(knowledge, phrases, fact.cycle_end(), "scholarships", ["mism"])
    assert f"For the {fact.cycle} (as of" in during and "cycle that is over" not in during
    after = reply(knowledge, phrases, fact.cycle_end() + datetime.timedelta(days=1), "scholarships", ["mism"])
    assert f"said for the {fact.cycle}, a cycle that is over" in after and f"For the {fact.cycle}" not in after
    assert "I don't know whether it still holds" in after and knowledge.contact.email in after
    both = reply(knowledge, phrases, fact.cycle_end() + datetime.timedelta(days=1), "scholarships", [])
    assert f"said for the {fact.cycle}, a cycle that is over; it may have changed" in both


@pytest.mark.parametrize("program", ["mism", "msit"])
def test_a_past_event_is_never_offered_as_upcoming(knowledge, phrases, program):
    fact = knowledge.lookup(program, None, "events")
    event = fact.dates[0]
    before = reply(knowledge, phrases, event.date - datetime.timedelta(days=3), "events", [program])
    assert f"Next: {event.label}, {said(event.date)} (in 3 days)." in before
    for day in (event.date + datetime.timedelta(days=1), event.date + datetime.timedelta(days=400)):
        after = reply(knowledge, phrases, day, "events", [program])
        assert "Next:" not in after
        assert f"The most recent one I know of was the {event.label} on {said(event.date)}" in after
        assert "events page" in after


# -- staleness for staff -------------------------------------------------------------------------


def test_stale_facts_are_those_whose_cycle_ended_or_check_is_too_old(knowledge):
    day = datetime.date(2027, 9, 30)
    stale = {item.where: item for item in stale_facts(knowledge, day, max_age_days=120)}
    for where, _, fact in knowledge.facts():
        ended = fact.cycle_end() is not None and fact.cycle_end() < day
        old = fact.as_of is not None and (day - fact.as_of).days > 120
        assert (where in stale) == (ended or old), where
        if where in stale:
            assert stale[where].source == str(fact.source)
    assert len(stale) >= 3, "by then the August 2027 cycle and the listed events are over"


def test_admissions_logs_knowledge_stale_lists_them_with_their_sources(knowledge):
    day = datetime.date(2027, 9, 30)
    out = io.StringIO()
    assert admissions_logs(["knowledge", "--stale", "--today", day.isoformat(), "--max-age-days", "120"], out) == 0
    text = out.getvalue()
    expected = stale_facts(knowledge, day, 120)
    assert f"{len(expected)} of " in text.splitlines()[0]
    for item in expected:
        assert f"- {item.where} ({item.topic}):" in text and f"source: {item.source}" in text
    out = io.StringIO()
    admissions_logs(["knowledge", "--stale", "--today", day.isoformat(), "--json"], out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["where"] for r in records] == [item.where for item in stale_facts(knowledge, day, 120)]


def test_admissions_logs_knowledge_stale_as_installed(tmp_path):
    """The command an operator runs, with the age from STALE_AFTER_DAYS and a broken file refused."""
    binary = Path(sys.executable).parent / "admissions-logs"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "STALE_AFTER_DAYS": "1", "ASSISTANT_TODAY": "2026-12-03"}
    done = subprocess.run([str(binary), "knowledge", "--stale"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    knowledge = load_knowledge()
    expected = stale_facts(knowledge, datetime.date(2026, 12, 3), 1)
    assert f"{len(expected)} of " in done.stdout and "more than 1 days ago" in done.stdout
    broken = tmp_path / "programs.yml"
    broken.write_text(BROKEN + "        dates: [{kind: deadline, label: Round 1, date: 2026-12-01}]\n")
    env["KNOWLEDGE_FILE"] = str(broken)
    done = subprocess.run([str(binary), "knowledge", "--stale"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "a fact with dates needs a 'cycle'" in done.stderr
