"""Widget-only browser tests against a fake Rasa REST server (no model needed, a few seconds each).

They pin the widget's own behaviour: the embed snippet, page context (program and page URL sent
as metadata), the contact from the page's data-* attributes, rendering and XSS safety, link rules,
localStorage history, quick replies, input guards, time-out / unreachable handling and recovery,
keyboard use, small screens and axe-core. The end-to-end flow with the real bot is in
``test_widget_e2e.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import urlencode

import pytest

from tests.support.widget_harness import (
    CONTACT,
    CONTACT_DATA,
    GREETING,
    NAMED_LINKS_URL,
    PROGRAM_BUTTONS,
    RATED_ANSWER,
    UNREACHABLE_EMAIL,
    WidgetPage,
    after_failed_image_loads,
    format_violations,
    run_axe,
    serious,
)

pytestmark = pytest.mark.browser

STORAGE_KEY = "heinz-chat:v1"


def embed_url(host_page, fake_rasa, contact=True, **data) -> str:
    """The bare host page embedding the widget with ``data-<key>`` attributes (and the contact, as the
    demo site renders it from the knowledge file, unless ``contact=False``)."""
    params = {"server-url": fake_rasa.url, **(CONTACT_DATA if contact else {})}
    params.update({k.replace("_", "-"): str(v) for k, v in data.items()})
    return f"{host_page.url}/?{urlencode(params)}"


def stored(page) -> dict:
    return json.loads(page.evaluate("k => localStorage.getItem(k)", STORAGE_KEY) or "null")


def page_metadata(fake_state) -> list:
    """Each received message's metadata without the live-chat key (checked on its own)."""
    return [{k: v for k, v in (meta or {}).items() if k != "handoff_key"} for meta in fake_state.metadata()]


def open_fresh(page, url) -> WidgetPage:
    page.goto(url)
    w = WidgetPage(page)
    w.open_with_mouse()
    w.wait_bot_count(1)
    return w


