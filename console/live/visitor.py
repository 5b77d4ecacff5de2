"""The live hand-off's endpoints for the widget and the action server (docs/handoff.md, "HTTP contract").

``GET  /handoff/availability``             anyone: whether live chat can be offered now.
``POST /handoff/queue``                    the action server (``X-Handoff-Token``): queue a conversation.
``GET  /handoff/<sender_id>/events``       the widget (``X-Handoff-Secret``): state and staff messages.
``POST /handoff/<sender_id>/end``          the widget (``X-Handoff-Secret``): the visitor ends the chat.

The widget is served by this web server, so these are same-origin calls; they authenticate with the
per-conversation secret (or the internal token) rather than a cookie, so they are CSRF-exempt. A wrong
secret and an unknown conversation get the same 403, so the endpoint reveals nothing about which
conversations exist. Answers are never cached.
"""

from __future__ import annotations

import hmac
from typing import Any, Optional, Tuple

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from console.common import console
from console.data.privacy import clean_text
from console.live.chat import LiveChat, LiveError
from console.live.handoffs import Handoff, KeyMismatch
from console.live.rasa_api import RasaError
from core.handoff import INTERNAL_TOKEN_HEADER, SECRET_HEADER, secret_matches, valid_key_hash

MAX_SENDER_ID = 255
MAX_PROGRAM = 64

bp = Blueprint("handoff", __name__, url_prefix="/handoff")


def register(app: Flask) -> None:
    """Mount the blueprint and keep the app's CSRF protection (if any) off these endpoints."""
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)


def _live() -> LiveChat:
    staff_console = console()
    staff_console.prepare()
    return staff_console.live


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def _forbidden() -> Tuple[Response, int]:
    return jsonify(error="forbidden"), 403


def _valid_sender(sender_id: Any) -> bool:
    return (
        isinstance(sender_id, str)
        and 0 < len(sender_id) <= MAX_SENDER_ID
        and clean_text(sender_id, MAX_SENDER_ID) == sender_id
    )


def _visitor_handoff(sender_id: str) -> Optional[Handoff]:
    """The conversation's latest hand-off when the request carries its secret, else ``None``."""
    if not _valid_sender(sender_id):
        return None
    handoff = _live().handoffs.latest_for(sender_id)
    if handoff is None or not secret_matches(request.headers.get(SECRET_HEADER), handoff.key_hash):
        return None
    return handoff


@bp.get("/availability")
def availability() -> Any:
    return jsonify(_live().availability())


@bp.post("/queue")
def queue() -> Any:
    expected = str(current_app.config["SETTINGS"].handoff_token or "")
    given = request.headers.get(INTERNAL_TOKEN_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        return jsonify(error="unauthorized"), 401
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="bad request", reason="a JSON object is required"), 400
    sender_id, key_hash, program = body.get("sender_id"), body.get("key_hash"), body.get("program")
    if not isinstance(sender_id, str) or not _valid_sender(sender_id):
        return jsonify(error="bad request", reason="sender_id"), 400
    if not isinstance(key_hash, str) or not valid_key_hash(key_hash):
        return jsonify(error="bad request", reason="key_hash"), 400
    if program is not None and not (_valid_sender(program) and len(program) <= MAX_PROGRAM):
        return jsonify(error="bad request", reason="program"), 400
    try:
        return jsonify(_live().queue(sender_id, key_hash, program or None))
    except LiveError as error:
        return jsonify(error="unavailable", reason=str(error)), error.status
    except KeyMismatch:
        return _forbidden()


@bp.get("/<path:sender_id>/events")
def visitor_events(sender_id: str) -> Any:
    handoff = _visitor_handoff(sender_id)
    if handoff is None:
        return _forbidden()
    try:
        after = max(0, min(int(request.args.get("after", "0") or 0), 2**62))
    except ValueError:
        return jsonify(error="bad request", reason="after"), 400
    live = _live()
    handoff = live.expire_if_stale(handoff)
    found = live.staff_events(handoff, after)
    return jsonify(
        state=handoff.status if handoff.is_open else "none",
        staff=handoff.claimed_name if handoff.is_open else None,
        events=found,
        last_id=found[-1]["id"] if found else after,
    )


@bp.post("/<path:sender_id>/end")
def end(sender_id: str) -> Any:
    handoff = _visitor_handoff(sender_id)
    if handoff is None:
        return _forbidden()
    try:
        _live().end_by_visitor(handoff.sender_id)
    except RasaError as error:
        return jsonify(error="unavailable", reason=str(error)), 503
    return jsonify(state="none")
