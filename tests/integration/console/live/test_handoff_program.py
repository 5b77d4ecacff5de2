"""The program an officer sees for a live chat, when the action server queues it from a program's page.

The action server (``action_start_handoff``) calls the web server's queue endpoint over HTTP, as in
production; the web app is served on a local port for it. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from typing import Any, Dict, Iterator, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from core.handoff import key_hash
from tests.support.live_chat import HANDOFF_TOKEN, SECRET

MSIT_PAGE = {"program": "msit", "page_url": "https://admissions.example/msit"}
HOME_PAGE = {"page_url": "https://admissions.example/"}


def free_port() -> int:
    """A free port in 18000-18999 (the range these tests may use)."""
    for port in random.sample(range(18000, 19000), 1000):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18000-18999")


@pytest.fixture
def web_server(live_app, monkeypatch) -> Iterator[str]:
    """The web app on a local port, where the action server's hand-off desk finds it."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", free_port(), live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("HANDOFF_URL", url)
    monkeypatch.setenv("HANDOFF_TOKEN", HANDOFF_TOKEN)
    yield url
    server.shutdown()
    thread.join(timeout=10)


def accept_live_chat(
    sender_id: str, metadata: Dict[str, Any], session_metadata: Dict[str, Any], program: Optional[str]
):
    """The visitor clicks "Chat with an admissions officer": ``action_start_handoff`` runs as Rasa calls it."""
    from actions.handoff import ActionStartHandoff

    latest = {
        "intent": {"name": "handoff_accept", "confidence": 1.0},
        "entities": [],
        "text": "/handoff_accept",
        "metadata": {**metadata, "handoff_key": key_hash(SECRET)},
    }
    slots = {"program": program, "topic": None, "session_started_metadata": session_metadata}
    tracker = Tracker(sender_id, slots, latest, [], False, None, None, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionStartHandoff().run(dispatcher, tracker, {"responses": {}}))
    assert [m.get("response") for m in dispatcher.messages] == ["utter_handoff_queued"], dispatcher.messages
    return events


@pytest.mark.parametrize(
    "metadata, program, shown",
    [
        (MSIT_PAGE, None, "MSIT"),  # asked on the /msit page without naming a program
        (HOME_PAGE, None, "MSIT"),  # started on /msit, then went on to the home page
        (MSIT_PAGE, "mism", "MISM"),  # the program the conversation is about comes first
    ],
)
def test_the_live_chat_header_names_the_program_of_the_page_the_chat_started_on(
    web_server, live, jane, metadata, program, shown
):
    live.handoffs.set_available("admissions", "Jane", True)
    accept_live_chat("visitor-a", metadata, MSIT_PAGE, program)
    handoff = live.handoffs.open_for("visitor-a")
    assert handoff is not None
    page = jane.get(f"/staff/live/{handoff.id}").get_data(as_text=True)
    assert f"Program: {shown}." in page and "Program: –" not in page
    queue = jane.get("/staff/live").get_data(as_text=True)
    assert f"<td>{shown}</td>" in queue