def tab_until(page, selector: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


# ------------------------------------------------------------------------------ embedding


def test_one_script_tag_embeds_the_widget(page, host_page, fake_rasa, fake_state):
    page.goto(embed_url(host_page, fake_rasa, title="Test Assistant", greeting_payload="/greet"))
    launcher = page.locator(".hc-launcher")
    launcher.wait_for()
    # the stylesheet next to the script was loaded automatically
    assert page.evaluate("getComputedStyle(document.querySelector('.hc-launcher')).position") == "fixed"
    assert launcher.get_attribute("aria-expanded") == "false"
    assert page.locator(".hc-panel").is_hidden()
    assert fake_state.messages() == []  # nothing is sent before the visitor opens the chat

    launcher.click()
    panel = page.locator("[role=dialog]")
    assert panel.is_visible()
    assert panel.get_attribute("aria-modal") == "false"
    title_id = panel.get_attribute("aria-labelledby")
    assert page.locator(f"#{title_id}").inner_text() == "Test Assistant"
    WidgetPage(page).wait_bot_count(1)
    assert GREETING in page.locator(".hc-msg--bot").first.inner_text()
    assert fake_state.messages() == ["/greet"]
    assert page.locator(".hc-privacy").inner_text() == (
        "Conversations are stored to improve this service. Please don't share personal details."
    )
    assert page.js_errors == []


def test_init_api_without_data_attributes(page, host_page, fake_rasa):
    page.goto(f"{host_page.url}/?auto-init=false")
    assert page.locator(".hc-root").count() == 0
    # init + open in one task: the injected stylesheet cannot have loaded yet, so the widget is
    # still hidden; focus must land in the message box once it is shown
    page.evaluate(
        "url => { window.HeinzChat.init({serverUrl: url, title: 'Via init'}); window.HeinzChat.open(); }",
        fake_rasa.url,
    )
    page.wait_for_function("() => document.activeElement.classList.contains('hc-input')", timeout=5000)
    w = WidgetPage(page)
    w.wait_bot_count(1)
    assert page.locator(".hc-title").inner_text() == "Via init"
    assert page.evaluate("document.querySelectorAll('link[href$=\"chat-widget.css\"]').length") == 1


def test_page_button_with_data_attribute_opens_chat(page, fake_web, fake_rasa):
    page.goto(fake_web.url)
    page.click("[data-heinz-chat-open]")
    assert page.locator(".hc-panel").is_visible()
    assert page.evaluate("document.activeElement.classList.contains('hc-input')")


# ------------------------------------------------------------------------------ page context


def test_every_message_carries_the_page_program_and_url(page, fake_web, fake_rasa, fake_state):
    mism = f"{fake_web.url}/mism"
    w = open_fresh(page, mism)  # greeting
    page.click(".hc-quick-btn >> nth=0")  # quick reply
    w.wait_bot_count(2)
    w.ask("How do I apply?")  # typed
    assert fake_state.messages() == ["/greet", "/ask_deadlines", "How do I apply?"]
    # Every message also carries the SHA-256 of the conversation's live-chat secret (docs/handoff.md):
    # the same for the whole conversation, never the secret itself.
    keys = {meta.pop("handoff_key") for meta in fake_state.metadata()}
    secret = stored(page)["secret"]
    assert keys == {hashlib.sha256(secret.encode()).hexdigest()} and secret not in json.dumps(fake_state.received)
    assert fake_state.metadata() == [{"program": "mism", "page_url": mism}] * 3

    # the same conversation continues on the home page, which names no program
    sender = stored(page)["id"]
    page.goto(f"{fake_web.url}/?from=mism")
    page.wait_for_selector(".hc-panel", state="visible")
    assert page.locator(".hc-msg--user .hc-bubble").all_inner_texts() == ["Application deadlines", "How do I apply?"]
    w.ask("And the fee?")
    assert fake_state.received[-1] == {
        "sender": sender,
        "message": "And the fee?",
        "metadata": {"page_url": f"{fake_web.url}/?from=mism", "handoff_key": keys.pop()},
    }

    # ...and on the MSIT page the next message says MSIT
    page.goto(f"{fake_web.url}/msit")
    page.wait_for_selector(".hc-panel", state="visible")
    w.ask("How do I apply?")
    assert fake_state.received[-1]["sender"] == sender
    assert fake_state.received[-1]["metadata"]["program"] == "msit"
    assert fake_state.received[-1]["metadata"]["page_url"] == f"{fake_web.url}/msit"
    assert fake_state.messages().count("/greet") == 1  # one conversation, greeted once
    assert page.js_errors == []


def test_program_option_of_the_init_api(page, host_page, fake_rasa, fake_state):
    page.goto(f"{host_page.url}/?auto-init=false")
    page.evaluate(
        "url => window.HeinzChat.init({serverUrl: url, program: ' msit ', strings: {send: 'Ask', notSent: 1}})",
        fake_rasa.url,
    )
    w = WidgetPage(page)
    w.open_with_mouse()
    w.wait_bot_count(1)
    w.ask("hello")
    assert page_metadata(fake_state) == [{"program": "msit", "page_url": page.url}] * 2
    # the texts of the STRINGS table can be overridden one by one (non-strings are ignored)
    assert page.locator(".hc-send").inner_text() == "Ask"
    assert page.locator(".hc-input").get_attribute("placeholder") == "Type your question…"


def test_retry_sends_the_program_of_the_page_it_is_retried_from(page, host_page, fake_rasa, fake_state):
    url = embed_url(host_page, fake_rasa, program="mism", health_interval_ms=300)
    w = open_fresh(page, url)
    fake_state.status = 500
    w.send("deadlines?")
    page.locator(".hc-retry").wait_for()
    fake_state.status = 200
    page.locator(".hc-notice--ok").wait_for(timeout=10000)
    page.click(".hc-retry")
    page.wait_for_function("() => document.querySelectorAll('.hc-retry').length === 0")
    assert fake_state.messages()[-1] == "deadlines?"
    assert page_metadata(fake_state)[-1] == {"program": "mism", "page_url": url}


# ------------------------------------------------------------------------------ conversation


def test_quick_reply_sends_payload_and_shows_title(page, fake_web, fake_rasa, fake_state):
    w = open_fresh(page, fake_web.url)
    buttons = page.locator(".hc-quick-btn")
    assert buttons.all_inner_texts() == ["Application deadlines", "MSIT (online)"]
    buttons.nth(1).click()
    w.wait_bot_count(3)  # /inform answers with two messages
    assert fake_state.messages() == ["/greet", '/inform{"program":"msit"}']
    assert page.locator(".hc-msg--user .hc-bubble").all_inner_texts() == ["MSIT (online)"]
    # only the newest bot turn offers quick replies
    assert page.locator(".hc-quick-btn").all_inner_texts() == ["Application deadlines"]
    assert page.locator(".hc-msg--bot").first.locator(".hc-quick").count() == 0
    assert page.evaluate("document.activeElement.classList.contains('hc-input')")


def test_button_with_entities_sends_its_payload_verbatim_and_shows_its_title(page, fake_web, fake_rasa, fake_state):
    w = open_fresh(page, f"{fake_web.url}/mism")
    w.ask("program buttons")
    assert page.locator(".hc-quick-btn").all_inner_texts() == [b["title"] for b in PROGRAM_BUTTONS]
    page.click(".hc-quick-btn >> text=Full MISM deadlines")
    w.wait_bot_count(3)
    assert fake_state.messages()[-1] == '/ask_deadlines{"program":"mism","detail":"full"}'
    assert fake_state.metadata()[-1]["program"] == "mism"
    bubbles = page.locator(".hc-msg--user .hc-bubble")
    assert bubbles.all_inner_texts() == ["program buttons", "Full MISM deadlines"]
    assert "/ask_deadlines" not in w.log_text() and '"detail"' not in w.log_text()
    page.reload()  # from the stored history: still the title, never the payload
    page.wait_for_selector(".hc-msg--user")
    assert bubbles.all_inner_texts() == ["program buttons", "Full MISM deadlines"]
    assert "/ask_deadlines" not in w.log_text()
    assert stored(page)["messages"][-2]["payload"] == PROGRAM_BUTTONS[0]["payload"]


def test_markdown_links_show_their_name(page, fake_web, fake_rasa):
    w = open_fresh(page, fake_web.url)
    w.ask("named links")
    msg = page.locator(".hc-msg--bot").last
    anchors = msg.locator("a").evaluate_all(
        "as => as.map(a => [a.textContent, a.getAttribute('href'), a.getAttribute('target'), a.getAttribute('rel')])"
    )
    rel = "noopener noreferrer"
    assert anchors == [
        ["MISM how-to-apply page", NAMED_LINKS_URL, "_blank", rel],
        ["application fee", "https://www.heinz.cmu.edu/admissions/application-fee.php", "_blank", rel],
        ["Write to admissions", "mailto:hnzadmit@andrew.cmu.edu", "_blank", rel],
        ["https://www.heinz.cmu.edu/admissions/", "https://www.heinz.cmu.edu/admissions/", "_blank", rel],  # bare URL
    ]
    text = msg.inner_text()
    assert "see the MISM how-to-apply page." in text
    assert NAMED_LINKS_URL not in text and "](" not in text.replace("[x](javascript", "").replace("[y](data", "")
    # a named link to anything but http(s)/mailto stays plain text, brackets and all
    assert "Not a link: [x](javascript:alert(1)) nor [y](data:text/html,<b>z</b>)" in text
    assert msg.locator("a[href^='javascript'], a[href^='data'], b").count() == 0
    # bullets and line breaks as before
    assert msg.locator("ul > li").count() == 2
    assert msg.locator("ul > li a").first.inner_text() == "application fee"
    assert msg.locator("p").count() == 2
    after_failed_image_loads(page)
    assert page.dialogs == []


def test_bot_text_lists_links_and_line_breaks(page, fake_web, fake_rasa):
    w = open_fresh(page, fake_web.url)
    page.click(".hc-quick-btn >> text=Application deadlines")
    w.wait_bot_count(2)
    msg = page.locator(".hc-msg--bot").nth(1)
    assert msg.locator("ul > li").all_inner_texts() == [
        "Round 1: December 1, 2026",
        "Round 2: January 10, 2027",
        "Final round: February 1, 2027",
    ]
    web = msg.locator("a[href^='https://']")
    assert web.count() == 1
    href = web.get_attribute("href")
    assert href == (
        "https://www.heinz.cmu.edu/programs/information-systems-management-master/admissions-how-to-apply.php"
    )  # the full stop after the URL is not part of it
    assert web.get_attribute("target") == "_blank"
    assert set(web.get_attribute("rel").split()) >= {"noopener", "noreferrer"}
    mail = msg.locator("a[href^='mailto:']")
    assert mail.get_attribute("href") == "mailto:hnzadmit@andrew.cmu.edu"
    assert mail.inner_text() == "hnzadmit@andrew.cmu.edu"
    assert msg.locator("br").count() == 1  # "Details: …" and "Questions? …" are one paragraph, two lines
    assert msg.locator("p").count() == 2


def test_only_http_links_and_no_html_from_bot(page, fake_web, fake_rasa):
    w = open_fresh(page, fake_web.url)
    w.ask("links")
    msg = page.locator(".hc-msg--bot").last
    hrefs = msg.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert hrefs == ["https://www.heinz.cmu.edu/", "https://www.heinz.cmu.edu/about/rankings.php"]
    assert msg.locator("a").first.inner_text() == "Heinz"  # [label](url)
    text = msg.inner_text()
    assert "javascript:alert(1)" in text and "<b>not bold</b>" in text
    assert "<img src=x onerror=alert(3)>" in text
    assert page.locator(".hc-log img, .hc-log b, .hc-log script").count() == 0
    after_failed_image_loads(page)
    assert page.dialogs == []


@pytest.mark.parametrize(
    "payload",
    [
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        '"><svg onload=alert(1)>',
    ],
)
def test_visitor_and_echoed_markup_stays_text(page, fake_web, fake_rasa, payload):
    w = open_fresh(page, fake_web.url)
    w.ask(payload)
    w.ask("echo:" + payload)
    assert page.locator(".hc-msg--user .hc-bubble").first.inner_text() == payload
    assert page.locator(".hc-msg--bot").last.inner_text().endswith(payload)
    assert page.locator(".hc-log img, .hc-log script, .hc-log svg").count() == 0
    page.reload()  # and again when rendered from the stored history
    page.wait_for_selector(".hc-msg--user")
    assert page.locator(".hc-msg--user .hc-bubble").first.inner_text() == payload
    assert page.locator(".hc-msg--bot").last.inner_text().endswith(payload)
    assert page.locator(".hc-log img, .hc-log script, .hc-log svg").count() == 0
    after_failed_image_loads(page)
    assert page.dialogs == []


def test_typing_indicator_while_waiting(page, fake_web, fake_rasa, fake_state):
    w = open_fresh(page, fake_web.url)
    typing = page.locator(".hc-typing")
    assert typing.is_hidden()
    fake_state.delay = 1.5
    w.send("hello")
    typing.wait_for(state="visible", timeout=1000)
    assert typing.get_attribute("aria-hidden") == "true"
    w.wait_bot_count(2)
    assert typing.is_hidden()


def test_long_answer_is_shown_from_its_start(page, fake_web, fake_rasa):
    w = open_fresh(page, fake_web.url)
    geometry = """() => {
        const body = document.querySelector('.hc-body');
        const bots = document.querySelectorAll('.hc-msg--bot');
        const msg = bots[bots.length - 1].getBoundingClientRect();
        return {top: msg.top - body.getBoundingClientRect().top, height: msg.height,
                view: body.clientHeight, scroll: body.scrollTop, end: body.scrollHeight - body.clientHeight};
    }"""
    answer = "\n".join(f"Line {i} of a long answer" for i in range(1, 36))
    assert "Line 1 of a long answer" in w.ask("echo:" + answer)
    g = page.evaluate(geometry)
    assert g["height"] > g["view"], g  # taller than the log, or the test proves nothing
    assert 0 <= g["top"] < 40, g  # its first line is at the top of the log...
    assert g["scroll"] < g["end"] - 100, g  # ...rather than its last line at the bottom

    # an answer that fits is still scrolled fully into view
    w.ask("short one")
    g = page.evaluate(geometry)
    assert g["height"] < g["view"] and g["scroll"] >= g["end"] - 1, g


def test_a_reply_with_nothing_to_show_offers_the_contact(page, fake_web, fake_rasa):
    # Rasa answers [] when its action server is down: the visitor must not be left in silence.
    w = open_fresh(page, fake_web.url)
    w.send("nothing")
    notice = page.locator(".hc-notice--error")
    notice.wait_for(state="visible", timeout=5000)
    assert "couldn't answer that just now" in notice.inner_text()
    assert notice.locator(f"a[href='mailto:{CONTACT.email}']").count() == 1  # from the knowledge file
    assert notice.locator("a[href^='tel:']").inner_text() == CONTACT.phone
    assert CONTACT.office in notice.inner_text()
    w.send("hello again")
    w.wait_bot_count(2)
    assert "You said: hello again" in w.log_text()


def test_empty_stays_unsent_and_length_is_capped(page, fake_web, fake_rasa, fake_state):
    w = open_fresh(page, fake_web.url)
    inp = page.locator(".hc-input")
    assert inp.get_attribute("maxlength") == "1000"
    w.send("   \n  ")
    page.click(".hc-send")
    w.ask("after the blanks")  # requests go out in order: a blank one would have arrived before this
    assert fake_state.messages() == ["/greet", "after the blanks"]
    assert page.locator(".hc-msg--user .hc-bubble").all_inner_texts() == ["after the blanks"]

    inp.fill("")
    inp.press_sequentially("abc")
    assert page.locator(".hc-counter").inner_text() == "3/1000"
    inp.fill("")
    page.evaluate("document.querySelector('.hc-input').value = 'x'.repeat(1500)")  # bypasses maxlength
    inp.press("Enter")
    w.wait_bot_count(3)
    assert len(fake_state.messages()[-1]) == 1000
    assert inp.input_value() == ""


def test_a_paste_cut_to_the_limit_is_said_under_the_box(page, context, fake_web, fake_rasa, fake_state):
    """Chromium's own paste (Ctrl+V from the clipboard) into the box with maxlength 1000: a paste of
    1,500 characters is cut, and the widget says so in its live region until the text is shortened
    or sent; a paste of exactly 1,000 characters (line breaks copied as \\r\\n) says nothing."""
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    w = open_fresh(page, fake_web.url)
    inp = page.locator(".hc-input")
    notice = page.locator(".hc-panel .hc-cut[role=status][aria-live=polite]")
    assert notice.count() == 1  # on the page before anything is said, so it is heard when it is

    def paste(text: str, then_length: int) -> None:
        page.evaluate("t => navigator.clipboard.writeText(t)", text)
        inp.focus()
        page.keyboard.press("ControlOrMeta+V")
        page.wait_for_function("n => document.querySelector('.hc-input').value.length === n", arg=then_length)

    paste("y" * 10, 10)
    paste(("x" * 98 + "\r\n") * 10, 1000)  # 1,000 on the clipboard, 990 in the box
    assert page.locator(".hc-counter").inner_text() == "1000/1000"
    assert notice.inner_text() == "" and notice.bounding_box()["height"] == 0

    inp.fill("")
    paste("z" * 1500, 1000)
    assert notice.inner_text() == "Only the first 1000 characters fit: the end of what you pasted was left out."
    assert notice.is_visible()
    inp.press("Backspace")
    assert notice.inner_text() == ""  # shortened: the notice goes
    inp.press("a")  # the last character that fits
    assert notice.inner_text() == ""
    inp.press("b")  # refused by the full box
    assert inp.input_value() == "z" * 999 + "a"
    assert notice.inner_text() == "That's the limit: a message can be up to 1000 characters."
    inp.press("Backspace")

    paste("z" * 1500, 1000)
    assert notice.inner_text().startswith("Only the first 1000 characters fit")
    inp.press("Enter")
    w.wait_bot_count(2)
    assert fake_state.messages()[-1] == "z" * 1000
    assert notice.inner_text() == ""  # sent: the notice goes


def test_shift_enter_adds_a_line_instead_of_sending(page, fake_web, fake_rasa, fake_state):
    w = open_fresh(page, fake_web.url)
    inp = page.locator(".hc-input")
    inp.press_sequentially("line one")
    inp.press("Shift+Enter")
    inp.press_sequentially("line two")
    assert fake_state.messages() == ["/greet"]
    inp.press("Enter")
    w.wait_bot_count(2)
    assert fake_state.messages()[-1] == "line one\nline two"


# ------------------------------------------------------------------------------ history


def test_history_survives_reload_and_start_over_begins_anew(page, fake_web, fake_rasa, fake_state):
    w = open_fresh(page, fake_web.url)
    w.ask("first question")
    first_id = stored(page)["id"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first_id)
    senders = {r["sender"] for r in fake_state.received}
    assert senders == {first_id}

    page.reload()
    # the panel was open: it is restored with the history, without a second greeting
    page.wait_for_selector(".hc-panel", state="visible")
    assert page.locator(".hc-msg--user .hc-bubble").all_inner_texts() == ["first question"]
    assert page.locator(".hc-msg--bot").count() == 2
    assert fake_state.messages().count("/greet") == 1

    # close, reload: history still there when opened again; quick replies of the last bot turn too
    page.click(".hc-close")
    page.reload()
    assert page.locator(".hc-panel").is_hidden()
    w.open_with_mouse()
    assert page.locator(".hc-msg").count() == 3
    assert fake_state.messages().count("/greet") == 1

    page.click(".hc-restart")
    w.wait_bot_count(1)
    page.wait_for_function("document.querySelectorAll('.hc-msg').length === 1")
    second_id = stored(page)["id"]
    assert second_id != first_id
    assert fake_state.received[-1]["sender"] == second_id and fake_state.received[-1]["message"] == "/greet"
    assert page_metadata(fake_state)[-1] == {"page_url": page.url}
    # A new conversation has a new live-chat secret, so its key differs from the first one's.
    assert fake_state.received[-1]["metadata"]["handoff_key"] != fake_state.received[0]["metadata"]["handoff_key"]
    assert page.locator(".hc-quick-btn").count() == 2  # greeting quick replies are back
    assert page.evaluate("document.activeElement.classList.contains('hc-input')")


def test_quick_replies_are_restored_after_reload(page, fake_web, fake_rasa):
    open_fresh(page, fake_web.url)
    page.reload()
    page.wait_for_selector(".hc-quick-btn")
    assert page.locator(".hc-quick-btn").all_inner_texts() == ["Application deadlines", "MSIT (online)"]
    assert stored(page)["messages"][0]["buttons"][0] == {"title": "Application deadlines", "payload": "/ask_deadlines"}


def feedback_buttons(page, index: int):
    answer = page.locator(".hc-msg--bot").nth(index)
    return (
        answer,
        answer.get_by_role("button", name="This answer was helpful", exact=True),
        answer.get_by_role("button", name="This answer was not helpful", exact=True),
    )


def test_answers_offer_feedback_once_from_the_keyboard_and_remember_it(page, fake_web, fake_rasa, fake_state):
    w = open_fresh(page, fake_web.url)
    assert page.locator(".hc-feedback").count() == 0, "the greeting is not an answer to rate"
    assert RATED_ANSWER in w.ask("rated answer")
    answer, helpful, not_helpful = feedback_buttons(page, 1)
    assert answer.get_by_role("group", name="Was this answer helpful?").count() == 1
    assert helpful.is_enabled() and not_helpful.is_enabled()
    assert page.locator(".hc-feedback").count() == 1, "only the answer, not the marker, shows up"

    not_helpful.focus()
    page.keyboard.press("Enter")
    w.wait_bot_count(3)
    assert fake_state.messages()[-1] == '/feedback{"helpful":"no"}'
    assert "what were you looking for?" in page.locator(".hc-msg--bot").nth(2).inner_text()
    assert page.locator(".hc-msg--user .hc-bubble").all_inner_texts() == ["rated answer"], "no bubble for the click"
    assert helpful.is_disabled() and not_helpful.is_disabled()
    assert not_helpful.get_attribute("aria-pressed") == "true" and helpful.get_attribute("aria-pressed") == "false"
    assert "Thanks for your feedback" in answer.inner_text()
    assert page.evaluate("document.activeElement.classList.contains('hc-input')"), "focus is not lost"
    # Usable once: a second click (even a scripted one) sends nothing.
    page.evaluate("() => document.querySelectorAll('.hc-feedback-btn').forEach(b => b.click())")
    assert fake_state.messages().count('/feedback{"helpful":"no"}') == 1
    assert not any(m.startswith('/feedback{"helpful":"yes"}') for m in fake_state.messages())
    # The answer's quick replies are still offered after the click.
    assert page.locator(".hc-quick-btn").all_inner_texts() == ["Application deadlines"]

    page.reload()
    page.wait_for_selector(".hc-feedback")
    answer, helpful, not_helpful = feedback_buttons(page, 1)
    assert helpful.is_disabled() and not_helpful.get_attribute("aria-pressed") == "true"
    assert "Thanks for your feedback" in answer.inner_text()
    assert [m.get("feedback") for m in stored(page)["messages"]] == [None, None, "no", None]


def test_unused_feedback_is_withdrawn_when_the_visitor_writes_again(page, fake_web, fake_rasa, fake_state):
    w = open_fresh(page, fake_web.url)
    w.ask("rated answer one")
    _, helpful, _ = feedback_buttons(page, 1)
    helpful.click()
    w.wait_bot_count(3)
    assert fake_state.messages()[-1] == '/feedback{"helpful":"yes"}'
    w.ask("rated answer two")
    assert page.locator(".hc-feedback").count() == 2
    w.ask("a new question")
    # The rated answer keeps its record; the unrated one no longer offers a click that would follow
    # a later message (feedback is stored right after the answer it rates).
    assert page.locator(".hc-feedback").count() == 1
    assert page.locator(".hc-feedback-btn[aria-pressed=true]").all_inner_texts() == ["Helpful"]
    page.reload()
    page.wait_for_selector(".hc-feedback")
    assert page.locator(".hc-feedback").count() == 1
    w.ask("rated answer three")  # one answer still to rate, one rated: nothing axe objects to
    violations = run_axe(page)
    assert not [v for v in violations if any(".hc-" in n for n in v["nodes"])], format_violations(violations)


def test_each_visitor_gets_their_own_conversation(chromium, fake_web, fake_rasa, fake_state):
    ids = []
    for _ in range(2):
        ctx = chromium.new_context()
        pg = ctx.new_page()
        open_fresh(pg, fake_web.url)
        ids.append(stored(pg)["id"])
        ctx.close()
    assert ids[0] != ids[1]
    assert {r["sender"] for r in fake_state.received} == set(ids)


def test_second_tab_shows_the_same_conversation(context, fake_web, fake_rasa):
    one = context.new_page()
    w1 = open_fresh(one, fake_web.url)
    two = context.new_page()
    two.goto(fake_web.url)
    two.wait_for_selector(".hc-panel", state="visible")  # open state is shared too
    assert two.locator(".hc-msg--bot").count() == 1
    w1.ask("from tab one")
    two.wait_for_function("document.querySelectorAll('.hc-msg--bot').length === 2")
    assert two.locator(".hc-msg--user .hc-bubble").all_inner_texts() == ["from tab one"]


def test_corrupt_storage_starts_a_fresh_conversation(page, fake_web, fake_rasa):
    page.goto(fake_web.url)
    page.evaluate("k => localStorage.setItem(k, '{not json')", STORAGE_KEY)
    page.reload()
    w = WidgetPage(page)
    w.open_with_mouse()
    w.wait_bot_count(1)
    assert stored(page)["id"]
    assert page.js_errors == []


# ------------------------------------------------------------------------------ failures


def test_slow_server_times_out_keeps_message_and_recovers(page, host_page, fake_rasa, fake_state):
    page.goto(embed_url(host_page, fake_rasa, timeout_ms=1500, health_interval_ms=400))
    w = WidgetPage(page)
    w.open_with_mouse()
    w.wait_bot_count(1)
    fake_state.delay = 4  # slower than the widget's time-out: counts as unreachable
    w.send("Is anyone there?")
    notice = page.locator(".hc-notice--error")
    notice.wait_for(timeout=5000)
    assert UNREACHABLE_EMAIL in notice.inner_text() and CONTACT.phone in notice.inner_text()
    assert notice.locator(f"a[href='mailto:{CONTACT.email}']").count() == 1
    assert notice.locator("a[href^='tel:+1']").inner_text() == CONTACT.phone
    user = page.locator(".hc-msg--user").last
    assert user.locator(".hc-bubble").inner_text() == "Is anyone there?"
    assert user.locator(".hc-retry").is_visible()
    assert stored(page)["messages"][-1]["status"] == "failed"  # kept across a reload as well

    fake_state.delay = 0  # the server is healthy again: the health check notices by itself
    page.locator(".hc-notice--ok").wait_for(timeout=5000)
    assert "Reconnected" in page.locator(".hc-notice--ok").inner_text()
    user.locator(".hc-retry").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.hc-msg--bot')]"
        ".some(m => m.innerText.includes('You said: Is anyone there?'))"
    )
    assert page.locator(".hc-retry").count() == 0
    assert page.locator(".hc-msg--user .hc-bubble").all_inner_texts() == ["Is anyone there?"]


