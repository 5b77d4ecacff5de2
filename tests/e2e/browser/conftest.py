"""Fixtures for the chat-widget browser tests (headless Debian Chromium via Python playwright).

The end-to-end tests use the ``stack`` fixture from ``tests/conftest.py`` (real action server, Rasa
server and web server). The widget-only tests use ``fake_rasa`` / ``host_page`` from here.
"""

from __future__ import annotations

import pytest

from tests.support.widget_harness import (
    FakeRasa,
    ServerThread,
    launch_chromium,
    make_fake_rasa,
    make_host_page,
    make_web_app,
)


@pytest.fixture(scope="module")
def chromium(chromium_path):
    """Headless Debian Chromium (``chromium_path`` from tests/conftest.py skips, or fails in CI, without it).

    Module-scoped: Playwright's sync API keeps an asyncio loop running in the main thread while it
    is open, which would break later tests that run coroutines (e.g. Rasa's tracker store)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p, chromium_path)
        yield browser
        browser.close()


@pytest.fixture
def context(chromium):
    """A fresh browser context per test: empty localStorage, desktop size."""
    ctx = chromium.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(20000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    pg = context.new_page()
    dialogs = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs  # any alert()/confirm() that fired: XSS tests assert this stays empty
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors
    yield pg


@pytest.fixture(scope="session")
def fake_state():
    return FakeRasa()


@pytest.fixture(scope="session")
def fake_rasa_server(fake_state):
    server = ServerThread(make_fake_rasa(fake_state)).start()
    yield server
    server.stop()


@pytest.fixture
def fake_rasa(fake_state, fake_rasa_server):
    """The fake Rasa REST server, reset for each test (delay 0, status 200, nothing received)."""
    with fake_state.lock:
        fake_state.received.clear()
    fake_state.delay = 0.0
    fake_state.status = 200
    fake_state.error = "boom"
    yield fake_rasa_server
    fake_state.delay = 0.0
    fake_state.status = 200
    fake_state.error = "boom"


@pytest.fixture(scope="session")
def host_page():
    server = ServerThread(make_host_page()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_web(fake_rasa_server):
    """The real web app (index.html) with the widget pointed at the fake Rasa server."""
    server = ServerThread(make_web_app(fake_rasa_server.url)).start()
    yield server
    server.stop()
