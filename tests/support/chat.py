"""Talking to a running stack the way the widget does: REST posts, socket.io, page metadata."""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Tuple

import pytest


def post(url: str, payload: Dict[str, Any], headers: Optional[Dict[str, str]] = None):
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read()), response.headers


def say(stack, sender: str, text: str) -> List[Dict[str, Any]]:
    replies, _ = post(f"{stack.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": text})
    return replies


def texts(replies: List[Dict[str, Any]]) -> str:
    """The replies' text, one per line."""
    return "\n".join(r.get("text", "") for r in replies)


def socketio_exchange(stack, *emits: Tuple[str, Dict[str, Any]]) -> Tuple[str, List[Dict[str, Any]]]:
    """Connect a socket.io client to Rasa, emit the events, wait for the first bot message.

    Returns the client's sid (the conversation id Rasa uses) and the bot messages received.
    """
    socketio = pytest.importorskip("socketio")
    client = socketio.Client(reconnection=False)
    replies: List[Dict[str, Any]] = []
    answered = threading.Event()

    @client.on("bot_uttered")
    def on_bot(message: Dict[str, Any]) -> None:
        replies.append(message)
        answered.set()

    client.connect(stack.rasa_url, transports=["polling"], socketio_path="/socket.io")
    sid = client.get_sid()
    try:
        for event, data in emits:
            client.emit(event, data)
        assert answered.wait(30), "no reply over socket.io"
    finally:
        client.disconnect()
    return sid, replies


def ask(stack, text: str, program: Optional[str] = None, sender: Optional[str] = None) -> List[Dict[str, Any]]:
    metadata: Dict[str, Any] = {"page_url": f"http://localhost/{program or ''}"}
    if program:
        metadata["program"] = program
    body = {"sender": sender or f"page-{uuid.uuid4()}", "message": text, "metadata": metadata}
    replies, _ = post(f"{stack.rasa_url}/webhooks/rest/webhook", body)
    return replies


def shown(replies: List[Dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def buttons(replies: List[Dict[str, Any]]) -> List[str]:
    return [b["title"] for r in replies for b in r.get("buttons") or []]
