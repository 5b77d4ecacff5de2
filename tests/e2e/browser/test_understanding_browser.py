"""The widget in headless Chromium against the real stack: a two-question message answered twice, a
short follow-up, and the likeliest topics offered as buttons when the assistant is unsure (a click on
one answers it). Expected headings come from the knowledge file.
"""

from __future__ import annotations

import pytest

from core.knowledge import load_knowledge
from tests.support.widget_harness import WidgetPage

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOT_TIMEOUT_MS = 30000
TOPICS = load_knowledge().topics


def open_chat(page, url: str) -> WidgetPage:
    page.goto(url)
    page.wait_for_selector(WidgetPage.LAUNCHER)
    w = WidgetPage(page)
    w.open_with_mouse()
    w.wait_bot_count(1, BOT_TIMEOUT_MS)  # the greeting
    settle(page)
    return w


def settle(page) -> None:
    page.wait_for_function("() => document.querySelector('.hc-typing').hidden", timeout=BOT_TIMEOUT_MS)


def replies_to(page, w: WidgetPage, send) -> list:
    """Texts of the bot messages (their bubbles) that answer one visitor action (typing or a click)."""
    before = w.bot_count()
    send()
    w.wait_bot_count(before + 1, BOT_TIMEOUT_MS)
    settle(page)
    return [m.locator(".hc-bubble").first.inner_text() for m in page.locator(WidgetPage.BOT).all()[before:]]


def test_two_questions_in_one_message_get_two_answers_in_the_widget(page, stack):
    w = open_chat(page, f"{stack.web_url}/mism")
    texts = replies_to(page, w, lambda: w.send("Is there a fee, and when is the deadline?"))
    headed = [t for t in texts if t.startswith((TOPICS["application_fee"].title, TOPICS["deadlines"].title))]
    assert len(headed) == 2, texts
    assert headed[0].startswith(TOPICS["application_fee"].title)
    assert headed[1].startswith(f"{TOPICS['deadlines'].title}, MISM")


def test_a_follow_up_continues_the_topic_in_the_widget(page, stack):
    w = open_chat(page, f"{stack.web_url}/mism")
    first = replies_to(page, w, lambda: w.send("tell me about the capstone projects"))
    assert first[0].startswith(f"{TOPICS['capstone'].title}, MISM"), first
    more = replies_to(page, w, lambda: w.send("what about the online one?"))
    # The same topic for MSIT, whose pages publish no capstone details: the honest "I don't have".
    assert f"{TOPICS['capstone'].missing} for MSIT" in more[0], more


def test_an_unsure_question_offers_its_likeliest_topics_and_a_click_answers(page, stack):
    # A first message with no subject: the classifier leans to capstone projects, not enough to answer.
    w = open_chat(page, stack.web_url)
    texts = replies_to(page, w, lambda: w.send("any examples?"))
    # One likely topic is asked as a yes/no question, several as a choice.
    assert texts[-1].startswith(("Is this what you're asking about?", "I think you're asking about one of these")), (
        texts
    )
    offered = page.locator(WidgetPage.QUICK)
    titles = [b.inner_text() for b in offered.all()]
    assert TOPICS["capstone"].title in titles and any("person" in t for t in titles), titles
    answer = replies_to(page, w, lambda: page.get_by_role("button", name=TOPICS["capstone"].title).click())
    assert answer[0].startswith(TOPICS["capstone"].title), answer


def test_capstone_examples_and_another_language_in_the_widget(page, stack):
    w = open_chat(page, stack.web_url)
    capstone = replies_to(page, w, lambda: w.send("can you give me some capstone project examples"))
    examples = load_knowledge().programs["mism"].facts["capstone"].items[: TOPICS["capstone"].examples]
    assert all(example in capstone[0] for example in examples), capstone
    chinese = replies_to(page, w, lambda: w.send("MISM需要多长时间？"))
    shown = "\n".join(chinese)
    if any(text.startswith(TOPICS["program_length"].title) for text in chinese):
        assert "I answer in English only" in shown, chinese
    else:
        assert "only answer in English" in shown, chinese
    assert not any(
        text.startswith(tuple(t.title for k, t in TOPICS.items() if k != "program_length")) for text in chinese
    )


def test_the_welcome_names_the_pages_program_and_a_third_question_is_offered(page, stack):
    w = open_chat(page, f"{stack.web_url}/msit")
    welcome = page.locator(WidgetPage.BOT).first.locator(".hc-bubble").first.inner_text()
    assert "You're on the MSIT" in welcome, welcome
    again = replies_to(page, w, lambda: w.send("hello"))
    assert again[0].startswith("Hello! What would you like to know?"), again
    texts = replies_to(page, w, lambda: w.send("is there a fee? when's the deadline? do i need gre?"))
    assert texts[0].startswith(f"{TOPICS['deadlines'].title}, MSIT"), texts
    assert texts[1].startswith(f"{TOPICS['test_scores'].title}, MSIT"), texts
    assert texts[-1].startswith("You also asked about"), texts
    fee = replies_to(page, w, lambda: page.get_by_role("button", name=TOPICS["application_fee"].title).click())
    assert fee[0].startswith(TOPICS["application_fee"].title), fee


def test_another_degree_and_a_typed_complaint_in_the_widget(page, stack):
    w = open_chat(page, f"{stack.web_url}/mism")
    mba = replies_to(page, w, lambda: w.send("does the MBA need the GMAT?"))
    assert "can't tell you about the MBA" in mba[0] and not mba[0].startswith(TOPICS["test_scores"].title), mba
    # The same topic for our programs is a click away, and answers for the page's program.
    ours = replies_to(page, w, lambda: page.get_by_role("button", name=TOPICS["test_scores"].title).click())
    assert ours[0].startswith(f"{TOPICS['test_scores'].title}, MISM"), ours
    sorry = replies_to(page, w, lambda: w.send("that's not what I asked"))
    assert sorry[0].startswith("Sorry about that") and "No problem" not in sorry[0], sorry
