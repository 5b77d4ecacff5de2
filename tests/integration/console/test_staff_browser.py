"""End to end in headless Chromium: log in, find a missed question, label it, download the files.

Uses Debian's Chromium (``/usr/bin/chromium``), never ``playwright install``. The console runs in
a thread on a free port with werkzeug's server, over a SQLite file filled by Rasa's tracker store.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml

from core.settings import PROJECT_ROOT
from tests.support.console_client import STAFF_PASSWORD
from tests.support.widget_harness import launch_chromium

ARTIFACTS = PROJECT_ROOT / "tests" / ".artifacts"

pytestmark = pytest.mark.browser


def test_staff_reviews_a_missed_question_and_downloads_files(live_console, chromium_path):
    base, _ = live_console
    """``chromium_path`` (tests/conftest.py) skips without Chromium, or fails in CI."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, chromium_path)
        try:
            page = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900}).new_page()
            page.goto(f"{base}/staff/")
            expect(page.get_by_role("heading", name="Staff log in")).to_be_visible()
            page.get_by_label("User name").fill("admissions")
            page.get_by_label("Password").fill(STAFF_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="Conversations")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "staff-conversations.png"), full_page=True)

            # Filter to conversations where the bot missed something.
            page.get_by_label("Bot missed something").check()
            page.get_by_role("button", name="Filter").click()
            expect(page.get_by_text("2 conversations match these filters")).to_be_visible()

            # Open the transcript and label the out-of-scope question.
            page.get_by_role("link", name="Do you offer a PhD in basket weaving?").click()
            expect(page.get_by_role("heading", name="Conversation")).to_be_visible()
            expect(page.locator(".bubble", has_text="<script>alert('x')</script>")).to_be_visible()
            turn = page.locator("li.turn.visitor", has_text="Do you offer a PhD in basket weaving?")
            turn.get_by_label("Topic this message is about").select_option(label="None of these / out of scope")
            turn.get_by_role("button", name="Assign topic").click()
            expect(page.get_by_text("Assigned 1 message to “None of these / out of scope”.")).to_be_visible()
            expect(
                page.locator("li.turn.visitor", has_text="basket weaving?").first.locator(".badge-assigned")
            ).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "staff-transcript.png"), full_page=True)

            # The missed-questions page offers the NLU file with the assigned example.
            page.get_by_role("link", name="Missed questions").click()
            expect(page.get_by_text("4 messages in 2 groups")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "staff-missed.png"), full_page=True)
            with page.expect_download() as nlu_download:
                page.get_by_role("link", name="Download NLU training file").click()
            nlu = yaml.safe_load(Path(nlu_download.value.path()).read_text(encoding="utf-8"))
            assert nlu["version"] == "3.1"
            assert nlu["nlu"] == [{"intent": "out_of_scope", "examples": "- Do you offer a PhD in basket weaving?\n"}]

            # The CSV export of the last 30 days, masked.
            page.get_by_role("link", name="Export").click()
            with page.expect_download() as csv_download:
                page.get_by_role("button", name="Download").click()
            assert csv_download.value.suggested_filename.endswith(".csv")
            rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text(encoding="utf-8"))))
            texts = [row["text"] for row in rows]
            assert "Do you offer a PhD in basket weaving?" in texts
            assert any("[email hidden]" in text for text in texts)
            assert not any("jane.doe@example.com" in text for text in texts)

            page.get_by_role("link", name="Trends").click()
            expect(page.locator("svg[role=img]")).to_have_count(8)  # 5 + answer types, containment, feedback
            page.screenshot(path=str(ARTIFACTS / "staff-trends.png"), full_page=True)
        finally:
            browser.close()
