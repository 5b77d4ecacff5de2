"""The console's pages, downloads and JSON endpoints (a Flask blueprint mounted at ``/staff``).

Request flow: every request to the blueprint passes :func:`_guard` (CSRF check on state-changing
methods, then login check) before its view; pages then call ``Console.refresh`` so what staff see
includes the conversations of the last few seconds. Responses get no-store caching and a strict
Content-Security-Policy (the only script is the console's own ``static/live.js``, which may call
back only to this server).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import OperationalError

from core.clock import office_clock
from core.settings import load_settings
from core.stack_status import degraded_parts, read_stack_status
from core.timeline import stale_facts
from core.topics import ANSWER_TYPE_LABELS, intent_for
from staff.charts import bar_chart, hbar_chart, line_chart
from staff.common import EXTENSION, console, query_int
from staff.config import StaffConfig
from staff.console import Console
from staff.database import TRANSCRIPT_LIMIT
from staff.dates import day_range, format_time, parse_date, today
from staff.events import Turn, TurnBuilder
from staff.export import FORMATS, KINDS, export_chunks, filename
from staff.followup_views import FOLLOWUP_ROUTES, template_helpers
from staff.live_views import LIVE_ROUTES, live_context
from staff.privacy import clean_text, display_id, mask_value, url_id
from staff.queries import (
    CONVERSATION_STATUSES,
    MESSAGE_STATUSES,
    MISS_REASONS,
    ConversationFilter,
    Cursor,
    MissedFilter,
    summary_record,
)
from staff.review import ReviewError, nlu_yaml

PUBLIC_ENDPOINTS = {"staff.login", "staff.static"}
# Requests live.js makes by itself every few seconds: they do not count as use of the session
# (a console left open still logs out after STAFF_IDLE_MINUTES).
POLLING_ENDPOINTS = {"staff.api_summary", "staff.api_events"}
# The signed session cookie carries only the id of the server-side session (staff_sessions).
SESSION_ID = "staff_session"
TREND_RANGES = (7, 30, 90, 365)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:;"
        " form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
}


def build_blueprint(settings: Any, config: Optional[StaffConfig] = None) -> Blueprint:
    """The blueprint with its routes; the console itself is attached to the app on registration."""
    staff_console = Console(settings, config)
    bp = Blueprint("staff", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

    def configure(state: Any) -> None:
        _configure_app(state.app, staff_console)

    bp.record_once(configure)
    bp.before_request(_guard)
    bp.after_request(_security_headers)
    bp.context_processor(_template_helpers)
    bp.context_processor(live_context)
    bp.register_error_handler(CSRFError, _csrf_failed)
    bp.register_error_handler(OperationalError, _database_unavailable)
    bp.context_processor(template_helpers)
    for rule, view, methods in ROUTES + LIVE_ROUTES + FOLLOWUP_ROUTES:
        bp.add_url_rule(rule, view_func=view, methods=methods)
    return bp


def _configure_app(app: Flask, staff_console: Console) -> None:
    """Session cookie flags and CSRF protection, without imposing them on the rest of the app.

    CSRFProtect is installed with checking off by default (unless the app already has it) and the
    blueprint calls ``protect()`` itself, so every state-changing staff request is checked while the
    public pages keep whatever policy the app chose.
    """
    app.extensions[EXTENSION] = staff_console
    if "csrf" not in app.extensions:
        app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
        app.config.setdefault("WTF_CSRF_TIME_LIMIT", staff_console.config.session_hours * 3600)
        CSRFProtect(app)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") not in ("Lax", "Strict"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if staff_console.config.cookie_secure:
        app.config["SESSION_COOKIE_SECURE"] = True


# -- request guards -----------------------------------------------------------------------------
def _wants_json() -> bool:
    """JSON endpoints answer 401/400 in JSON; pages redirect or render HTML."""
    return request.path.startswith(url_for("staff.conversations") + "api/")


def _guard() -> Any:
    current_app.extensions["csrf"].protect()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    user = _logged_in_user()
    if user is None:
        if _wants_json():
            return jsonify(error="login required"), 401
        if request.method != "GET":
            abort(401)
        return redirect(url_for("staff.login", next=request.full_path.rstrip("?")))
    g.staff_user = user
    g.sync = console().refresh()
    return None


def _logged_in_user() -> Optional[str]:
    """The user of this request's server-side session; ``None`` after logout, idle time or expiry."""
    session_id = session.get(SESSION_ID)
    if not session_id:
        return None
    staff_console = console()
    staff_console.prepare()
    user = staff_console.auth.session_user(session_id, touch=request.endpoint not in POLLING_ENDPOINTS)
    if user is None:
        session.pop(SESSION_ID, None)
    return user


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        if request.endpoint == "staff.static" and name == "Cache-Control":
            continue
        response.headers.setdefault(name, value)
    return response


