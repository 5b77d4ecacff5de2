"""Staff close the loop from a missed question to a new model, in headless Chromium against the real
stack: three visitors' questions the assistant missed are assigned to a topic picked by its label,
a model is trained in the background (the real ``rasa train``), its before/after is shown, it is
activated, the next visitor asking such a question gets the topic's answer; then it is rolled back.
The Training page passes axe-core."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from bot.nlu.vector_cache import FOLDER, cache_directory
from core.model_store import ModelStore
from ops.launcher import Stack
from tests.support.staff_stack import staff_stack
from tests.support.widget_harness import format_violations, run_axe

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EDITOR, PASSWORD = "ann", "correct horse battery"
# Questions the shipped model does not understand (it falls back), all asking to defer a start.
MISSED = [
    "gap year before starting, allowed?",
    "keep my seat till the following fall?",
    "any chance to start a year later than planned",
]
NEXT = "keep my seat for a year?"  # not among the examples: the next visitor's own wording
TRAINING_LIMIT_MS = 15 * 60 * 1000


@pytest.fixture(scope="module")
def training_stack(trained_model: Path, tmp_path_factory) -> Iterator[Stack]:
    """The console trains as on a server where the shipped model was trained: with that training's
    sentence vectors (a copy, so the project's own cache is left as it was)."""
    cache = tmp_path_factory.mktemp("rasa-cache")
    if cache_directory().is_dir():
        shutil.copytree(cache_directory(), cache / FOLDER)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RASA_CACHE_DIRECTORY", str(cache))
        with staff_stack(trained_model, tmp_path_factory.mktemp("training-stack"), EDITOR, PASSWORD, {}) as running:
            yield running


def ask(stack: Stack, sender: str, text: str) -> str:
    reply = requests.post(
        f"{stack.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    return " ".join(message.get("text", "") for message in reply.json())


def deferral_answer(text: str, knowledge) -> bool:
    return knowledge.topics["deferral"].missing in text or knowledge.topics["deferral"].title in text


def test_missed_questions_become_a_checked_model_that_is_activated_and_rolled_back(training_stack, chromium, knowledge):
    from playwright.sync_api import expect

    for number, question in enumerate(MISSED):
        assert not deferral_answer(ask(training_stack, f"missed-{number}", question), knowledge)
    assert not deferral_answer(ask(training_stack, "before", NEXT), knowledge)

    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(f"{training_stack.web_url}/staff/missed")
        page.get_by_label("User name").fill(EDITOR)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        for question in MISSED:
            group = page.locator("article.group", has_text=question)
            group.get_by_label("Topic this question is about").select_option(label=knowledge.topics["deferral"].title)
            group.get_by_role("button", name=re.compile("^Assign topic")).click()
            expect(page.get_by_text(re.compile(r"Assigned \d+ messages? to “"))).to_be_visible()

        page.get_by_role("link", name="Training", exact=True).click()
        expect(page.get_by_role("heading", name="Training examples (3)")).to_be_visible()
        violations = run_axe(page)
        assert violations == [], format_violations(violations)
        started = time.monotonic()
        page.get_by_role("button", name="Train a new model").click()
        expect(page.locator("#training-progress progress")).to_be_visible()
        page.reload()  # the run goes on, and the page shows it again
        expect(page.locator("#training-progress")).to_contain_text("Step")
        report = page.get_by_role("heading", name=re.compile(r"Model \d+: before and after"))
        expect(report).to_be_visible(timeout=TRAINING_LIMIT_MS)
        print(f"training and checks took {time.monotonic() - started:.0f} s")
        expect(page.locator("p.flash", has_text="The checks hold")).to_be_visible()
        expect(page.get_by_text(f"“{MISSED[0]}” → ")).to_contain_text("answered now")
        assert_no_violation(page)

        page.get_by_role("button", name=re.compile(r"^Activate model \d+$")).click()
        expect(page.get_by_text(re.compile(r"Model \d+ is active"))).to_be_visible()
        store = ModelStore.at(training_stack.settings.database_url)
        model_id = store.active_id()
        store.engine.dispose()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and f"model-{model_id}" not in rasa_model(training_stack):
            time.sleep(0.5)
        assert deferral_answer(ask(training_stack, "after", NEXT), knowledge), "the next visitor is answered"

        page.get_by_role("button", name="Roll back").click()
        expect(page.get_by_text("every Rasa server loads the shipped model")).to_be_visible()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "heinz.tar.gz" not in rasa_model(training_stack):
            time.sleep(0.5)
        assert not deferral_answer(ask(training_stack, "rolled-back", NEXT), knowledge)
    finally:
        context.close()


def rasa_model(stack: Stack) -> str:
    status = requests.get(f"{stack.rasa_url}/status", params={"token": stack.token}, timeout=10)
    return str(status.json().get("model_file"))


def assert_no_violation(page) -> None:
    violations = run_axe(page)
    assert violations == [], format_violations(violations)
