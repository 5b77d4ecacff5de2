"""The console's "Follow-ups" pages: the inbox, one request, its update form and the CRM CSV.

Registered on the console's blueprint by :func:`console.init_app`, so every request
passes the same guard (login, then CSRF on the update form) as the other console pages.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Callable, Dict, List, Optional, Tuple

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, stream_with_context, url_for
from sqlalchemy.exc import OperationalError

from console.common import console, query_int
from console.data.privacy import url_id
from console.followups.inbox import STATUS_LABELS, UNDECIDED_LABEL, FollowupError, FollowupFilter, crm_csv, filename
from core.handoff import UNDECIDED_PROGRAM


def _program_choices() -> List[Tuple[str, str]]:
    """Programs of the knowledge file, any other a request names, then "Undecided"."""
    staff_console = console()
    known = dict(staff_console.vocabulary.programs())
    for program in staff_console.followups.programs():
        if program != UNDECIDED_PROGRAM:
            known.setdefault(program, staff_console.vocabulary.program_label(program))
    return list(known.items()) + [(UNDECIDED_PROGRAM, UNDECIDED_LABEL)]


def _program_name(program: str) -> str:
    return UNDECIDED_LABEL if program == UNDECIDED_PROGRAM else console().vocabulary.program_label(program)


def followup_list() -> Any:
    staff_console = console()
    flt = FollowupFilter.from_args(request.args)
    page = max(1, query_int(request.args.get("page"), 1))
    per_page = staff_console.config.page_size
    rows, total = staff_console.followups.page(flt, page, per_page)
    return render_template(
        "staff/followups.html",
        rows=rows,
        flt=flt,
        args=flt.to_args(),
        page=page,
        pages=max(1, -(-total // per_page)),
        total=total,
        programs=_program_choices(),
        program_name=_program_name,
    )


def _followup_id(key: str) -> int:
    """The request a URL names; anything but a whole number names none (404, after the login check)."""
    if not key.isdigit() or len(key) > 18:
        abort(404)
    return int(key)


def followup_detail(followup_id: str) -> Any:
    item = console().followups.get(_followup_id(followup_id))
    if item is None:
        abort(404)
    return render_template(
        "staff/followup.html",
        item=item,
        conversation_key=url_id(item["sender_id"]),
        program_name=_program_name,
    )


def followup_update(followup_id: str) -> Any:
    number = _followup_id(followup_id)
    try:
        console().followups.update(
            number,
            request.form.get("status", ""),
            request.form.get("assignee", ""),
            request.form.get("notes", ""),
            g.staff_user,
        )
        flash("Follow-up request saved.")
    except FollowupError as error:
        flash(str(error), "error")
    return redirect(url_for("staff.followups.followup_detail", followup_id=number))


def followup_csv() -> Any:
    """The requests matching the inbox's filters, as a CSV a CRM (e.g. Slate) imports."""
    staff_console = console()
    flt = FollowupFilter.from_args({"status": "all", **request.args.to_dict()})
    records = staff_console.followups.records(flt, staff_console.vocabulary.program_label)
    return Response(
        stream_with_context(crm_csv(records)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename(date.today().isoformat())}"'},
    )


def template_helpers() -> Dict[str, Any]:
    """The open requests' count for the navigation of every console page (logged in only)."""
    if not g.get("staff_user"):
        return {}
    try:
        count: Optional[int] = console().followups.open_count()
    except OperationalError:  # the "database unavailable" page must still render
        count = None
    return {"open_followups": count, "followup_statuses": STATUS_LABELS}


FOLLOWUP_ROUTES: List[Tuple[str, Callable[..., Any], List[str]]] = [
    ("/followups", followup_list, ["GET"]),
    ("/followups.csv", followup_csv, ["GET"]),
    ("/followups/<followup_id>", followup_detail, ["GET"]),
    ("/followups/<followup_id>", followup_update, ["POST"]),
]


bp = Blueprint("followups", __name__)
for rule, view, methods in FOLLOWUP_ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
