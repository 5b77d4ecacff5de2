"""Staff keep the knowledge themselves, in headless Chromium against the real stack (action server,
Rasa, web server, as ``make run`` starts it):

* an editor fills the English-test minimums with a sourced fact, and a visitor asking about TOEFL
  in the widget gets it within 10 s of the save, with no restart;
* an editor corrects a deadline, then reverts it from the history;
* a viewer can do none of it;
* the knowledge pages pass axe-core (WCAG A/AA) and the edit form works from the keyboard.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Iterator

import pytest

from ops.launcher import Stack
from tests.support.staff_stack import staff_stack
from tests.support.widget_harness import WidgetPage, format_violations, run_axe

pytestmark = pytest.mark.browser

EDITOR, VIEWER, PASSWORD = "ann", "reader", "correct horse battery"
SOURCE = "https://www.heinz.cmu.edu/admissions/checklist/test-example"


@pytest.fixture(scope="module")
def knowledge_stack(trained_model: Path, tmp_path_factory) -> Iterator[Stack]:
    """A stack of its own: these tests change what the assistant answers."""
    with staff_stack(
        trained_model, tmp_path_factory.mktemp("knowledge-stack"), EDITOR, PASSWORD, {VIEWER: "viewer"}
    ) as running:
        yield running


@pytest.fixture
def staff_page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # axe is injected
    yield context.new_page()
    context.close()


def log_in(page, stack: Stack, user: str) -> None:
    page.goto(f"{stack.web_url}/staff/knowledge")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Knowledge", exact=True).wait_for()


def assert_accessible(page, where: str) -> None:
    violations = run_axe(page)
    assert violations == [], f"{where}: {format_violations(violations)}"


def test_an_editor_fills_a_known_unknown_and_a_visitor_gets_it_within_10_s(knowledge_stack, staff_page, page):
    from playwright.sync_api import expect

    log_in(staff_page, knowledge_stack, EDITOR)
    assert_accessible(staff_page, "knowledge list")
    staff_page.get_by_role("link", name=re.compile(r"^Unknown \(\d+\)$")).click()
    staff_page.get_by_role("link", name="Fill English tests for All programs").click()
    assert_accessible(staff_page, "edit form")
    filled = "Browser test minimums: TOEFL iBT 102, IELTS 7.5."
    # The keyboard path: the form's fields in order, then Save.
    staff_page.get_by_label("Text").fill(filled)
    staff_page.get_by_label("Official source").fill(SOURCE)
    staff_page.get_by_label("Why this change").fill("the admissions office confirmed the minimums")
    staff_page.get_by_label("Why this change").focus()
    staff_page.keyboard.press("Tab")  # the Preview button
    staff_page.keyboard.press("Tab")  # Save
    staff_page.keyboard.press("Enter")
    expect(staff_page.get_by_text(re.compile(r"Saved as version \d+"))).to_be_visible()
    saved = time.monotonic()
    expect(staff_page.locator(".preview-bot.hc-rendered").first).to_contain_text("TOEFL iBT 102")
    assert_accessible(staff_page, "fact page")

    page.goto(knowledge_stack.web_url)
    widget = WidgetPage(page)
    widget.open_with_mouse()
    reply = widget.ask("What TOEFL score do I need?")
    while filled not in reply and time.monotonic() - saved < 10:
        time.sleep(0.5)
        reply = widget.ask("What is the minimum TOEFL score?")
    took = time.monotonic() - saved
    assert filled in reply, reply
    assert took <= 10, f"the visitor got the new answer {took:.1f} s after the save"


def test_an_editor_corrects_a_deadline_then_reverts_it(knowledge_stack, staff_page):
    from playwright.sync_api import expect

    log_in(staff_page, knowledge_stack, EDITOR)
    staff_page.get_by_label("Program").select_option("msit")
    staff_page.get_by_label("Topic").select_option(label="deadlines")
    staff_page.get_by_role("button", name="Filter").click()
    staff_page.get_by_role("link", name="Edit deadlines for MSIT").click()
    day = staff_page.get_by_label("Day of date 2")
    before = day.input_value()
    day.fill("2026-11-15")
    staff_page.get_by_label("Why this change").fill("the page moved the spring deadline")
    staff_page.get_by_role("button", name="Save").click()
    expect(staff_page.get_by_text(re.compile(r"Saved as version \d+"))).to_be_visible()
    expect(staff_page.locator(".fact")).to_contain_text("2026-11-15")
    expect(staff_page.locator(".diff").first).to_contain_text("+")
    staff_page.get_by_role("button", name=re.compile(r"^Revert version \d+$")).first.click()
    expect(staff_page.get_by_text(re.compile(r"Version \d+ reverted"))).to_be_visible()
    expect(staff_page.locator(".fact")).to_contain_text(before)
    expect(staff_page.locator(".fact")).not_to_contain_text("2026-11-15")


def test_a_viewer_reads_the_knowledge_but_can_change_nothing(knowledge_stack, staff_page):
    from playwright.sync_api import expect

    log_in(staff_page, knowledge_stack, VIEWER)
    expect(staff_page.get_by_text("Your account reads only.")).to_be_visible()
    expect(staff_page.get_by_role("link", name=re.compile(r"^(Fill|Edit) "))).to_have_count(0)
    staff_page.goto(f"{knowledge_stack.web_url}/staff/knowledge/edit?path=topics.english_tests.fact")
    expect(staff_page.get_by_text("Your account can read the console but not change it")).to_be_visible()
    staff_page.goto(f"{knowledge_stack.web_url}/staff/knowledge/fact?path=programs.msit.facts.deadlines")
    expect(staff_page.get_by_role("button", name=re.compile("^Revert"))).to_have_count(0)