def _csrf_failed(error: CSRFError) -> Any:
    message = "This form has expired or did not come from the console. Reload the page and try again."
    if _wants_json():
        return jsonify(error=message), 400
    return render_template("staff/error.html", title="Form expired", message=message), 400


def _database_unavailable(error: OperationalError) -> Any:
    current_app.logger.error("Staff console database error: %s", error)
    message = "The conversation database is not reachable right now. Try again in a minute."
    return render_template("staff/error.html", title="Database unavailable", message=message), 503


def _safe_next(target: Optional[str], default: str) -> str:
    """Only redirect back into the console (never to another site, never a broken header)."""
    if not target or len(target) > 2000 or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return default
    parts = urlsplit(target)
    prefix = url_for("staff.conversations")
    if parts.scheme or parts.netloc or not parts.path.startswith(prefix) or target.startswith("//"):
        return default
    return target


def _client_address() -> str:
    return request.remote_addr or "unknown"


# -- template helpers ---------------------------------------------------------------------------
def _template_helpers() -> Dict[str, Any]:
    staff_console = current_app.extensions.get(EXTENSION)
    tz = staff_console.tz if staff_console else None

    def fmt_time(timestamp: Optional[float], seconds: bool = False) -> str:
        return format_time(timestamp, tz, seconds) if tz else ""

    def url_with(endpoint: str, args: Dict[str, str], **changes: Any) -> str:
        merged = {**args, **{k: v for k, v in changes.items() if v not in (None, "")}}
        for key, value in changes.items():
            if value in (None, ""):
                merged.pop(key, None)
        return url_for(endpoint, **merged)

    vocabulary = staff_console.vocabulary if staff_console else None
    return {
        "fmt_time": fmt_time,
        "topic_label": vocabulary.topic_label if vocabulary else str,
        "program_label": vocabulary.program_label if vocabulary else str,
        "display_id": display_id,
        "url_id": url_id,
        "pct": lambda v: "–" if v is None else f"{v * 100:.0f}%",
        "conf": lambda v: "–" if v is None else f"{v:.2f}",
        "url_with": url_with,
        "conversation_statuses": CONVERSATION_STATUSES,
        "message_statuses": MESSAGE_STATUSES,
        "staff_user": g.get("staff_user"),
        "sync": g.get("sync"),
        "timezone_name": staff_console.config.timezone_name if staff_console else "",
        "threshold": staff_console.threshold if staff_console else None,
        # The launcher's view of the other servers: a banner while visitors are affected.
        "stack_problems": degraded_parts(read_stack_status()),
    }


# -- login --------------------------------------------------------------------------------------
def login() -> Any:
    target = _safe_next(request.values.get("next"), url_for("staff.conversations"))
    if request.method == "GET":
        if _logged_in_user():
            return redirect(target)
        return render_template("staff/login.html", next=target, error=None)
    staff_console = console()
    staff_console.prepare()
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    address = _client_address()
    if staff_console.auth.locked_out(username, address):
        error = "Too many failed attempts. Wait 15 minutes and try again."
        return render_template("staff/login.html", next=target, error=error, username=username), 429
    if not staff_console.auth.check(username, password):
        staff_console.auth.record_failure(username, address)
        return render_template(
            "staff/login.html", next=target, error="Wrong user name or password.", username=username
        ), 401
    staff_console.auth.clear_failures(username, address)
    session.clear()
    session[SESSION_ID] = staff_console.auth.start_session(username)
    return redirect(target)


def logout() -> Any:
    console().auth.end_session(session.get(SESSION_ID))
    session.clear()
    flash("You have been logged out.")
    return redirect(url_for("staff.login"))


