"""Helpers for the chat-widget browser tests and the latency benchmarks.

* ``ServerThread`` serves any WSGI app on a (free) port in a background thread and can be stopped
  and started again on the same port (used to simulate the Rasa server going away).
* ``make_fake_rasa`` is a tiny stand-in for Rasa's REST channel, for widget-only tests (rendering,
  XSS safety, link rules, history, time-outs) that need neither a trained model nor the bot.
* ``make_host_page`` serves ``website/static`` plus a bare third-party page that embeds the widget with
  one script tag, so the embed snippet and its data-* options are tested as documented.
* ``ARTIFACT_DIR`` (``tests/.artifacts/``, git-ignored) takes the screenshots the tests take: a test
  never writes tracked files. ``docs/screenshots/`` is refreshed by copying from there on purpose.
* ``launch_chromium`` starts Debian's Chromium (never ``playwright install``); ``run_axe`` injects
  the vendored axe-core and returns its violations.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # tests/support/ -> the project

STATIC_DIR = PROJECT_ROOT / "website" / "static"
AXE_PATH = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ARTIFACT_DIR = PROJECT_ROOT / "tests" / ".artifacts"
SCREENSHOT_DIR = ARTIFACT_DIR / "screenshots"

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# WCAG 2.0/2.1/2.2 A and AA rules plus axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def knowledge_contact():
    """The admissions contact of the knowledge file: what the pages give the widget (data-contact-*)."""
    from core.knowledge import load_knowledge

    return load_knowledge().contact


CONTACT = knowledge_contact()
UNREACHABLE_EMAIL = CONTACT.email
# The data-* attributes a page embedding the widget sets for the contact (as website/templates/base.html does).
CONTACT_DATA = {"contact-office": CONTACT.office, "contact-email": CONTACT.email, "contact-phone": CONTACT.phone}


logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log noise in test output


class ServerThread:
    """A werkzeug server for ``app`` on 127.0.0.1 in a daemon thread.

    Without a port it binds port 0 at once, so the system's choice is held from the start (no window
    in which another process can take a port picked in advance); ``stop()`` then ``start()`` reopens
    the same port, for tests that restart a server where a page expects it.
    """

    def __init__(self, app, port: Optional[int] = None) -> None:
        self.app = app
        self._thread: Optional[threading.Thread] = None
        self._server = None if port else make_server("127.0.0.1", 0, app, threaded=True)
        self.port = port or self._server.server_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServerThread":
        deadline = time.monotonic() + 10
        while self._server is None:
            try:
                self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
            except OSError:  # port still in TIME_WAIT after a stop: retry briefly
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:  # shutdown() waits for serve_forever(): only once started
                self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


# --------------------------------------------------------------------------------- fake Rasa

GREETING = "Hi! I'm the Heinz Admissions Assistant. I can help with the MISM and MSIT programs."
GREETING_BUTTONS = [
    {"title": "Application deadlines", "payload": "/ask_deadlines"},
    {"title": "MSIT (online)", "payload": '/inform{"program":"msit"}'},
]
DEADLINES = (
    "MISM deadlines for the August 2027 start:\n"
    "• Round 1: December 1, 2026\n"
    "• Round 2: January 10, 2027\n"
    "- Final round: February 1, 2027\n"
    "\n"
    "Details: https://www.heinz.cmu.edu/programs/information-systems-management-master/admissions-how-to-apply.php."
    "\nQuestions? Write to hnzadmit@andrew.cmu.edu."
)
NAMED_LINKS_URL = "https://www.heinz.cmu.edu/programs/information-systems-management-master/admissions-how-to-apply.php"
NAMED_LINKS = (
    f"To apply to MISM, see the [MISM how-to-apply page]({NAMED_LINKS_URL}).\n"
    "• Fees: [application fee](https://www.heinz.cmu.edu/admissions/application-fee.php)\n"
    "• Not a link: [x](javascript:alert(1)) nor [y](data:text/html,<b>z</b>)\n"
    "Questions? [Write to admissions](mailto:hnzadmit@andrew.cmu.edu) or see https://www.heinz.cmu.edu/admissions/."
)
# Buttons as the action server now sends them: an intent with entities, to be sent back verbatim.
PROGRAM_BUTTONS = [
    {"title": "Full MISM deadlines", "payload": '/ask_deadlines{"program":"mism","detail":"full"}'},
    {"title": "Switch to MSIT", "payload": '/ask_how_to_apply{"program":"msit"}'},
]
# An answer the visitor may rate, as Rasa's REST channel sends it: the message, then the marker the
# answer action adds as a custom payload (actions/actions.py).
RATED_ANSWER = "MISM tuition for 2026-27 is on the official cost page."
FEEDBACK_REPLIES = {
    '/feedback{"helpful":"yes"}': "Thanks! Glad that helped.",
    '/feedback{"helpful":"no"}': "Sorry about that — what were you looking for?",
}
TRICKY_LINKS = (
    "Bad: javascript:alert(1) and [click](javascript:alert(2)) and data:text/html,<b>x</b>\n"
    "Good: [Heinz](https://www.heinz.cmu.edu/) and (see https://www.heinz.cmu.edu/about/rankings.php)\n"
    "<b>not bold</b> <img src=x onerror=alert(3)>"
)


@dataclass
class FakeRasa:
    """State of the fake server: what it received and how it should behave."""

    received: List[Dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0  # seconds before answering (to exercise the widget's time-out)
    status: int = 200  # HTTP status of webhook replies (500 = server error)
    error: str = "boom"  # the "error" of a non-200 reply (the project's REST channel explains a 503)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def messages(self) -> List[str]:
        with self.lock:
            return [r["message"] for r in self.received]

    def metadata(self) -> List[Any]:
        """The ``metadata`` of each message received (``None`` when a message had none)."""
        with self.lock:
            return [r.get("metadata") for r in self.received]

    def reply(self, message: str) -> List[Dict[str, Any]]:
        if message == "/greet":
            return [{"text": GREETING, "buttons": GREETING_BUTTONS}]
        if message == "/ask_deadlines" or message.startswith("/ask_deadlines{"):
            return [{"text": DEADLINES}]
        if message == "named links":
            return [{"text": NAMED_LINKS}]
        if message == "program buttons":
            return [{"text": "MISM: apply by January 10, 2027.", "buttons": PROGRAM_BUTTONS}]
        if message.startswith("/inform"):
            return [
                {"text": "MSIT is online and part-time."},
                {"text": "Anything else?", "buttons": GREETING_BUTTONS[:1]},
            ]
        if message.startswith("echo:"):
            return [{"text": message[len("echo:") :]}]
        if message == "links":
            return [{"text": TRICKY_LINKS}]
        if message == "nothing":
            return []
        if message.startswith("rated answer"):
            return [{"text": RATED_ANSWER, "buttons": GREETING_BUTTONS[:1]}, {"custom": {"feedback": True}}]
        if message in FEEDBACK_REPLIES:
            return [{"text": FEEDBACK_REPLIES[message]}]
        return [{"text": f"You said: {message}"}]


def make_fake_rasa(state: FakeRasa) -> Flask:
    app = Flask("fake_rasa")

    @app.after_request
    def cors(resp: Response) -> Response:
        resp.headers["Access-Control-Allow-Origin"] = "*"
        resp.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept"
        resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        return resp

    @app.get("/")
    def hello() -> str:
        return "Hello from Rasa: fake"

    @app.route("/webhooks/rest/webhook", methods=["POST", "OPTIONS"])
    def webhook():
        if request.method == "OPTIONS":
            return "", 204
        body = request.get_json(force=True)
        with state.lock:
            state.received.append(body)
        if state.delay:
            time.sleep(state.delay)
        if state.status != 200:
            return jsonify({"error": state.error}), state.status
        return jsonify([dict(r, recipient_id=body["sender"]) for r in state.reply(body["message"])])

    return app


# --------------------------------------------------------------------------------- host page


def make_host_page() -> Flask:
    """A bare third-party page: ``/?server-url=…&timeout-ms=…`` embeds the widget with one tag."""
    app = Flask("host_page", static_folder=str(STATIC_DIR), static_url_path="/static")

    @app.get("/")
    def page() -> str:
        attrs = " ".join(
            f'data-{html.escape(k)}="{html.escape(v)}"' for k, v in request.args.items() if k.replace("-", "").isalnum()
        )
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<title>Embed test</title></head><body><main><h1>Some other site</h1>"
            "<p><a href='#top'>A link on the host page</a></p></main>"
            f"<script src='/static/chat-widget.js' {attrs} defer></script></body></html>"
        )

    return app


def make_web_app(rasa_url: str):
    """The real web app (``website.create_app``) with the widget pointed at ``rasa_url``."""
    from core.settings import Settings
    from website import create_app

    return create_app(Settings(public_rasa_url=rasa_url, secret_key="test-secret"))


# --------------------------------------------------------------------------------- browser


def after_failed_image_loads(page) -> None:
    """Return once an image requested now has failed to load: an image the message might have
    injected (requested earlier, from the same origin) would have run its onerror by then."""
    page.evaluate(
        """() => new Promise(done => {
            const probe = new Image();
            probe.onerror = probe.onload = () => done();
            probe.src = 'x?probe=' + Date.now();
        })"""
    )


def launch_chromium(playwright, executable_path: str = CHROMIUM_PATH):
    return playwright.chromium.launch(executable_path=executable_path, args=CHROMIUM_ARGS)


def run_axe(page, context: str = "document") -> List[Dict[str, Any]]:
    """Inject axe-core (vendored, no network) and return its violations for the page."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_PATH))
    result = page.evaluate(
        """async ([ctx, tags]) => {
            const r = await axe.run(ctx === 'document' ? document : ctx,
                                    {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
        }""",
        [context, AXE_TAGS],
    )
    return result


