"""The edge of the real stack: what an anonymous visitor can send, and what local users can read.

Each test here failed before the edge work: a 10 MB body was accepted and stored, a JSON array or an
empty body gave 500, a missing sender landed in a shared ``default`` conversation, a 300-character
sender was answered, the Rasa token was on Rasa's command line, and logs and the SQLite database
were created world-readable. The action-server failures are in test_edge_supervision.py.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import stat
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from sqlalchemy.engine import make_url

from tests.support.chat import say, socketio_exchange, texts
from tests.support.facts import MISM_LENGTH_ANSWER
from tests.support.processes import processes_of

pytestmark = pytest.mark.slow


def post_raw(stack, body: bytes, content_type: str = "application/json") -> Tuple[int, Dict[str, Any]]:
    """POST ``body`` to the widget's webhook; the status and the JSON answer, whatever the status."""
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook", data=body, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def stored_events(stack, sender: str) -> List[Tuple[str, Dict[str, Any]]]:
    database = make_url(stack.settings.database_url).database
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT type_name, data FROM events WHERE sender_id = ? ORDER BY id", (sender,)
        ).fetchall()
    return [(kind, json.loads(data)) for kind, data in rows]


def count_events(stack, sender: Optional[str] = None) -> int:
    database = make_url(stack.settings.database_url).database
    with sqlite3.connect(database) as connection:
        if sender is None:
            return connection.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        return connection.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0]


def test_ten_megabyte_body_is_refused_before_it_is_read(stack):
    """Sanic refuses on the declared length, so the 10 MB never has to cross the wire to be refused."""
    before = count_events(stack)
    with socket.create_connection(("127.0.0.1", stack.settings.rasa_port), timeout=30) as connection:
        connection.sendall(
            b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {10 * 1024 * 1024}\r\n\r\n".encode()
            + b'{"sender": "big", "message": "'
        )
        answer = connection.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert count_events(stack) == before


def test_message_over_the_limit_is_refused_and_not_stored(stack):
    sender = f"edge-{uuid.uuid4()}"
    limit = stack.settings.max_message_chars
    status, answer = post_raw(stack, json.dumps({"sender": sender, "message": "x" * (limit + 1)}).encode())
    assert status == 413 and f"longer than {limit} characters" in answer["error"]
    # A 900 KB message, under the server's 1 MB body cap, is refused by the channel the same way.
    status, _ = post_raw(stack, json.dumps({"sender": sender, "message": "y" * 900_000}).encode())
    assert status == 413
    assert stored_events(stack, sender) == []


@pytest.mark.parametrize("body", [b"[1, 2]", b"", b"not json", b'"just a string"', b"null", b"{"])
def test_malformed_bodies_get_400(stack, body):
    status, answer = post_raw(stack, body)
    assert status == 400 and "JSON object" in answer["error"]


@pytest.mark.parametrize(
    "payload", [{"message": "hi"}, {"sender": None, "message": "hi"}, {"sender": "", "message": "hi"}]
)
def test_missing_sender_is_refused_not_shared(stack, payload):
    before = count_events(stack, "default")
    status, answer = post_raw(stack, json.dumps(payload).encode())
    assert status == 400 and "'sender' is required" in answer["error"]
    assert count_events(stack, "default") == before


@pytest.mark.parametrize("sender", ["x" * 300, "a b", "a\u0000b", "../../etc/passwd", "<script>"])
def test_malformed_sender_is_refused(stack, sender):
    status, answer = post_raw(stack, json.dumps({"sender": sender, "message": "hi"}).encode())
    assert status == 400 and "'sender'" in answer["error"]
    assert count_events(stack, sender) == 0


def test_non_text_message_or_metadata_is_refused(stack):
    sender = f"edge-{uuid.uuid4()}"
    for payload in ({"message": 5}, {"message": None}, {"message": "hi", "metadata": "page"}):
        status, _ = post_raw(stack, json.dumps({"sender": sender, **payload}).encode())
        assert status == 400, payload
    assert stored_events(stack, sender) == []


def test_page_metadata_reaches_the_tracker(stack):
    """The widget sends the page it sits on; the edge passes it to Rasa, which stores it with the message."""
    sender = f"edge-{uuid.uuid4()}"
    metadata = {"program": "msit", "page_url": "https://www.heinz.cmu.edu/programs/information-technology-master"}
    status, replies = post_raw(
        stack, json.dumps({"sender": sender, "message": "How long is MISM?", "metadata": metadata}).encode()
    )
    assert status == 200 and MISM_LENGTH_ANSWER in texts(replies)
    user = [data for kind, data in stored_events(stack, sender) if kind == "user"]
    assert metadata.items() <= user[0]["metadata"].items()  # Rasa adds its model and assistant ids
    assert user[0]["input_channel"] == "rest"


def test_a_client_cannot_choose_the_stored_channel_name(stack):
    sender = f"edge-{uuid.uuid4()}"
    post_raw(stack, json.dumps({"sender": sender, "message": "hi", "input_channel": "x" * 5000}).encode())
    user = [data for kind, data in stored_events(stack, sender) if kind == "user"]
    assert user[0]["input_channel"] == "rest"


def test_socketio_refuses_an_over_long_message(stack):
    sid, replies = socketio_exchange(stack, ("user_uttered", {"message": "x" * (stack.settings.max_message_chars + 1)}))
    assert "longer than" in replies[0]["text"]
    assert count_events(stack, sid) == 0


def test_the_token_is_on_no_command_line(stack):
    pids = processes_of([process.pid for process in stack.processes.values()])
    assert len(pids) >= 3
    for pid in pids:
        try:
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        assert stack.token not in command_line, f"the token is visible in `ps`: {command_line[:200]}"
    # ... and Rasa still has it: the HTTP API answers with the token and refuses without it.
    answer = urllib.request.urlopen(f"{stack.rasa_url}/status?token={stack.token}", timeout=30)
    assert answer.status == 200


def test_logs_and_database_are_not_readable_by_others(stack):
    say(stack, f"edge-{uuid.uuid4()}", "hi")  # the database exists once a conversation is stored
    files = [*stack.log_dir.glob("*.log"), Path(make_url(stack.settings.database_url).database)]
    assert len(files) >= 4
    for path in files:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o037 == 0, f"{path.name} is {oct(mode)}; expected 0600 or 0640"


def test_a_refusal_reaches_the_widget_with_cors_headers(stack):
    """A browser only lets the widget read the refusal's reason when the CORS header is on it too."""
    allowed = stack.settings.cors_origins[0]
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": "a b", "message": "hi"}).encode(),
        headers={"Content-Type": "application/json", "Origin": allowed},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    assert refused.value.headers.get("Access-Control-Allow-Origin") == allowed