def test_unreachable_server_shows_contact_and_recovers(page, host_page, fake_rasa, fake_state):
    page.goto(embed_url(host_page, fake_rasa, health_interval_ms=300))
    w = WidgetPage(page)
    w.open_with_mouse()
    w.wait_bot_count(1)
    fake_rasa.stop()
    try:
        w.send("hello?")
        page.locator(".hc-notice--error").wait_for(timeout=12000)
        assert UNREACHABLE_EMAIL in page.locator(".hc-notice--error").inner_text()
        assert page.locator(".hc-msg--user .hc-retry").count() == 1
        w.send("still there?")  # more messages while down: kept, one notice only
        page.wait_for_function("document.querySelectorAll('.hc-retry').length === 2")
        assert page.locator(".hc-notice--error").count() == 1
    finally:
        fake_rasa.start()
    page.locator(".hc-notice--ok").wait_for(timeout=10000)
    w.ask("back again")
    assert page.locator(".hc-msg--bot .hc-bubble").last.inner_text() == "You said: back again"


def test_contact_comes_from_the_page_attributes(page, host_page, fake_rasa, fake_state):
    url = embed_url(
        host_page,
        fake_rasa,
        contact_office="Test Admissions Desk",
        contact_email="desk@example.edu",
        contact_phone="555-010-0199",
    )
    fake_state.status = 503
    page.goto(url)
    WidgetPage(page).open_with_mouse()
    notice = page.locator(".hc-notice--error")
    notice.wait_for(timeout=12000)
    expected = "Need an answer now? Contact Test Admissions Desk at desk@example.edu or 555-010-0199."
    assert expected in notice.inner_text()
    assert notice.locator("a[href='mailto:desk@example.edu']").inner_text() == "desk@example.edu"
    assert notice.locator("a[href='tel:+15550100199']").inner_text() == "555-010-0199"
    assert CONTACT.email not in notice.inner_text() and CONTACT.phone not in notice.inner_text()


