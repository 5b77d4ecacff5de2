"""The conversation list, one transcript with its reviews, and the conversations JSON API."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from console.common import chosen_topic, console, query_int, safe_next
from console.common import sender_id as conversation_id
from console.conversations.queries import ConversationFilter, Cursor, summary_record
from console.data.database import TRANSCRIPT_LIMIT
from console.data.events import Turn, TurnBuilder
from console.data.privacy import display_id, mask_value, url_id
from console.data.review import ReviewError, review_note


def conversations() -> Any:
    staff_console = console()
    flt = ConversationFilter.from_args(request.args)
    before = Cursor.decode(request.args.get("before"))
    after = None if before else Cursor.decode(request.args.get("after"))
    page = staff_console.conversation_queries.conversations(flt, before, after, staff_console.config.page_size)
    return render_template(
        "staff/conversations.html",
        page=page,
        flt=flt,
        args=flt.to_args(),
        total=staff_console.conversation_queries.count_conversations(flt),
        intents=staff_console.vocabulary.intents(),
        programs=list(staff_console.vocabulary.programs()),
    )


def transcript(sender_id: str) -> Any:
    staff_console = console()
    sender_id = conversation_id(sender_id)
    rows = staff_console.store.conversation_events(sender_id)
    summary = staff_console.conversation_queries.conversation(sender_id)
    if not rows and summary is None:
        abort(404)
    turns = visible_turns(list(TurnBuilder(staff_console.threshold, mask_value).build(rows)))
    return render_template(
        "staff/transcript.html",
        sender_id=display_id(sender_id),
        conversation_key=url_id(sender_id),
        turns=turns,
        summary=summary,
        reviews=staff_console.conversation_queries.message_reviews(sender_id),
        topics=console().vocabulary.topic_choices(),
        truncated=len(rows) >= TRANSCRIPT_LIMIT,
        transcript_limit=TRANSCRIPT_LIMIT,
    )


def visible_turns(turns: List[Turn]) -> List[Turn]:
    """Drop action markers whose bot message follows (the bubble already names the action)."""
    shown = []
    for index, turn in enumerate(turns):
        following = turns[index + 1] if index + 1 < len(turns) else None
        if turn.kind == "action" and following is not None and following.kind == "bot":
            continue
        shown.append(turn)
    return shown


def review_conversation() -> Any:
    sender_id = conversation_id(request.form.get("sender_id", ""))
    default = url_for("staff.conversations.transcript", sender_id=url_id(sender_id))
    try:
        console().reviews.set_conversation_status(
            sender_id, request.form.get("status", ""), g.staff_user, request.form.get("note", "")
        )
        flash("Review saved.")
    except ReviewError as error:
        flash(str(error), "error")
    return redirect(safe_next(request.form.get("next"), default))


def review_message() -> Any:
    staff_console = console()
    try:
        event_id = int(request.form.get("event_id", ""))
    except ValueError:
        abort(400)
    message = staff_console.conversation_queries.message(event_id)
    if message is None:
        abort(404)
    status = request.form.get("action", "")
    default = url_for("staff.conversations.transcript", sender_id=url_id(message["sender_id"])) + f"#e{event_id}"
    try:
        label = chosen_topic(status, request.form.get("intent"))
        staff_console.reviews.set_message_status(
            [(event_id, message["sender_id"])], status, g.staff_user, request.form.get("intent")
        )
        flash(review_note(status, 1, label))
    except ReviewError as error:
        flash(str(error), "error")
    return redirect(safe_next(request.form.get("next"), default))


def api_conversations() -> Any:
    staff_console = console()
    flt = ConversationFilter.from_args(request.args)
    limit = max(1, min(query_int(request.args.get("limit"), staff_console.config.page_size), 500))
    page = staff_console.conversation_queries.conversations(flt, Cursor.decode(request.args.get("before")), None, limit)
    return jsonify(
        conversations=[summary_record(row) for row in page.rows],
        next=page.older.encode() if page.older else None,
    )


def api_conversation(sender_id: str) -> Any:
    staff_console = console()
    sender_id = conversation_id(sender_id)
    rows = staff_console.store.conversation_events(sender_id)
    if not rows:
        return jsonify(error="not found"), 404
    # A list first: a feedback click marks the answer before it once it is read.
    turns = list(TurnBuilder(staff_console.threshold, mask_value).build(rows))
    return jsonify(id=display_id(sender_id), ref=url_id(sender_id), turns=[_public_turn(turn) for turn in turns])


def _public_turn(turn: Turn) -> Dict[str, Any]:
    return {
        "event_id": turn.event_id,
        "kind": turn.kind,
        "timestamp": turn.timestamp,
        "text": turn.text,
        "intent": turn.intent,
        "confidence": turn.confidence,
        "entities": [{"entity": name, "value": value} for name, value in turn.entities],
        "missed": turn.miss_reason,
        "answered_unsure": turn.answered_unsure,
        "likely_topic": turn.likely_topic,
        "feedback": turn.feedback,
        "answer_type": turn.answer_type,
        "button": turn.button_title,
        "action": turn.action,
        "buttons": [{"title": b.title, "payload": b.payload, "clicked": b.clicked} for b in turn.buttons],
        "slot_value": turn.slot_value,
    }


ROUTES: List[Tuple[str, Callable[..., Any], List[str]]] = [
    ("/", conversations, ["GET"]),
    ("/conversations/<path:sender_id>", transcript, ["GET"]),
    ("/review/conversation", review_conversation, ["POST"]),
    ("/review/message", review_message, ["POST"]),
    ("/api/conversations", api_conversations, ["GET"]),
    ("/api/conversations/<path:sender_id>", api_conversation, ["GET"]),
]

bp = Blueprint("conversations", __name__)
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
