"""The Training page: staff's examples, "Train a new model" (in the background, one at a time),
before and after side by side, "Activate" when the gate holds, "Roll back"; every activation listed."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, List, Tuple

from flask import Blueprint, flash, g, jsonify, redirect, render_template, url_for

from console.common import console
from console.training import STEPS
from core.model_store import ModelStore, ModelStoreError
from core.settings import PROJECT_ROOT

# The answer-quality bench's figures shown before/after (its names, then what the page calls them).
BENCH_ROWS = [
    ("on-topic rate (answerable)", "Held-out questions answered on topic (asked end to end)"),
    ("on-topic or recovered (answerable)", "… or the right topic offered as a button"),
    ("misleading rate (another topic's answer)", "Misleading: another topic's answer"),
    ("first-turn answer rate", "Answered on the first turn"),
]
# A run that has not finished after this long died with its machine: it no longer blocks training.
STALE_RUN_SECONDS = 3 * 3600
LOG_DIR = PROJECT_ROOT / "var" / "training"


def models() -> ModelStore:
    return console().models


def training_page() -> Any:
    store = models()
    store.create_schema()
    store.abandon_stale(STALE_RUN_SECONDS)
    runs = store.runs()
    latest = next((run for run in runs if run.report), None)
    return render_template(
        "staff/training.html",
        examples=console().reviews.examples(),
        running=store.running(),
        runs=runs,
        latest=latest,
        active=store.active(),
        activations=store.activations(),
        steps=STEPS,
        bench_rows=BENCH_ROWS,
    )


def start() -> Any:
    store = models()
    examples = console().reviews.examples()
    if not examples:
        flash("Assign some missed questions to topics first: there is nothing new to train on.", "error")
        return redirect(url_for("staff.training.training_page"))
    try:
        model_id = store.start(g.staff_user, len(examples), len(STEPS))
    except ModelStoreError as error:
        flash(str(error), "error")
        return redirect(url_for("staff.training.training_page"))
    launch(model_id, console().settings.database_url)
    flash(f"Training model {model_id} with {len(examples)} new examples. This page shows its progress.")
    return redirect(url_for("staff.training.training_page"))


def launch(model_id: int, database_url: str) -> None:
    """The job runs on its own (a new session): it outlives this request and a reload of the page."""
    try:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = (LOG_DIR / f"model-{model_id}.log").open("ab")
    except OSError:  # a read-only install directory: the log goes to the system's temporary folder
        log = (Path(tempfile.gettempdir()) / f"heinz-training-model-{model_id}.log").open("ab")
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.Popen(
        [sys.executable, "-m", "console.training.job", str(model_id)],
        cwd=Path(PROJECT_ROOT),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()


def activate(model_id: int) -> Any:
    try:
        models().activate(model_id, g.staff_user)
        flash(f"Model {model_id} is active: every Rasa server loads it within seconds.")
    except ModelStoreError as error:
        flash(f"Not activated: {error}", "error")
    return redirect(url_for("staff.training.training_page"))


def roll_back() -> Any:
    try:
        restored = models().roll_back(g.staff_user)
        name = f"model {restored}" if restored else "the shipped model"
        flash(f"Rolled back: every Rasa server loads {name} within seconds.")
    except ModelStoreError as error:
        flash(f"Not rolled back: {error}", "error")
    return redirect(url_for("staff.training.training_page"))


def api_status() -> Any:
    """What the page's script polls while a model trains (it reloads the page when the run ends)."""
    running = models().running()
    if running is None:
        return jsonify(running=False)
    return jsonify(running=True, id=running.id, step=running.step, steps=running.steps, progress=running.progress)


ROUTES: List[Tuple[str, Callable[..., Any], List[str]]] = [
    ("/training", training_page, ["GET"]),
    ("/training/start", start, ["POST"]),
    ("/training/<int:model_id>/activate", activate, ["POST"]),
    ("/training/rollback", roll_back, ["POST"]),
    ("/api/training/status", api_status, ["GET"]),
]

bp = Blueprint("training", __name__)
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
