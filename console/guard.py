"""What every request to the console passes, and how the console's blueprint is set up.

Request flow: every request passes :func:`guard` (CSRF check on state-changing methods, then login
check) before its view; pages then call ``Console.refresh`` so what staff see includes the
conversations of the last few seconds. Responses get no-store caching and a strict
Content-Security-Policy (the only script is the console's own ``static/live.js``, which may call
back only to this server).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import OperationalError

from console.common import EXTENSION, console, template_helpers
from console.console import Console

PUBLIC_ENDPOINTS = {"staff.auth.login", "staff.static"}
# What a viewer may still post: ending their own session.
VIEWER_POSTS = {"staff.auth.logout"}

POLLING_ENDPOINTS = {"staff.live.api_summary", "staff.live.api_events", "staff.training.api_status"}

SESSION_ID = "staff_session"

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


def configure_app(app: Flask, staff_console: Console) -> None:
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


def wants_json() -> bool:
    """JSON endpoints answer 401/400 in JSON; pages redirect or render HTML."""
    return request.path.startswith(url_for("staff.conversations.conversations") + "api/")


def guard() -> Any:
    current_app.extensions["csrf"].protect()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    user = logged_in_user()
    if user is None:
        if wants_json():
            return jsonify(error="login required"), 401
        if request.method != "GET":
            abort(401)
        return redirect(url_for("staff.auth.login", next=request.full_path.rstrip("?")))
    g.staff_user = user
    g.staff_role = console().auth.role(user)
    if request.method not in ("GET", "HEAD") and g.staff_role != "editor" and request.endpoint not in VIEWER_POSTS:
        return read_only()
    g.sync = console().refresh()
    return None


def read_only() -> Any:
    """A viewer tried to change something: refused, with what their account can do."""
    message = (
        "Your account can read the console but not change it (viewer). "
        "Ask an editor, or an administrator for the editor role."
    )
    if wants_json():
        return jsonify(error=message), 403
    return render_template("staff/error.html", title="Read-only account", message=message), 403


def editor_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """For pages whose only purpose is a change (an edit form): viewers get the read-only page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("staff_role") != "editor":
            return read_only()
        return view(*args, **kwargs)

    return wrapped


def logged_in_user() -> Optional[str]:
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


def security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        if request.endpoint == "staff.static" and name == "Cache-Control":
            continue
        response.headers.setdefault(name, value)
    return response


def csrf_failed(error: CSRFError) -> Any:
    message = "This form has expired or did not come from the console. Reload the page and try again."
    if wants_json():
        return jsonify(error=message), 400
    return render_template("staff/error.html", title="Form expired", message=message), 400


def database_unavailable(error: OperationalError) -> Any:
    current_app.logger.error("Staff console database error: %s", error)
    message = "The conversation database is not reachable right now. Try again in a minute."
    return render_template("staff/error.html", title="Database unavailable", message=message), 503


def console_blueprint(staff_console: Console) -> Blueprint:
    """The parent blueprint at ``/staff``: templates, static files, and what every request passes
    (CSRF check, login, security headers, the helpers every template gets)."""
    bp = Blueprint("staff", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

    def configure(state: Any) -> None:
        configure_app(state.app, staff_console)

    bp.record_once(configure)
    bp.before_request(guard)
    bp.after_request(security_headers)
    bp.context_processor(template_helpers)
    bp.register_error_handler(CSRFError, csrf_failed)
    bp.register_error_handler(OperationalError, database_unavailable)
    return bp
