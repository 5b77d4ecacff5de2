"""Every console page that changes something passes axe-core (WCAG 2.0-2.2 A/AA, serious and
critical) and its main action works from the keyboard alone, in headless Debian Chromium.

The knowledge pages and the Training page are checked in tests/e2e/browser/ with the real stack; here
the console runs on its own over Rasa-written conversations (``seed``)."""

from __future__ import annotations

import pytest

from tests.support.console_client import STAFF_PASSWORD
from tests.support.widget_harness import format_violations, launch_chromium, run_axe

pytestmark = pytest.mark.browser

PAGES = [
    "/staff/",
    "/staff/conversations/visitor-missed",
    "/staff/missed",
    "/staff/followups",
    "/staff/followups/1",
    "/staff/live",
    "/staff/live/1",
    "/staff/export",
    "/staff/erase",
]


def add_followup_and_handoff(url: str) -> None:
    """A follow-up request and a queued live chat, so their own pages (which change things) exist."""
    import time

    import sqlalchemy as sa

    from console.data.database import ConsoleDatabase, followups, handoffs

    store = ConsoleDatabase(url)
    store.create_schema()
    with store.session_scope() as connection:
        connection.execute(
            sa.insert(followups).values(
                id=1,
                event_id=999999,
                sender_id="visitor-missed",
                submitted_at=time.time(),
                name="Mary Smith",
                email="mary@example.com",
                program="msit",
                question="Can I defer?",
                consent=True,
            )
        )
        connection.execute(
            sa.insert(handoffs).values(
                id=1, sender_id="visitor-missed", status="queued", key_hash="k" * 64, requested_at=time.time()
            )
        )
    store.dispose()


def test_the_pages_that_change_something_pass_axe_and_work_from_the_keyboard(live_console, chromium_path):
    console_url, database_url = live_console
    add_followup_and_handoff(database_url)
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, chromium_path)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
            page.goto(f"{console_url}/staff/login")
            page.get_by_label("User name").fill("admissions")
            page.get_by_label("Password").fill(STAFF_PASSWORD)
            page.keyboard.press("Enter")
            expect(page.get_by_role("heading", name="Conversations")).to_be_visible()
            for path in PAGES:
                response = page.goto(f"{console_url}{path}")
                assert response is not None and response.ok, path
                violations = run_axe(page)
                assert violations == [], f"{path}: {format_violations(violations)}"

            # Keyboard only: assign a missed question to a topic, then find a conversation to erase.
            page.goto(f"{console_url}/staff/missed")
            select = page.get_by_label("Topic this question is about").first
            select.focus()
            page.keyboard.press("End")  # the last choice: none of these / out of scope
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.textContent").startswith("Assign topic")
            page.keyboard.press("Enter")
            expect(page.get_by_text("to “None of these / out of scope”")).to_be_visible()

            page.goto(f"{console_url}/staff/erase")
            page.get_by_label("Conversation id or reference").focus()
            page.keyboard.type("visitor-missed")
            page.keyboard.press("Enter")
            expect(page.get_by_role("heading", name="Erase this for good?")).to_be_visible()
            violations = run_axe(page)
            assert violations == [], f"erase confirmation: {format_violations(violations)}"
            page.get_by_role("button", name="Erase permanently").focus()
            page.keyboard.press("Enter")
            expect(page.get_by_text("Erased 1 conversation")).to_be_visible()
        finally:
            browser.close()
