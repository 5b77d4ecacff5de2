"""The knowledge page: list and filter the facts, read one with its preview and history, edit or
fill it (editors), revert a change. Every save goes through ``core.knowledge_store``."""

from __future__ import annotations

import copy
from typing import Any, Callable, List, Optional, Tuple

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from console.common import console
from console.guard import editor_required
from console.knowledge import catalog, forms, preview
from core.clock import office_clock
from core.knowledge import Knowledge, KnowledgeError, parse_knowledge
from core.knowledge_store import ChangeRefused, fingerprint, get_fact, set_fact, validate


def current() -> Tuple[int, dict, Knowledge]:
    """The store's newest version: its number, document and validated knowledge."""
    version, document = console().knowledge.current()
    return version.id, document, parse_knowledge(copy.deepcopy(document), f"knowledge version {version.id}")


def all_entries(knowledge: Knowledge) -> List[catalog.Entry]:
    settings = console().settings
    recent = catalog.recent_changes(console().knowledge.versions(limit=500), settings.recent_change_days)
    return catalog.entries(knowledge, office_clock().today(), settings.stale_after_days, recent)


def entry_for(knowledge: Knowledge, path: str) -> catalog.Entry:
    """The entry a URL names; 404 for anything that is not a place for a fact."""
    for entry in all_entries(knowledge):
        if entry.path == path:
            return entry
    abort(404)


def knowledge_list() -> Any:
    version, _, knowledge = current()
    found = all_entries(knowledge)
    program = request.args.get("program", "")
    flag = request.args.get("flag", "")
    topic = request.args.get("topic", "")
    program = program if program in knowledge.programs or program == catalog.ALL_PROGRAMS else ""
    flag = flag if flag in catalog.FLAGS else ""
    topic = topic if topic in knowledge.topics else ""
    counts = {name: sum(name in entry.flags for entry in found) for name in catalog.FLAGS}
    return render_template(
        "staff/knowledge.html",
        entries=catalog.select(found, program, flag, topic),
        counts=counts,
        flags=catalog.FLAGS,
        programs={pid: p.short_name for pid, p in knowledge.programs.items()},
        topics={tid: t.label for tid, t in knowledge.topics.items()},
        args={k: v for k, v in {"program": program, "flag": flag, "topic": topic}.items() if v},
        version=version,
        changes=console().knowledge.versions(limit=8),
        file_waiting=console().knowledge.file_waiting(),
    )


def fact_page() -> Any:
    _, _, knowledge = current()
    entry = entry_for(knowledge, request.args.get("path", ""))
    return render_template(
        "staff/knowledge_fact.html",
        entry=entry,
        previews=preview.previews(knowledge, office_clock().today(), entry.topic_id, entry.program_id, entry.track_id),
        history=console().knowledge.history(entry.path, limit=30),
    )


@editor_required
def edit() -> Any:
    _, document, knowledge = current()
    entry = entry_for(knowledge, request.args.get("path", ""))
    before = get_fact(document, entry.path)
    if request.method == "GET":
        return edit_form(entry, forms.form_values(before), fingerprint(before))
    opened = request.form.get("opened", "")
    general_allowed = entry.program_id is None
    try:
        fact = forms.posted_fact(request.form, general_allowed)
        if request.form.get("action") == "preview":
            return edit_form(entry, dict(request.form), opened, drafted=draft(document, entry, fact))
        version = console().knowledge.change_fact(
            entry.path, fact, opened, g.staff_user, request.form.get("note", ""), console().settings.official_hosts
        )
    except ChangeRefused as error:
        return edit_form(entry, dict(request.form), opened, error=error), 400
    flash(f"Saved as version {version.id}. Visitors get the new answer within seconds, on every server.")
    return redirect(url_for("staff.knowledge.fact_page", path=entry.path))


def draft(document: dict, entry: catalog.Entry, fact: dict) -> List[preview.Preview]:
    """The previews of a fact not saved yet (validated like a save, never stored)."""
    changed = copy.deepcopy(document)
    set_fact(changed, entry.path, fact)
    knowledge = validate(changed, "the draft", entry.path)
    return preview.previews(knowledge, office_clock().today(), entry.topic_id, entry.program_id, entry.track_id)


def edit_form(
    entry: catalog.Entry,
    values: dict,
    opened: str,
    error: Optional[ChangeRefused] = None,
    drafted: Optional[List[preview.Preview]] = None,
) -> str:
    if "dates" not in values or not isinstance(values.get("dates"), list):
        values = {**values, "dates": posted_rows(values)}
    return render_template(
        "staff/knowledge_edit.html",
        entry=entry,
        values=values,
        opened=opened,
        error=error,
        drafted=drafted,
        kinds=forms.DATE_KINDS,
        hosts=console().settings.official_hosts,
    )


def posted_rows(values: dict) -> List[dict]:
    """The date rows of a posted form, to show it again as it was sent (plus the empty ones)."""
    rows = []
    for index in range(forms.MAX_DATE_ROWS):
        row = {key: values.get(f"dates-{index}-{key}", "") for key in forms.DATE_ROW_FIELDS}
        if row["label"] or row["date"]:
            rows.append(row)
    return rows + [dict.fromkeys(forms.DATE_ROW_FIELDS, "") for _ in range(forms.EMPTY_DATE_ROWS)]


def revert() -> Any:
    try:
        version_id = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    path = request.form.get("path", "")
    try:
        version = console().knowledge.revert(version_id, g.staff_user, request.form.get("note", ""))
        flash(f"Version {version_id} reverted (now version {version.id}).")
        path = version.path or path
    except (ChangeRefused, KnowledgeError) as error:
        flash(f"Not reverted: {error}", "error")
    return redirect(
        url_for("staff.knowledge.fact_page", path=path) if path else url_for("staff.knowledge.knowledge_list")
    )


ROUTES: List[Tuple[str, Callable[..., Any], List[str]]] = [
    ("/knowledge", knowledge_list, ["GET"]),
    ("/knowledge/fact", fact_page, ["GET"]),
    ("/knowledge/edit", edit, ["GET", "POST"]),
    ("/knowledge/revert", revert, ["POST"]),
]

bp = Blueprint("knowledge", __name__)
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
