"""Date-relative answers through the real Rasa server and action server, on days set with ASSISTANT_TODAY.

One Rasa server; the action server is restarted with each day (``ASSISTANT_TODAY`` is read by the
action server, as an operator previewing a future date would set it). The visitors' questions are
the ones from the issue, asked from the home page and from each program's page; the expected dates
and labels come from the knowledge file.
"""

from __future__ import annotations

import datetime
import os
from typing import Iterator
from unittest import mock

import pytest

from core.timeline import deadlines
from ops.launcher import Stack, settings_on_free_ports
from tests.support.chat import ask, shown

pytestmark = pytest.mark.slow


def said(day: datetime.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


@pytest.fixture(scope="module")
def dated_stack(trained_model, tmp_path_factory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("dates")
    stack = Stack(
        settings_on_free_ports(f"sqlite:///{folder / 'conversations.db'}"), model=trained_model, log_dir=folder
    )
    try:
        stack.start_actions()
        stack.start_rasa()
        yield stack
    finally:
        stack.stop()


def on_day(stack: Stack, day: datetime.date) -> None:
    """Restart the action server as if today were ``day``."""
    stack.stop_process("actions")
    with mock.patch.dict(os.environ, {"ASSISTANT_TODAY": day.isoformat()}):
        stack.start_actions()


def test_next_deadlines_and_too_late_on_three_days(dated_stack, knowledge):
    mism, msit = (knowledge.lookup(p, None, "deadlines") for p in ("mism", "msit"))
    rounds = mism.deadlines()
    days = [rounds[0].date + datetime.timedelta(days=2), rounds[-1].date + datetime.timedelta(days=1)]
    days.append(mism.cycle_end() + datetime.timedelta(days=1))
    for day in days:
        on_day(dated_stack, day)
        status = deadlines(mism, day)
        for page in (None, "mism"):
            text = shown(ask(dated_stack, "what's the next MISM deadline?", program=page))
            late = shown(ask(dated_stack, "Is it too late to apply to MISM for fall 2027?", program=page))
            if status.cycle_over:
                assert f"These dates were for the {mism.cycle} and have all passed" in text, text
                assert "The next deadline" not in text
            elif status.next is not None:
                days_left = (status.next.date - day).days
                assert (
                    f"The next deadline is {status.next.label}: {said(status.next.date)}, in {days_left} days" in text
                )
                assert f"{status.closed[0].label} ({said(status.closed[0].date)}) has closed." in text
                assert f"No, it's not too late: the next deadline is {status.next.label}" in late, late
            else:
                assert f"The last deadline has passed: {rounds[-1].label} ({said(rounds[-1].date)})" in text
                assert mism.late in text and knowledge.contact.email in text
                assert "Yes, the last deadline has passed" in late, late
        msit_status = deadlines(msit, day)
        for page in (None, "msit"):
            text = shown(ask(dated_stack, "when is the next deadline for the online MSIT?", program=page))
            if msit_status.cycle_over:
                assert f"These dates were for the {msit.cycle} and have all passed" in text, text
            else:
                nxt = msit_status.next
                assert nxt is not None
                assert f"The next deadline is {nxt.label}: {said(nxt.date)}, in {(nxt.date - day).days} days" in text


def test_the_application_opening_and_events_from_the_home_page(dated_stack, knowledge):
    opens = knowledge.topics["application_opens"].fact.dates[0]
    event = knowledge.lookup("mism", None, "events").dates[0]
    on_day(dated_stack, opens.date + datetime.timedelta(days=93))
    text = shown(ask(dated_stack, "When do applications open?"))
    assert f"{opens.label} opened in {opens.date:%B} {opens.date.year}." in text, text
    text = shown(ask(dated_stack, "are there any upcoming info sessions?", program="mism"))
    assert "Next:" not in text and f"The most recent one I know of was the {event.label}" in text, text


def test_too_late_for_a_closed_start_says_so_and_gives_the_next_one(dated_stack, knowledge):
    """A tryout's visitor on the MSIT page asked "can i still apply for the spring 2027 start?" after
    that deadline and heard "No, it's not too late" (about the summer start)."""
    msit = knowledge.lookup("msit", None, "deadlines")
    spring, summer = msit.deadlines()[1:]
    on_day(dated_stack, spring.date + datetime.timedelta(days=34))
    question = f"can i still apply for the spring {spring.date.year + 1} start?"
    text = shown(ask(dated_stack, question, program="msit"))
    assert f"Yes, that deadline has passed: {spring.label} ({said(spring.date)})." in text, text
    assert f"The next deadline is {summer.label}: {said(summer.date)}" in text and "not too late" not in text, text
