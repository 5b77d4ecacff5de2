"""End-to-end: the chat widget in headless Chromium against the real stack.

Uses the session-scoped ``stack`` fixture from ``tests/conftest.py`` (action server + Rasa server
with the trained model + web server, each on a free port). Covers the visitor's journey by keyboard,
quick replies, a real answer with a working link, history after a reload, XSS safety, the Rasa
server going away and coming back, axe-core, and screenshots. The screenshots go to
tests/.artifacts/screenshots/ (git-ignored: a test never writes tracked files); copy them to
docs/screenshots/ by hand when the README's pictures should change.
"""

from __future__ import annotations

import re

import pytest

from tests.support.widget_harness import (
    CONTACT,
    SCREENSHOT_DIR,
    UNREACHABLE_EMAIL,
    WidgetPage,
    after_failed_image_loads,
    format_violations,
    run_axe,
    serious,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOT_TIMEOUT_MS = 30000
SIXTEEN_MONTHS = re.compile(r"\b16[\s-]*months?\b", re.I)


def tab_until(page, selector: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def focused_is(page, cls: str) -> bool:
    return page.evaluate("c => !!document.activeElement && document.activeElement.classList.contains(c)", cls)


def settle(page) -> None:
    """Wait until no request of the widget is in flight (typing indicator gone)."""
    page.wait_for_function("() => document.querySelector('.hc-typing').hidden", timeout=BOT_TIMEOUT_MS)


def new_bot_messages(page, before: int):
    settle(page)
    return page.locator(".hc-msg--bot").all()[before:]


def ask(page, text: str):
    """Type ``text``, press Enter, return the locators of the bot messages that answered it."""
    w = WidgetPage(page)
    before = w.bot_count()
    w.send(text)
    w.wait_bot_count(before + 1, BOT_TIMEOUT_MS)
    return new_bot_messages(page, before)


def open_by_keyboard(page, web_url: str) -> WidgetPage:
    page.goto(web_url)
    page.wait_for_selector(".hc-launcher")
    tab_until(page, ".hc-launcher")
    page.keyboard.press("Enter")
    assert focused_is(page, "hc-input"), "opening the chat must put focus in the message box"
    w = WidgetPage(page)
    w.wait_bot_count(1, BOT_TIMEOUT_MS)  # the greeting payload was sent on first open
    settle(page)
    return w


def test_visitor_journey(page, stack):
    w = open_by_keyboard(page, stack.web_url)
    greeting = page.locator(".hc-msg--bot").first
    assert greeting.inner_text().strip()
    quick = page.locator(".hc-quick-btn")
    assert quick.count() >= 1, "the greeting offers quick replies"

    # quick reply: its title becomes the visitor's bubble and the bot answers
    title = quick.first.inner_text()
    before = w.bot_count()
    quick.first.click()
    w.wait_bot_count(before + 1, BOT_TIMEOUT_MS)
    settle(page)
    assert page.locator(".hc-msg--user .hc-bubble").last.inner_text() == title
    assert page.locator(".hc-msg--bot").nth(before).inner_text().strip()

    # a typed question with a real answer and a working link
    answer = ask(page, "How long is the MISM program?")
    text = "\n".join(m.inner_text() for m in answer)
    assert SIXTEEN_MONTHS.search(text), text
    links = [a for m in answer for a in m.locator("a[href^='https://']").all()]
    heinz = [a for a in links if re.match(r"https://(www\.)?heinz\.cmu\.edu/", a.get_attribute("href"))]
    assert heinz, f"no heinz.cmu.edu link in: {text}"
    for a in heinz:
        assert a.get_attribute("target") == "_blank"
        assert "noopener" in a.get_attribute("rel").split()
        assert a.is_visible()
    # the link really works as a link: clicking opens the official page in a new tab
    page.context.route("https://**/*", lambda route: route.fulfill(status=200, body="official page"))
    with page.context.expect_page() as popup_info:
        heinz[0].click()
    popup = popup_info.value
    assert popup.url == heinz[0].get_attribute("href")
    popup.close()
    page.context.unroute("https://**/*")

    # the answer can be rated once; "not helpful" asks what the visitor was looking for
    rated = answer[-1]
    before = w.bot_count()
    rated.get_by_role("button", name="This answer was not helpful", exact=True).click()
    w.wait_bot_count(before + 1, BOT_TIMEOUT_MS)
    settle(page)
    assert "what were you looking for?" in page.locator(".hc-msg--bot").nth(before).inner_text()
    assert rated.get_by_role("button", name="This answer was helpful", exact=True).is_disabled()
    assert "Thanks for your feedback" in rated.inner_text()

    # reload: the same conversation with its history
    count = page.locator(".hc-msg").count()
    page.reload()
    page.wait_for_selector(".hc-panel", state="visible")
    assert page.locator(".hc-msg").count() == count
    assert "How long is the MISM program?" in w.log_text()
    assert SIXTEEN_MONTHS.search(w.log_text())
    assert page.locator(".hc-feedback-btn[aria-pressed=true]").all_inner_texts() == ["Not helpful"]

    # markup typed by the visitor is shown as text and never executed
    payload = "<img src=x onerror=alert(1)>"
    ask(page, payload)
    assert page.locator(".hc-msg--user .hc-bubble").last.inner_text() == payload
    assert page.locator(".hc-log img").count() == 0
    after_failed_image_loads(page)
    assert page.dialogs == []

    # Escape closes and gives focus back to the launcher
    page.focus(".hc-input")
    page.keyboard.press("Escape")
    assert page.locator(".hc-panel").is_hidden()
    assert focused_is(page, "hc-launcher")
    assert page.js_errors == []


def test_rasa_down_then_back(page, stack):
    w = open_by_keyboard(page, stack.web_url)
    stack.stop_rasa()
    try:
        w.send("What are the MSIT deadlines?")
        notice = page.locator(".hc-notice--error")
        notice.wait_for(timeout=15000)  # connection refused is immediate; 10 s time-out at most
        assert UNREACHABLE_EMAIL in notice.inner_text()
        assert CONTACT.phone in notice.inner_text()
        failed = page.locator(".hc-msg--user").last
        assert failed.locator(".hc-bubble").inner_text() == "What are the MSIT deadlines?"
        assert failed.locator(".hc-retry").is_visible()
    finally:
        stack.start_rasa()
    # the widget notices by itself (health check) and says so
    page.locator(".hc-notice--ok").wait_for(timeout=240000)
    assert "Reconnected" in page.locator(".hc-notice--ok").inner_text()

    before = w.bot_count()
    page.locator(".hc-retry").click()  # the kept message can be sent again
    w.wait_bot_count(before + 1, BOT_TIMEOUT_MS)
    assert page.locator(".hc-retry").count() == 0
    answer = ask(page, "How long is the MISM program?")
    assert SIXTEEN_MONTHS.search("\n".join(m.inner_text() for m in answer))


def test_axe_closed_and_mid_conversation(page, stack):
    page.goto(stack.web_url)
    page.wait_for_selector(".hc-launcher")
    closed = run_axe(page)
    assert not serious(closed), format_violations(closed)

    open_by_keyboard(page, stack.web_url)
    page.locator(".hc-quick-btn").first.click()
    settle(page)
    ask(page, "How long is the MISM program?")
    opened = run_axe(page)
    assert not serious(opened), format_violations(opened)
    print("\naxe (closed):", len(closed), "violations; (open):", len(opened), "violations")


@pytest.mark.parametrize(
    "name,viewport",
    [("widget-desktop", {"width": 1280, "height": 800}), ("widget-phone", {"width": 360, "height": 740})],
)
def test_screenshots(chromium, stack, name, viewport):
    ctx = chromium.new_context(viewport=viewport, device_scale_factor=1, reduced_motion="reduce")
    pg = ctx.new_page()
    try:
        pg.goto(stack.web_url)
        w = WidgetPage(pg)
        w.open_with_mouse()
        w.wait_bot_count(1, BOT_TIMEOUT_MS)
        settle(pg)
        ask(pg, "How long is the MISM program?")
        pg.locator(".hc-input").blur()
        # mid-conversation: the visitor's question at the top of the view, the answer below it
        pg.evaluate(
            """() => {
                const body = document.querySelector('.hc-body');
                const users = body.querySelectorAll('.hc-msg--user');
                const q = users[users.length - 1];
                body.scrollTop = q.offsetTop - body.offsetTop - 60;
            }"""
        )
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"))
    finally:
        ctx.close()
