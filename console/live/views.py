"""The console's live hand-off pages: availability, the queue, claiming and the chat (docs/handoff.md).

Mounted by :func:`console.init_app`, so every request passes the same login and CSRF guard
as the rest of the console. Who may act is decided on the server (:class:`console.live.LiveChat`):
only the staff member who claimed a chat can send, hand back or close it, whatever the page shows.

The pages work without scripts (plain forms); ``static/live.js`` adds what needs one: the queue
count in the navigation refreshed every few seconds (its request also tells the server this staff
member's console is still open) and, on the chat page, new turns every second and sending without a
reload.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from console.common import EXTENSION, console
from console.data.events import Turn
from console.live.chat import LiveChat, LiveError
from console.live.rasa_api import RasaError
from core.handoff import CLOSED_BY_STAFF, HANDED_BACK, LIVE, MESSAGE

# Turns the chat page shows (the transcript page shows actions and slots too).
CHAT_KINDS = ("visitor", "bot")


def _live() -> LiveChat:
    return console().live


def _display_name() -> str:
    member = _live().handoffs.staff_member(g.staff_user)
    return str(member["display_name"]) if member else g.staff_user


def live_context() -> Dict[str, Any]:
    """The queue count every console page shows in its navigation."""
    if not g.get("staff_user") or EXTENSION not in current_app.extensions:
        return {}
    try:
        return {"live_counts": _live().handoffs.queue_counts()}
    except SQLAlchemyError:  # the page saying the database is down must still render
        return {}


def _refused(error: Exception, status: int) -> Any:
    return render_template("staff/error.html", title="Not possible", message=str(error)), status


# -- pages --------------------------------------------------------------------------------------
def live_page() -> Any:
    live = _live()
    live.handoffs.heartbeat(g.staff_user)
    live.expire_stale()
    member = live.handoffs.staff_member(g.staff_user)
    return render_template(
        "staff/live.html",
        member=member,
        display_name=member["display_name"] if member else g.staff_user,
        hours=live.hours_text(),
        availability=live.availability(),
        entries=live.queue_entries(),
    )


def set_availability() -> Any:
    available = request.form.get("available") == "1"
    _live().handoffs.set_available(g.staff_user, request.form.get("display_name", ""), available)
    flash("You are available for live chat." if available else "You are no longer available for live chat.")
    return redirect(url_for("staff.live.live_page"))


def claim(handoff_id: int) -> Any:
    try:
        _live().claim(handoff_id, g.staff_user, _display_name())
    except LiveError as error:
        flash(str(error), "error")
        return redirect(url_for("staff.live.live_page"))
    except RasaError as error:
        flash(f"Not claimed: {error}", "error")
        return redirect(url_for("staff.live.live_page"))
    return redirect(url_for("staff.live.live_chat", handoff_id=handoff_id))


def live_chat(handoff_id: int) -> Any:
    live = _live()
    handoff = live.handoffs.get(handoff_id)
    if handoff is None:
        abort(404)
    turns = [turn for turn in live.turns(handoff.sender_id) if turn.kind in CHAT_KINDS]
    return render_template(
        "staff/live_chat.html",
        handoff=handoff,
        turns=turns,
        mine=handoff.status == LIVE and handoff.claimed_by == g.staff_user,
        last_id=max((turn.event_id for turn in turns), default=0),
        hand_back=HANDED_BACK,
        close=CLOSED_BY_STAFF,
    )


def send(handoff_id: int) -> Any:
    try:
        _live().send(handoff_id, g.staff_user, request.form.get("text", ""))
    except LiveError as error:
        if error.status in (403, 404):
            return _refused(error, error.status)
        flash(str(error), "error")
    except RasaError as error:
        flash(str(error), "error")
    return redirect(url_for("staff.live.live_chat", handoff_id=handoff_id))


def end(handoff_id: int) -> Any:
    kind = request.form.get("action", "")
    try:
        _live().end_by_staff(handoff_id, g.staff_user, kind)
    except LiveError as error:
        if error.status in (403, 404):
            return _refused(error, error.status)
        flash(str(error), "error")
        return redirect(url_for("staff.live.live_chat", handoff_id=handoff_id))
    except RasaError as error:
        flash(str(error), "error")
        return redirect(url_for("staff.live.live_chat", handoff_id=handoff_id))
    flash("Handed back to the assistant." if kind == HANDED_BACK else "Chat closed.")
    return redirect(url_for("staff.live.live_page"))


# -- JSON for live.js ---------------------------------------------------------------------------
def api_summary() -> Any:
    """The queue count for the navigation; also the heartbeat of this staff member's console."""
    live = _live()
    live.handoffs.heartbeat(g.staff_user)
    live.expire_stale()
    return jsonify(**live.handoffs.queue_counts())


def chat_turn(turn: Turn, fmt_time: Callable[..., str]) -> Dict[str, Any]:
    """A turn as the chat page's script draws it (text only: it is set as textContent)."""
    if turn.kind == "visitor":
        kind = "visitor"
    elif turn.is_staff:
        kind = "staff" if turn.handoff_kind == MESSAGE else "note"
    else:
        kind = "bot"
    return {"id": turn.event_id, "kind": kind, "who": turn.speaker, "text": turn.text, "time": fmt_time(turn.timestamp)}


def api_events(handoff_id: int) -> Any:
    live = _live()
    handoff = live.handoffs.get(handoff_id)
    if handoff is None:
        return jsonify(error="not found"), 404
    try:
        after = max(0, min(int(request.args.get("after", "0") or 0), 2**62))
    except ValueError:
        return jsonify(error="after must be a whole number"), 400
    turns = [
        chat_turn(turn, _fmt_time) for turn in live.turns(handoff.sender_id, after, 500) if turn.kind in CHAT_KINDS
    ]
    return jsonify(
        turns=turns,
        last_id=turns[-1]["id"] if turns else after,
        state=handoff.status,
        mine=handoff.status == LIVE and handoff.claimed_by == g.staff_user,
    )


def _fmt_time(timestamp: Any) -> str:
    from console.data.dates import format_time

    return format_time(timestamp, console().tz, True)


def api_send(handoff_id: int) -> Any:
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    try:
        _live().send(handoff_id, g.staff_user, text)
    except LiveError as error:
        return jsonify(error=str(error)), error.status
    except RasaError as error:
        return jsonify(error=str(error)), 502
    return jsonify(ok=True)


LIVE_ROUTES: List[Tuple[str, Callable[..., Any], List[str]]] = [
    ("/live", live_page, ["GET"]),
    ("/live/availability", set_availability, ["POST"]),
    ("/live/<int:handoff_id>", live_chat, ["GET"]),
    ("/live/<int:handoff_id>/claim", claim, ["POST"]),
    ("/live/<int:handoff_id>/send", send, ["POST"]),
    ("/live/<int:handoff_id>/end", end, ["POST"]),
    ("/api/live/summary", api_summary, ["GET"]),
    ("/api/live/<int:handoff_id>/events", api_events, ["GET"]),
    ("/api/live/<int:handoff_id>/messages", api_send, ["POST"]),
]


bp = Blueprint("live", __name__)
for rule, view, methods in LIVE_ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