def test_contact_falls_back_to_a_generic_office_without_attributes(page, host_page, fake_rasa):
    w = open_fresh(page, embed_url(host_page, fake_rasa, contact=False))
    w.send("nothing")
    notice = page.locator(".hc-notice--error")
    notice.wait_for(timeout=5000)
    assert "Or contact the admissions office." in notice.inner_text()
    assert notice.locator("a").count() == 0
    assert "undefined" not in notice.inner_text() and "null" not in notice.inner_text()


def test_contact_with_only_an_email(page, host_page, fake_rasa):
    w = open_fresh(page, embed_url(host_page, fake_rasa, contact=False, contact_email="desk@example.edu"))
    w.send("nothing")
    notice = page.locator(".hc-notice--error")
    notice.wait_for(timeout=5000)
    assert "Or contact the admissions office at desk@example.edu." in notice.inner_text()
    assert notice.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))") == ["mailto:desk@example.edu"]


def test_http_error_counts_as_unreachable(page, fake_web, fake_rasa, fake_state):
    w = open_fresh(page, fake_web.url)
    fake_state.status = 500
    w.send("boom")
    page.locator(".hc-notice--error").wait_for(timeout=12000)
    assert page.locator(".hc-retry").count() == 1


def test_a_message_the_server_could_not_keep_says_so_and_can_be_retried(page, fake_web, fake_rasa, fake_state):
    """The REST channel answers 503 with its reason when the conversation cannot be saved (the
    database is down): the visitor reads that reason, not "can't be reached", and retries later."""
    from bot.stores.health import NOT_SAVED_REASON

    w = open_fresh(page, fake_web.url)
    fake_state.status, fake_state.error = 503, NOT_SAVED_REASON
    w.send("What are the MISM deadlines?")
    notice = page.locator(".hc-notice--error")
    notice.wait_for(timeout=12000)
    assert NOT_SAVED_REASON in notice.inner_text() and CONTACT.email in notice.inner_text()
    assert "can't be reached" not in w.log_text()
    fake_state.status = 200
    page.click(".hc-retry")
    w.wait_bot_count(2)
    assert "You said: What are the MISM deadlines?" in w.log_text()  # the retried message was answered


