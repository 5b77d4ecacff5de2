"""The export page and the streamed download."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable, List, Tuple

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from console.common import console
from console.data.dates import day_range, parse_date, today
from console.exports.formats import FORMATS, KINDS, export_chunks, filename


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
        return redirect(url_for("staff.exports.export_page"))
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


ROUTES: List[Tuple[str, Callable[..., Any], List[str]]] = [
    ("/export", export_page, ["GET"]),
    ("/export/download", export_download, ["GET"]),
]

bp = Blueprint("exports", __name__)
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
