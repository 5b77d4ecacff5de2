"""Missed questions, grouped; reviewing a group; the reviewed ones as Rasa training data."""

from __future__ import annotations

from datetime import date
from typing import Any, Callable, List, Tuple

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from console.common import chosen_topic, console, query_int, safe_next
from console.data.privacy import clean_text
from console.data.queries import ANSWERED_UNSURE, MISSED_PAGE_FILTERS
from console.data.review import ReviewError, nlu_yaml, review_note
from console.missed.queries import MissedFilter


def missed() -> Any:
    staff_console = console()
    likely_topics = staff_console.vocabulary.topic_titles()
    flt = MissedFilter.from_args(request.args, list(likely_topics))
    page = max(1, query_int(request.args.get("page"), 1))
    per_page = staff_console.config.page_size
    groups, group_count, message_count = staff_console.missed_queries.missed_groups(flt, page, per_page)
    return render_template(
        "staff/missed.html",
        groups=groups,
        flt=flt,
        args=flt.to_args(),
        page=page,
        pages=max(1, -(-group_count // per_page)),
        group_count=group_count,
        message_count=message_count,
        reasons=MISSED_PAGE_FILTERS,
        answered_unsure=ANSWERED_UNSURE,
        topics=console().vocabulary.topic_choices(),
        likely_topics=likely_topics,
        assigned=sum(len(v) for v in staff_console.reviews.assigned_examples().values()),
    )


def review_group() -> Any:
    staff_console = console()
    keys = [key for key in request.form.getlist("key")[:200] if key and clean_text(key, 500) == key]
    status = request.form.get("action", "")
    # The page's own filter, so the action touches the messages the group showed and counted.
    flt = MissedFilter.from_args(request.form, list(staff_console.vocabulary.topic_titles()))
    messages = staff_console.missed_queries.missed_event_ids(keys, flt)
    try:
        label = chosen_topic(status, request.form.get("intent"))
        count = staff_console.reviews.set_message_status(messages, status, g.staff_user, request.form.get("intent"))
        flash(review_note(status, count, label))
    except ReviewError as error:
        flash(str(error), "error")
    return redirect(safe_next(request.form.get("next"), url_for("staff.missed.missed")))


def nlu_export() -> Any:
    text = nlu_yaml(console().reviews.assigned_examples())
    name = f"staff_reviewed_nlu_{date.today():%Y%m%d}.yml"
    return Response(
        text, mimetype="application/yaml", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


ROUTES: List[Tuple[str, Callable[..., Any], List[str]]] = [
    ("/missed", missed, ["GET"]),
    ("/review/group", review_group, ["POST"]),
    ("/export/nlu.yml", nlu_export, ["GET"]),
]

bp = Blueprint("missed", __name__)
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