def test_greeting_failure_is_retried_after_reconnect(page, host_page, fake_rasa, fake_state):
    fake_state.status = 503
    page.goto(embed_url(host_page, fake_rasa, health_interval_ms=300))
    WidgetPage(page).open_with_mouse()
    page.locator(".hc-notice--error").wait_for(timeout=12000)
    fake_state.status = 200
    page.locator(".hc-notice--ok").wait_for(timeout=10000)
    WidgetPage(page).wait_bot_count(1)
    assert fake_state.messages() == ["/greet", "/greet"]


# ------------------------------------------------------------------------------ accessibility


def test_keyboard_only_open_send_quick_reply_close(page, fake_web, fake_rasa, fake_state):
    page.goto(fake_web.url)
    tab_until(page, ".hc-launcher")
    page.keyboard.press("Enter")
    assert page.locator(".hc-launcher").get_attribute("aria-expanded") == "true"
    assert page.evaluate("document.activeElement.classList.contains('hc-input')")
    WidgetPage(page).wait_bot_count(1)

    page.keyboard.type("typed with keys")
    page.keyboard.press("Enter")
    WidgetPage(page).wait_bot_count(2)

    # "Start over" from the keyboard brings the greeting's quick replies back; Tab reaches them
    page.focus(".hc-restart")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('.hc-quick-btn').length === 2")
    page.focus(".hc-restart")
    tab_until(page, ".hc-quick-btn")
    page.keyboard.press("Enter")
    WidgetPage(page).wait_bot_count(2)
    assert fake_state.messages()[-1] == "/ask_deadlines"

    tab_until(page, ".hc-close")
    page.keyboard.press("Enter")
    assert page.locator(".hc-panel").is_hidden()
    assert page.evaluate("document.activeElement.classList.contains('hc-launcher')")

    page.keyboard.press("Enter")  # reopen from the launcher; Escape closes from anywhere inside
    assert page.evaluate("document.activeElement.classList.contains('hc-input')")
    page.focus(".hc-restart")
    page.keyboard.press("Escape")
    assert page.locator(".hc-panel").is_hidden()
    assert page.evaluate("document.activeElement.classList.contains('hc-launcher')")
    assert page.locator(".hc-launcher").get_attribute("aria-expanded") == "false"


