"""Live hand-off and follow-up requests end to end in two browser contexts: a visitor in the chat
widget and an admissions officer in the staff console, against the real stack (action server, Rasa
with the trained model, web server) on SQLite.

1. The officer marks themselves available.
2. The visitor asks for a person and accepts the live chat.
3. The officer claims the conversation; two messages go each way.
4. The officer hands back, and the assistant answers the next question.

The time from the officer pressing Send to the text appearing in the widget is printed (it is a
figure for docs/benchmarks.md, not asserted: timings belong to bench/, not to tests).
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import time
import urllib.request

import pytest

from tests.support.widget_harness import WidgetPage, format_violations, run_axe, serious

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OFFICER, OFFICER_NAME = "officer", "Jane Officer"
TIMEOUT_MS = 30000


@pytest.fixture(scope="module")
def officer_password(stack) -> str:
    """A staff login in the stack's own database (as `admissions-logs set-password` makes one)."""
    from console.console import Console

    password = secrets.token_urlsafe(12)
    console = Console(stack.settings)
    try:
        console.prepare()
        console.auth.set_password(OFFICER, password)
    finally:
        console.close()
    return password


def log_in(page, web_url: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{web_url}/staff/login")
    page.get_by_label("User name").fill(OFFICER)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Conversations")).to_be_visible()


def open_chat(page, url: str) -> WidgetPage:
    """Open the chat on a page of the demo site and wait for the greeting."""
    page.goto(url)
    widget = WidgetPage(page)
    widget.open_with_mouse()
    widget.wait_bot_count(1, TIMEOUT_MS)
    return widget


def staff_events(stack, sender: str):
    url = f"{stack.rasa_url}/conversations/{sender}/tracker?token={stack.token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())["events"]


def test_a_visitor_chats_with_an_officer_who_hands_back_to_the_assistant(stack, officer_password, chromium):
    from playwright.sync_api import expect

    staff_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    visitor_context = chromium.new_context(viewport={"width": 1280, "height": 800})
    for context in (staff_context, visitor_context):
        context.set_default_timeout(TIMEOUT_MS)
    try:
        staff = staff_context.new_page()
        visitor = visitor_context.new_page()
        errors: list = []
        visitor.on("pageerror", lambda exc: errors.append(str(exc)))
        staff.on("pageerror", lambda exc: errors.append(str(exc)))

        # 1. The officer marks themselves available.
        log_in(staff, stack.web_url, officer_password)
        staff.get_by_role("link", name="Live chat").first.click()
        staff.get_by_label("Name visitors see").fill(OFFICER_NAME)
        staff.get_by_role("button", name="Mark me available").click()
        expect(staff.get_by_text("You are available.")).to_be_visible()

        # 2. The visitor asks for a person and accepts.
        widget = open_chat(visitor, f"{stack.web_url}/mism")
        assert "available to chat with you now" in widget.ask("Can I talk to a real person?")
        visitor.get_by_role("button", name="Chat with an admissions officer").click()
        expect(visitor.locator(".hc-msg--bot", has_text="You're in the queue")).to_be_visible()
        expect(visitor.locator(".hc-handoff-status")).to_have_text("Waiting for an admissions officer…")
        sender = visitor.evaluate("() => JSON.parse(localStorage.getItem('heinz-chat:v1')).id")

        # 3. The officer sees the queue count and claims the conversation.
        staff.reload()
        expect(staff.locator("nav")).to_contain_text("Live chat (1)")
        staff.get_by_role("button", name="Claim").click()
        joined = f"{OFFICER_NAME} from Heinz College Admissions has joined"
        expect(visitor.locator(".hc-msg--announce", has_text=joined)).to_be_visible()
        expect(visitor.locator(".hc-handoff-status")).to_have_text(f"Chatting with {OFFICER_NAME}, admissions officer")

        latencies = []
        for text in ("Hi, I'm Jane from admissions. How can I help?", "Deferrals are decided case by case."):
            staff.get_by_label("Your reply").fill(text)
            started = time.monotonic()
            staff.get_by_role("button", name="Send").click()
            expect(visitor.locator(".hc-msg--staff", has_text=text)).to_be_visible()
            latencies.append(time.monotonic() - started)
            expect(visitor.locator(".hc-msg--staff .hc-staff-name").last).to_have_text(
                f"{OFFICER_NAME} (admissions officer)"
            )
        # The widget in live-chat mode (bar, officer's messages, announcements) stays accessible.
        violations = run_axe(visitor)
        assert not serious(violations), format_violations(violations)

        for text in ("Can I defer my admission by a year?", "Thanks, who decides that?"):
            bots_before = widget.bot_count()
            widget.send(text)
            expect(staff.locator("#live-chat", has_text=text)).to_be_visible()
            assert widget.bot_count() == bots_before, "the assistant must stay quiet while the officer chats"

        # 4. The officer hands back; the assistant answers the next question.
        staff.get_by_role("button", name="Hand back to the assistant").click()
        expect(staff.get_by_text("Handed back to the assistant.")).to_be_visible()
        expect(visitor.locator(".hc-msg--announce", has_text="handed the chat back to me")).to_be_visible()
        expect(visitor.locator(".hc-handoff")).to_be_hidden()
        answer = widget.ask("How long is the MISM program?")
        assert "Program length" in answer or "months" in answer

        # Everything is in the conversation itself, with who wrote it.
        events = staff_events(stack, sender)
        by_staff = [e for e in events if e.get("event") == "bot" and (e.get("metadata") or {}).get("handoff")]
        kinds = [e["metadata"]["handoff"] for e in by_staff]
        assert kinds == ["joined", "message", "message", "handed_back"]
        assert {e["metadata"]["staff"] for e in by_staff} == {OFFICER_NAME}
        visitor_texts = [e.get("text") for e in events if e.get("event") == "user"]
        assert "Can I defer my admission by a year?" in visitor_texts
        assert not errors, errors
        print(f"\nstaff Send -> text in the widget: {', '.join(f'{s * 1000:.0f} ms' for s in latencies)}")
    finally:
        staff_context.close()
        visitor_context.close()


def test_with_nobody_available_a_visitor_leaves_a_follow_up_that_staff_work_on(stack, officer_password, chromium):
    """Nobody is available: the visitor fills the follow-up form in the widget, and the request
    appears in the console's Follow-ups inbox, where staff mark it answered."""
    from playwright.sync_api import expect

    from console.console import Console

    console = Console(stack.settings)
    try:
        console.prepare()
        console.live.handoffs.set_available(OFFICER, OFFICER_NAME, False)
    finally:
        console.close()

    visitor_context = chromium.new_context(viewport={"width": 1280, "height": 800})
    staff_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    for context in (staff_context, visitor_context):
        context.set_default_timeout(TIMEOUT_MS)
    try:
        visitor = visitor_context.new_page()
        widget = open_chat(visitor, f"{stack.web_url}/msit")
        offer = widget.ask("Can I talk to someone from admissions?")
        assert "No admissions officer is free" in offer and "e-mail you back" in offer
        expect(visitor.get_by_role("button", name="Chat with an admissions officer")).to_have_count(0)

        visitor.get_by_role("button", name="Leave a follow-up request").click()
        expect(visitor.locator(".hc-msg--bot", has_text="What's your name?")).to_be_visible()
        for typed, next_prompt in (
            ("Priya Natarajan", "Which e-mail address"),
            ("priya.n@example.com", "Which program"),
        ):
            widget.ask(typed)
            expect(visitor.locator(".hc-msg--bot", has_text=next_prompt).last).to_be_visible()
        visitor.get_by_role("button", name="MSIT (online, part-time)").click()
        expect(visitor.locator(".hc-msg--bot", has_text="What would you like to ask them?")).to_be_visible()
        widget.ask("Can I switch from part-time to full-time later?")
        visitor.get_by_role("button", name="Yes, contact me").click()
        expect(visitor.locator(".hc-msg--bot", has_text="Thank you, Priya Natarajan!")).to_be_visible()

        staff = staff_context.new_page()
        log_in(staff, stack.web_url, officer_password)
        staff.get_by_role("link", name=re.compile("^Follow-ups")).click()
        row = staff.get_by_role("row", name=re.compile("Priya Natarajan"))
        expect(row).to_contain_text("Can I switch from part-time to full-time later?")
        row.get_by_role("link").first.click()
        expect(staff.get_by_role("link", name="priya.n@example.com")).to_be_visible()
        staff.get_by_label("Status").select_option("answered")
        staff.get_by_label("Assignee").fill(OFFICER_NAME)
        staff.get_by_label("Notes").fill("Replied by e-mail about switching.")
        staff.get_by_role("button", name="Save").click()
        expect(staff.locator(".badge-followup-answered")).to_be_visible()
        expect(staff.get_by_label("Notes")).to_have_value("Replied by e-mail about switching.")
    finally:
        staff_context.close()
        visitor_context.close()


def test_the_visitor_can_end_a_live_chat_from_the_widget(stack, chromium):
    """ "End chat" in the widget (keyboard-reachable, named) ends the hand-off for both sides, and
    the assistant answers again."""
    from playwright.sync_api import expect

    from console.console import Console

    # The console of this test stores the officer's announcement through Rasa's API, as the web server does.
    console = Console(dataclasses.replace(stack.settings, rasa_token=stack.token))
    console.prepare()
    console.live.handoffs.set_available(OFFICER, OFFICER_NAME, True)
    visitor_context = chromium.new_context(viewport={"width": 1280, "height": 800})
    visitor_context.set_default_timeout(TIMEOUT_MS)
    try:
        visitor = visitor_context.new_page()
        widget = open_chat(visitor, f"{stack.web_url}/")
        widget.ask("is there a real person I could talk to?")
        visitor.get_by_role("button", name="Chat with an admissions officer").click()
        expect(visitor.locator(".hc-handoff-status")).to_have_text("Waiting for an admissions officer…")
        sender = visitor.evaluate("() => JSON.parse(localStorage.getItem('heinz-chat:v1')).id")
        handoff = console.live.handoffs.open_for(sender)
        assert handoff is not None
        console.live.claim(handoff.id, OFFICER, OFFICER_NAME)
        expect(visitor.locator(".hc-handoff-status")).to_contain_text(OFFICER_NAME)

        end = visitor.get_by_role("button", name="End chat with the admissions officer")
        end.focus()
        visitor.keyboard.press("Enter")
        expect(visitor.locator(".hc-msg--announce", has_text="You ended the chat")).to_be_visible()
        expect(visitor.locator(".hc-handoff")).to_be_hidden()
        assert console.live.handoffs.open_for(sender) is None
        assert "deadline" in widget.ask("What are the MSIT deadlines?").lower()
    finally:
        console.live.handoffs.set_available(OFFICER, OFFICER_NAME, False)
        console.close()
        visitor_context.close()
