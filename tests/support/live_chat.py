"""Helpers for the live hand-off tests: Rasa's append endpoint on a local port, and hand-offs to poll.

The web server stores staff messages through Rasa's ``POST /conversations/<id>/tracker/events``.
These tests do not start the Rasa server (that needs a trained model; the browser test covers the
whole stack), so :class:`RasaAppendServer` serves that one endpoint the way ``rasa/server.py`` does:
it checks the token, turns the JSON into Rasa events with ``Event.from_parameters``, applies them to
the conversation's tracker and saves it with Rasa's own ``SQLTrackerStore``. What lands in the
``events`` table is therefore what Rasa writes.
"""

from __future__ import annotations

import asyncio
import json
import threading
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

from core.handoff import HANDOFF_SLOT, key_hash
from core.settings import PROJECT_ROOT

RASA_TOKEN = "rasa-token-for-tests"
HANDOFF_TOKEN = "handoff-token-for-tests"
SECRET = "visitor-secret-one"
OTHER_SECRET = "visitor-secret-two"


@lru_cache(maxsize=1)
def project_domain() -> Domain:
    """The project's domain (it declares the ``handoff`` slot), as the Rasa server loads it."""
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def rasa_store(url: str) -> SQLTrackerStore:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SQLTrackerStore(project_domain(), dialect="sqlite", db=parsed.database)
    return SQLTrackerStore(
        project_domain(),
        dialect="postgresql",
        host=parsed.host,
        port=parsed.port or 5432,
        db=parsed.database,
        username=parsed.username,
    )


class RasaAppendServer:
    """``POST /conversations/<id>/tracker/events?token=`` as Rasa's server handles it."""

    def __init__(self, database_url: str, token: str = RASA_TOKEN) -> None:
        self.store = rasa_store(database_url)
        self.token = token
        self.received: List[Tuple[str, List[Dict[str, Any]]]] = []
        self.fail_with: Optional[int] = None  # answer this status instead (a failing Rasa)
        self._lock = threading.Lock()  # Rasa's lock store: one append per conversation at a time
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = server.handle(parts.path, parse_qs(parts.query), body)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def handle(self, path: str, query: Dict[str, List[str]], body: bytes) -> Tuple[int, Dict[str, Any]]:
        prefix, suffix = "/conversations/", "/tracker/events"
        if not (path.startswith(prefix) and path.endswith(suffix)):
            return 404, {"status": "failure"}
        if query.get("token") != [self.token]:
            return 401, {"status": "failure", "reason": "NotAuthenticated"}
        if self.fail_with:
            return self.fail_with, {"status": "failure", "reason": "ConversationError"}
        sender_id = unquote(path[len(prefix) : -len(suffix)])
        raw = json.loads(body)
        events = [Event.from_parameters(item) for item in (raw if isinstance(raw, list) else [raw])]
        with self._lock:
            self.received.append((sender_id, raw))
            tracker = asyncio.run(self.store.retrieve(sender_id)) or DialogueStateTracker(
                sender_id, project_domain().slots
            )
            for event in events:
                tracker.update(event, project_domain())
            asyncio.run(self.store.save(tracker))
        return 200, {"sender_id": sender_id}

    def slot(self, sender_id: str) -> Any:
        """The conversation's ``handoff`` slot as Rasa would read it now."""
        tracker = asyncio.run(self.store.retrieve(sender_id))
        return tracker.get_slot(HANDOFF_SLOT) if tracker else None

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.store.engine.dispose()


def queue_request(client: Any, sender_id: str, secret: str = SECRET, token: str = HANDOFF_TOKEN, **extra: Any) -> Any:
    """What ``action_start_handoff`` sends to put a conversation in the queue."""
    body = {"sender_id": sender_id, "key_hash": key_hash(secret), "program": "msit", **extra}
    return client.post("/handoff/queue", json=body, headers={"X-Handoff-Token": token})


def poll(client: Any, sender_id: str, secret: Optional[str] = SECRET, after: int = 0) -> Any:
    """What the widget asks every second."""
    headers = {"X-Handoff-Secret": secret} if secret is not None else {}
    return client.get(f"/handoff/{sender_id}/events?after={after}", headers=headers)


def visitor_says(rasa: RasaAppendServer, sender_id: str, text: str, at: float) -> None:
    """A visitor message stored as the Rasa server stores it (with a session start on first contact)."""
    from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered

    tracker = asyncio.run(rasa.store.retrieve(sender_id))
    events: List[Event] = []
    if tracker is None:
        tracker = DialogueStateTracker(sender_id, project_domain().slots)
        events += [ActionExecuted("action_session_start", timestamp=at - 1), SessionStarted(timestamp=at - 1)]
    events.append(UserUttered(text, {"name": "request_human", "confidence": 0.97}, [], timestamp=at))
    for event in events:
        tracker.update(event, project_domain())
    asyncio.run(rasa.store.save(tracker))