def test_controls_have_names_and_live_log(page, fake_web, fake_rasa):
    open_fresh(page, fake_web.url)
    log = page.locator(".hc-log")
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
    names = page.evaluate(
        """() => [...document.querySelectorAll('.hc-root button, .hc-root textarea')].map(e => {
            if (e.getAttribute('aria-label')) return e.getAttribute('aria-label');
            if (e.labels && e.labels.length) return e.labels[0].textContent;
            return e.textContent.trim();
        })"""
    )
    assert all(n.strip() for n in names), names
    assert "Close chat" in names and "Start over" in names and "Send" in names and "Your message" in names


def test_targets_are_at_least_24px(page, fake_web, fake_rasa):
    open_fresh(page, fake_web.url)
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('.hc-root button, .hc-root textarea')]
              .filter(e => e.getClientRects().length)  // shown ones (the live-chat bar is hidden)
              .map(e => { const r = e.getBoundingClientRect(); return [e.className, r.width, r.height]; })"""
    )
    small = [s for s in sizes if s[1] < 24 or s[2] < 24]
    assert not small, small


def test_focus_is_visible(page, fake_web, fake_rasa):
    open_fresh(page, fake_web.url)
    page.focus(".hc-restart")
    page.keyboard.press("Tab")  # keyboard focus → :focus-visible
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    width = page.evaluate("parseFloat(getComputedStyle(document.activeElement).outlineWidth)")
    assert outline == "solid" and width >= 2


@pytest.mark.parametrize(
    "size", [(360, 740), (320, 568), (640, 400)], ids=["phone-360", "phone-320", "desktop-at-200pct-zoom"]
)
def test_small_viewports_get_a_full_screen_panel(chromium, fake_web, fake_rasa, size):
    ctx = chromium.new_context(viewport={"width": size[0], "height": size[1]})
    pg = ctx.new_page()
    try:
        w = open_fresh(pg, fake_web.url)
        pg.wait_for_function("() => document.querySelector('.hc-panel').getAnimations().length === 0")
        box = pg.locator(".hc-panel").bounding_box()
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, size[0], size[1])
        assert pg.locator(".hc-launcher").is_hidden()  # not left focusable underneath the panel
        assert pg.evaluate("document.documentElement.scrollWidth") <= size[0]
        inp = pg.locator(".hc-input").bounding_box()
        assert inp["y"] + inp["height"] <= size[1]
        w.ask("does it still work?")
        pg.keyboard.press("Escape")
        assert pg.locator(".hc-launcher").is_visible()
        assert pg.evaluate("document.activeElement.classList.contains('hc-launcher')")
    finally:
        ctx.close()


def test_reduced_motion_turns_animation_off(chromium, fake_web, fake_rasa):
    ctx = chromium.new_context(reduced_motion="reduce")
    pg = ctx.new_page()
    try:
        open_fresh(pg, fake_web.url)
        assert pg.evaluate("getComputedStyle(document.querySelector('.hc-panel')).animationName") == "none"
        assert pg.evaluate("getComputedStyle(document.querySelector('.hc-dot')).animationName") == "none"
    finally:
        ctx.close()


def test_axe_page_with_widget_closed_and_open(page, fake_web, fake_rasa):
    page.goto(fake_web.url)
    page.wait_for_selector(".hc-launcher")
    closed = run_axe(page)
    assert not serious(closed), format_violations(closed)
    w = WidgetPage(page)
    w.open_with_mouse()
    w.wait_bot_count(1)
    w.ask("links")
    page.click(".hc-restart")
    w.wait_bot_count(1)
    page.click(".hc-quick-btn >> nth=0")
    w.wait_bot_count(2)
    opened = run_axe(page)
    assert not serious(opened), format_violations(opened)
    # stricter than required: nothing at all from the widget itself
    assert not [v for v in opened if any(".hc-" in n for n in v["nodes"])], format_violations(opened)


@pytest.mark.parametrize("path", ["/mism", "/msit"])
def test_axe_program_pages(page, fake_web, fake_rasa, path):
    page.goto(fake_web.url + path)
    page.wait_for_selector(".hc-launcher")
    violations = run_axe(page)
    assert not serious(violations), format_violations(violations)
