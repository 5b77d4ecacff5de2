"""The login and logout pages (every other console page needs a logged-in staff member)."""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from console.common import client_address, console, safe_next
from console.guard import SESSION_ID, logged_in_user


def login() -> Any:
    target = safe_next(request.values.get("next"), url_for("staff.conversations.conversations"))
    if request.method == "GET":
        if logged_in_user():
            return redirect(target)
        return render_template("staff/login.html", next=target, error=None)
    staff_console = console()
    staff_console.prepare()
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    address = client_address()
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
    return redirect(url_for("staff.auth.login"))


ROUTES: List[Tuple[str, Callable[..., Any], List[str]]] = [
    ("/login", login, ["GET", "POST"]),
    ("/logout", logout, ["POST"]),
]

bp = Blueprint("auth", __name__)
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
