"""Fixtures for the live hand-off tests, on SQLite and PostgreSQL (``db_url`` of tests/integration/console/conftest.py):
Rasa's append endpoint on a local port, the web app pointed at it, and two logged-in staff members."""

from __future__ import annotations

import dataclasses
import time

import pytest

from tests.support.console_client import STAFF_PASSWORD, log_in
from tests.support.live_chat import HANDOFF_TOKEN, RASA_TOKEN, RasaAppendServer, visitor_says

OTHER_USER = "sam"


@pytest.fixture
def rasa(db_url):
    server = RasaAppendServer(db_url)
    yield server
    server.close()


@pytest.fixture
def live_settings(settings, rasa):
    return dataclasses.replace(
        settings,
        rasa_internal_url=rasa.url,
        rasa_token=RASA_TOKEN,
        handoff_token=HANDOFF_TOKEN,
        office_hours="always",
        handoff_queue_minutes=10,
    )


@pytest.fixture
def live_app(live_settings, staff_env, rasa):
    from website import create_app

    now = time.time()
    visitor_says(rasa, "visitor-a", "Can I talk to a person about MSIT?", now - 30)
    visitor_says(rasa, "visitor-b", "I need a human please", now - 20)
    app = create_app(live_settings)
    app.config["TESTING"] = True
    console = app.extensions["staff_console"]
    console.prepare()
    console.auth.set_password(OTHER_USER, STAFF_PASSWORD)
    yield app
    console.close()


@pytest.fixture
def live(live_app):
    """The hand-off service the web server uses (staff.live.LiveChat)."""
    return live_app.extensions["staff_console"].live


@pytest.fixture
def visitor(live_app):
    """The widget's side: no login, no cookie."""
    return live_app.test_client()


@pytest.fixture
def jane(live_app):
    client = live_app.test_client()
    assert log_in(client).status_code == 302
    return client


@pytest.fixture
def sam(live_app):
    client = live_app.test_client()
    assert log_in(client, user=OTHER_USER).status_code == 302
    return client
