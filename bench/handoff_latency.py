"""Time from an admissions officer pressing Send in the console to the text appearing in the
visitor's chat widget, measured in the browser (two headless Chromium contexts, the real stack).

Starts a private stack (``ops.launcher.Stack``: action server, Rasa, web server on a fresh SQLite
file), creates a staff login, marks the officer available, lets a visitor ask for a person and
accept, claims the conversation, then sends N messages one after another. Each figure is "click on
Send in the console → the message is in the widget's DOM" (both pages live in the same browser, so
one clock measures both). The widget polls every ``--poll-ms`` (its default: 1000 ms); run it with
two values to see what the polling interval costs.

    .venv/bin/python bench/handoff_latency.py                 # 10 messages, widget polling every 1000 ms
    .venv/bin/python bench/handoff_latency.py -n 20 --poll-ms 1000 500
"""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console.console import Console  # noqa: E402
from ops.launcher import DEFAULT_MODEL, Stack, settings_on_free_ports  # noqa: E402
from tests.support.widget_harness import WidgetPage, launch_chromium  # noqa: E402

OFFICER = "bench-officer"


def measure(stack: Stack, password: str, messages: int, poll_ms: int, browser) -> List[float]:
    staff_context, visitor_context = browser.new_context(), browser.new_context()
    try:
        staff, visitor = staff_context.new_page(), visitor_context.new_page()
        staff.goto(f"{stack.web_url}/staff/login")
        staff.get_by_label("User name").fill(OFFICER)
        staff.get_by_label("Password").fill(password)
        staff.get_by_role("button", name="Log in").click()
        staff.goto(f"{stack.web_url}/staff/live")
        staff.get_by_label("Name visitors see").fill("Bench Officer")
        button = staff.get_by_role("button", name="Mark me available")
        if button.count():
            button.click()

        visitor.goto(f"{stack.web_url}/")
        widget = WidgetPage(visitor)
        visitor.evaluate(f"() => {{ window.HeinzChat.instance.opts.handoffPollMs = {poll_ms}; }}")
        widget.open_with_mouse()
        widget.wait_bot_count(1)
        widget.ask("Can I talk to a real person?")
        visitor.get_by_role("button", name="Chat with an admissions officer").click()
        visitor.wait_for_selector(".hc-handoff-status")
        staff.reload()
        staff.get_by_role("button", name="Claim").first.click()
        visitor.wait_for_selector(".hc-msg--announce")

        figures = []
        for n in range(messages):
            text = f"Message {n} from the officer ({secrets.token_hex(3)})"
            staff.get_by_label("Your reply").fill(text)
            started = time.monotonic()
            staff.get_by_role("button", name="Send").click()
            visitor.locator(".hc-msg--staff", has_text=text).wait_for(timeout=30000)
            figures.append((time.monotonic() - started) * 1000)
        staff.get_by_role("button", name="Close the chat").click()
        return figures
    finally:
        staff_context.close()
        visitor_context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--messages", type=int, default=10)
    parser.add_argument("--poll-ms", type=int, nargs="+", default=[1000])
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as workdir:
        settings = settings_on_free_ports(f"sqlite:///{workdir}/conversations.db")
        stack = Stack(settings, model=DEFAULT_MODEL, log_dir=Path(workdir) / "logs")
        started = time.monotonic()
        stack.start()
        print(f"stack up in {time.monotonic() - started:.0f} s")
        password = secrets.token_urlsafe(12)
        console = Console(dataclasses.replace(settings, rasa_token=stack.token))
        console.prepare()
        console.auth.set_password(OFFICER, password)
        console.close()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                for poll_ms in args.poll_ms:
                    figures = measure(stack, password, args.messages, poll_ms, browser)
                    q = statistics.quantiles(figures, n=10) if len(figures) >= 2 else figures
                    print(
                        f"widget polling every {poll_ms} ms: Send -> shown in the widget, {len(figures)} messages: "
                        f"median {statistics.median(figures):.0f} ms, p90 {q[-1]:.0f} ms, max {max(figures):.0f} ms"
                    )
                browser.close()
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