# -- conversations ------------------------------------------------------------------------------
def conversations() -> Any:
    staff_console = console()
    flt = ConversationFilter.from_args(request.args)
    before = Cursor.decode(request.args.get("before"))
    after = None if before else Cursor.decode(request.args.get("after"))
    page = staff_console.queries.conversations(flt, before, after, staff_console.config.page_size)
    return render_template(
        "staff/conversations.html",
        page=page,
        flt=flt,
        args=flt.to_args(),
        total=staff_console.queries.count_conversations(flt),
        intents=staff_console.vocabulary.intents(),
        programs=list(staff_console.vocabulary.programs()),
    )


def _assignable_intents() -> List[str]:
    return console().vocabulary.assignable_intents()


def _sender_id(key: str) -> str:
    """The conversation a URL or form names: by its reference (``c-...``, for private ids) or its id.

    A key that is not clean text (NUL, control characters) names no conversation: 404, before it
    reaches the database (PostgreSQL refuses NUL even as a parameter).
    """
    if not key or clean_text(key, 255) != key:
        abort(404)
    return console().queries.resolve(key) or key


def transcript(sender_id: str) -> Any:
    staff_console = console()
    sender_id = _sender_id(sender_id)
    rows = staff_console.store.conversation_events(sender_id)
    summary = staff_console.queries.conversation(sender_id)
    if not rows and summary is None:
        abort(404)
    turns = visible_turns(list(TurnBuilder(staff_console.threshold, mask_value).build(rows)))
    return render_template(
        "staff/transcript.html",
        sender_id=display_id(sender_id),
        conversation_key=url_id(sender_id),
        turns=turns,
        summary=summary,
        reviews=staff_console.queries.message_reviews(sender_id),
        intents=_assignable_intents(),
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
    sender_id = _sender_id(request.form.get("sender_id", ""))
    default = url_for("staff.transcript", sender_id=url_id(sender_id))
    try:
        console().reviews.set_conversation_status(
            sender_id, request.form.get("status", ""), g.staff_user, request.form.get("note", "")
        )
        flash("Review saved.")
    except ReviewError as error:
        flash(str(error), "error")
    return redirect(_safe_next(request.form.get("next"), default))


def review_message() -> Any:
    staff_console = console()
    try:
        event_id = int(request.form.get("event_id", ""))
    except ValueError:
        abort(400)
    message = staff_console.queries.message(event_id)
    if message is None:
        abort(404)
    status = request.form.get("action", "")
    default = url_for("staff.transcript", sender_id=url_id(message["sender_id"])) + f"#e{event_id}"
    try:
        staff_console.reviews.set_message_status(
            [(event_id, message["sender_id"])], status, g.staff_user, request.form.get("intent")
        )
        flash(_review_note(status, 1, request.form.get("intent")))
    except ReviewError as error:
        flash(str(error), "error")
    return redirect(_safe_next(request.form.get("next"), default))


def _review_note(status: str, count: int, intent: Optional[str]) -> str:
    noun = "message" if count == 1 else "messages"
    if status == "assigned":
        return f"Assigned {count} {noun} to intent {intent}."
    if status == "open":
        return f"Reopened {count} {noun}."
    return f"Marked {count} {noun} as {MESSAGE_STATUSES.get(status, status).lower()}."


# -- missed questions ---------------------------------------------------------------------------
def missed() -> Any:
    staff_console = console()
    flt = MissedFilter.from_args(request.args)
    page = max(1, query_int(request.args.get("page"), 1))
    per_page = staff_console.config.page_size
    groups, group_count, message_count = staff_console.queries.missed_groups(flt, page, per_page)
    return render_template(
        "staff/missed.html",
        groups=groups,
        flt=flt,
        args=flt.to_args(),
        page=page,
        pages=max(1, -(-group_count // per_page)),
        group_count=group_count,
        message_count=message_count,
        reasons=MISS_REASONS,
        intents=_assignable_intents(),
        assigned=sum(len(v) for v in staff_console.reviews.assigned_examples().values()),
    )


def review_group() -> Any:
    staff_console = console()
    keys = [key for key in request.form.getlist("key")[:200] if key and clean_text(key, 500) == key]
    status = request.form.get("action", "")
    messages = staff_console.queries.missed_event_ids(keys)
    try:
        count = staff_console.reviews.set_message_status(messages, status, g.staff_user, request.form.get("intent"))
        flash(_review_note(status, count, request.form.get("intent")))
    except ReviewError as error:
        flash(str(error), "error")
    return redirect(_safe_next(request.form.get("next"), url_for("staff.missed")))


# -- trends -------------------------------------------------------------------------------------
def _trend_range() -> Tuple[date, date]:
    tz = console().tz
    until = parse_date(request.args.get("until")) or today(tz)
    since = parse_date(request.args.get("since"))
    days = query_int(request.args.get("days"), 30)
    if since is None or since > until:
        since = until - timedelta(days=max(1, min(days, 731)) - 1)
    since = max(since, until - timedelta(days=730))
    return since, until


def trends() -> Any:
    since, until = _trend_range()
    vocabulary = console().vocabulary
    data = console().queries.trends(since, until, list(vocabulary.programs()))
    program_ids = list(data.programs)
    labels = [day.strftime("%b %d") for day in data.days]
    span = f"{since:%b %d, %Y} to {until:%b %d, %Y}"
    charts = {
        "conversations": bar_chart(
            "chart-conversations",
            "Conversations per day",
            f"Conversations started each day, {span}.",
            labels,
            data.conversations,
        ),
        "messages": bar_chart(
            "chart-messages",
            "Visitor messages per day",
            f"Messages typed or clicked by visitors each day, {span}.",
            labels,
            data.messages,
        ),
        "missed": line_chart(
            "chart-missed",
            "Share of messages missed",
            f"Per day, the share of visitor messages the assistant "
            f"could not answer (fallback, out of scope or low confidence), {span}.",
            labels,
            {"Missed": data.missed_share},
            percent=True,
        ),
        "topics": hbar_chart(
            "chart-topics",
            "Top topics",
            f"The ten most asked topics, {span}.",
            [(vocabulary.topic_label(intent), count) for intent, count in data.topics],
        ),
        "programs": line_chart(
            "chart-programs",
            "Program interest",
            f"Conversations per day that mentioned each program, {span}.",
            labels,
            {vocabulary.program_label(p): data.programs[p] for p in program_ids},
        ),
    }
    mix = data.answers
    type_names = list(ANSWER_TYPE_LABELS.values())
    charts["answer_types"] = hbar_chart(
        "chart-answer-types",
        "Answer types",
        f"How the assistant replied to visitors, by kind of reply, {span}.",
        [(ANSWER_TYPE_LABELS[kind], count) for kind, count in mix.total.types.items()],
    )
    charts["containment"] = line_chart(
        "chart-containment",
        "Containment",
        f"Per day, the share of conversations that ended without a person (no live hand-off, no follow-up "
        f"request), {span}.",
        labels,
        {"Contained": [tally.containment for tally in mix.days]},
        percent=True,
    )
    charts["feedback"] = line_chart(
        "chart-feedback",
        "Visitor feedback",
        f"Answers marked helpful and not helpful by visitors each day, {span}.",
        labels,
        {"Helpful": [tally.helpful for tally in mix.days], "Not helpful": [tally.not_helpful for tally in mix.days]},
    )
    share = [("–" if value is None else f"{value * 100:.1f}%") for value in data.missed_share]
    days = [day.isoformat() for day in data.days]
    topic_rows = sorted(mix.topics.items(), key=lambda item: (-item[1].replies, item[0]))
    tables = {
        "answer_types": [(day, *tally.types.values()) for day, tally in zip(days, mix.days)],
        "containment": [(day, t.conversations, t.contained, _pct(t.containment)) for day, t in zip(days, mix.days)],
        "feedback": [(day, t.helpful, t.not_helpful, _pct(t.helpful_share)) for day, t in zip(days, mix.days)],
        "answer_topics": [
            (
                vocabulary.topic_label(intent_for(topic)) if topic else "(no topic)",
                *tally.types.values(),
                _pct(tally.containment),
                tally.helpful,
                tally.not_helpful,
            )
            for topic, tally in topic_rows
        ],
        "daily": list(zip(days, data.conversations, data.messages)),
        "missed": list(zip(days, data.messages, data.missed, share)),
        "topics": [(vocabulary.topic_label(intent), count) for intent, count in data.topics],
        "programs": [(day, *(data.programs[p][index] for p in program_ids)) for index, day in enumerate(days)],
    }
    knowledge = vocabulary.knowledge()
    settings = load_settings()
    stale_day = office_clock(settings).today()
    stale = stale_facts(knowledge, stale_day, settings.stale_after_days) if knowledge else []
    topic_labels = {topic_id: topic.label for topic_id, topic in knowledge.topics.items()} if knowledge else {}
    return render_template(
        "staff/trends.html",
        stale=stale,
        stale_day=stale_day,
        stale_after_days=settings.stale_after_days,
        topic_labels=topic_labels,
        data=data,
        charts=charts,
        tables=tables,
        since=since,
        until=until,
        ranges=TREND_RANGES,
        days=query_int(request.args.get("days"), 30) if not request.args.get("since") else None,
        program_totals={p: sum(data.programs[p]) for p in program_ids},
        program_names=[vocabulary.program_label(p) for p in program_ids],
        type_names=type_names,
        pct_share=_pct,
    )


def _pct(value: Optional[float]) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


# -- exports ------------------------------------------------------------------------------------
def export_page() -> Any:
    tz = console().tz
    return render_template(
        "staff/export.html",
        today=today(tz),
        month_ago=today(tz) - timedelta(days=30),
        retention_days=console().settings.retention_days,
        assigned=sum(len(v) for v in console().reviews.assigned_examples().values()),
    )


def export_download() -> Any:
    staff_console = console()
    kind = request.args.get("kind", "messages")
    fmt = request.args.get("format", "csv")
    since = parse_date(request.args.get("since"))
    until = parse_date(request.args.get("until")) or today(staff_console.tz)
    if kind not in KINDS or fmt not in FORMATS or since is None or since > until:
        flash("Choose what to export, a format and a valid date range.", "error")
        return redirect(url_for("staff.export_page"))
    start, end = day_range(since, until, staff_console.tz)
    assert start is not None and end is not None  # both days are given
    staff_console.refresh(force=kind == "conversations")
    chunks = export_chunks(staff_console.store, kind, fmt, start, end, staff_console.threshold, staff_console.tz)
    name = filename(kind, fmt, since.isoformat(), until.isoformat())
    return Response(
        stream_with_context(chunks),
        mimetype=FORMATS[fmt].split(";")[0],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Accel-Buffering": "no"},
    )


def nlu_export() -> Any:
    text = nlu_yaml(console().reviews.assigned_examples())
    name = f"staff_reviewed_nlu_{date.today():%Y%m%d}.yml"
    return Response(
        text, mimetype="application/yaml", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# -- JSON ---------------------------------------------------------------------------------------
def api_conversations() -> Any:
    staff_console = console()
    flt = ConversationFilter.from_args(request.args)
    limit = max(1, min(query_int(request.args.get("limit"), staff_console.config.page_size), 500))
    page = staff_console.queries.conversations(flt, Cursor.decode(request.args.get("before")), None, limit)
    return jsonify(
        conversations=[summary_record(row) for row in page.rows],
        next=page.older.encode() if page.older else None,
    )


def api_conversation(sender_id: str) -> Any:
    staff_console = console()
    sender_id = _sender_id(sender_id)
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
        "feedback": turn.feedback,
        "answer_type": turn.answer_type,
        "button": turn.button_title,
        "action": turn.action,
        "buttons": [{"title": b.title, "payload": b.payload, "clicked": b.clicked} for b in turn.buttons],
        "slot_value": turn.slot_value,
    }


def api_stats() -> Any:
    staff_console = console()
    until = today(staff_console.tz)
    data = staff_console.queries.trends(until - timedelta(days=29), until, list(staff_console.vocabulary.programs()))
    return jsonify(
        totals=staff_console.queries.totals(),
        last_30_days={
            "days": [day.isoformat() for day in data.days],
            "conversations": data.conversations,
            "visitor_messages": data.messages,
            "missed_messages": data.missed,
            "top_topics": data.topics,
            "programs": data.programs,
        },
    )


ROUTES: List[Tuple[str, Callable[..., Any], List[str]]] = [
    ("/login", login, ["GET", "POST"]),
    ("/logout", logout, ["POST"]),
    ("/", conversations, ["GET"]),
    ("/conversations/<path:sender_id>", transcript, ["GET"]),
    ("/review/conversation", review_conversation, ["POST"]),
    ("/review/message", review_message, ["POST"]),
    ("/missed", missed, ["GET"]),
    ("/review/group", review_group, ["POST"]),
    ("/trends", trends, ["GET"]),
    ("/export", export_page, ["GET"]),
    ("/export/download", export_download, ["GET"]),
    ("/export/nlu.yml", nlu_export, ["GET"]),
    ("/api/conversations", api_conversations, ["GET"]),
    ("/api/conversations/<path:sender_id>", api_conversation, ["GET"]),
    ("/api/stats", api_stats, ["GET"]),
]