def serious(violations: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def format_violations(violations: List[Dict[str, Any]]) -> str:
    return json.dumps(violations, indent=2)


# --------------------------------------------------------------------------------- page objects


class WidgetPage:
    """Small page object for the widget (selectors live here, not in every test)."""

    LAUNCHER = ".hc-launcher"
    PANEL = ".hc-panel"
    LOG = ".hc-log[role=log]"
    INPUT = ".hc-input"
    BOT = ".hc-msg--bot"
    USER = ".hc-msg--user"
    QUICK = ".hc-quick-btn"

    def __init__(self, page) -> None:
        self.page = page

    def open_with_mouse(self) -> None:
        self.page.click(self.LAUNCHER)
        self.page.wait_for_selector(self.PANEL, state="visible")

    def bot_count(self) -> int:
        return self.page.locator(self.BOT).count()

    def wait_bot_count(self, n: int, timeout: float = 30000) -> None:
        self.page.wait_for_function(
            "n => document.querySelectorAll('.hc-msg--bot').length >= n", arg=n, timeout=timeout
        )

    def send(self, text: str) -> None:
        self.page.fill(self.INPUT, text)
        self.page.press(self.INPUT, "Enter")

    def ask(self, text: str, timeout: float = 30000) -> str:
        """Send ``text`` and return the text of the first new bot message."""
        before = self.bot_count()
        self.send(text)
        self.wait_bot_count(before + 1, timeout)
        return self.page.locator(self.BOT).nth(before).inner_text()

    def log_text(self) -> str:
        return self.page.locator(self.LOG).inner_text()
