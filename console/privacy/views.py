"""Erase on request: find what a request covers, confirm it, erase it; the audit list shows who erased
how much and when. Editors only (the guard refuses a viewer's posts)."""

from __future__ import annotations

import re
from typing import Any, Callable, List, Tuple

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from console.common import console
from console.data import erasure
from console.data.privacy import clean_text

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def erase_page() -> Any:
    return render_template("staff/erase.html", audit=erasure.audit(console().store))


def target() -> Tuple[str, List[str], str, str]:
    """(scope, conversations, e-mail, what staff typed) from the form; an empty list if nothing matches."""
    staff_console = console()
    email = clean_text(request.form.get("email", ""), 320).strip()
    if email:
        if not EMAIL.match(email):
            return "email", [], "", email
        return "email", erasure.conversations_of_email(staff_console.store, email), email, email
    key = clean_text(request.form.get("conversation", ""), 255).strip()
    sender = (staff_console.conversation_queries.resolve(key) or key) if key else ""
    found = erasure.known_conversations(staff_console.store, [sender]) if sender else []
    return "conversation", found, "", key


def confirm() -> Any:
    scope, senders, email, typed = target()
    staff_console = console()
    if not senders and not (email and erasure.preview(staff_console.store, scope, [], email).followups):
        what = "that e-mail address" if scope == "email" else "that conversation"
        flash(f"Nothing is stored for {what}: nothing to erase.", "error")
        return redirect(url_for("staff.privacy.erase_page"))
    planned = erasure.preview(staff_console.store, scope, senders, email)
    return render_template("staff/erase_confirm.html", planned=planned, typed=typed, scope=scope)


def erase_now() -> Any:
    if request.form.get("confirm") != "yes":
        flash("Not erased: confirm first.", "error")
        return redirect(url_for("staff.privacy.erase_page"))
    scope, senders, email, _ = target()
    done = erasure.erase(console().store, scope, senders, g.staff_user, email)
    flash(
        f"Erased {done.conversations} conversation{'' if done.conversations == 1 else 's'}, {done.events} events"
        f" and {done.followups} follow-up request{'' if done.followups == 1 else 's'}."
        " The audit record keeps no personal data."
    )
    return redirect(url_for("staff.privacy.erase_page"))


ROUTES: List[Tuple[str, Callable[..., Any], List[str]]] = [
    ("/erase", erase_page, ["GET"]),
    ("/erase/confirm", confirm, ["POST"]),
    ("/erase/now", erase_now, ["POST"]),
]

bp = Blueprint("privacy", __name__)
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
