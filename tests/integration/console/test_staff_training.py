"""The Training page without training (the real training runs in tests/e2e/browser/test_training_browser.py):
a finished run's before/after and gate, activation and roll-back from the page, the progress of a
running one, and what viewers and an empty example list get. SQLite and PostgreSQL."""

from __future__ import annotations

import re

from core.model_store import ModelStore
from tests.support.console_client import csrf_token

REPORT = {
    "before": {
        "weighted_f1": 0.936,
        "per_intent_f1": {"ask_deferral": 0.5},
        "held_out_questions": 147,
        "on_topic": 98,
        "misleading": 1,
        "staff_examples": [],
    },
    "after": {
        "weighted_f1": 0.941,
        "per_intent_f1": {"ask_deferral": 0.8},
        "held_out_questions": 147,
        "on_topic": 99,
        "misleading": 1,
        "staff_examples": [
            {
                "text": "can my start be pushed back",
                "intent": "ask_deferral",
                "predicted": "ask_deferral",
                "answered": True,
            }
        ],
    },
    "conversations": {"passed": True, "failed_stories": 0},
    "bench": {
        "before": {
            "on-topic rate (answerable)": [98, 149],
            "on-topic or recovered (answerable)": [137, 149],
            "misleading rate (another topic's answer)": [2, 152],
            "first-turn answer rate": [100, 150],
        },
        "after": {
            "on-topic rate (answerable)": [101, 149],
            "on-topic or recovered (answerable)": [138, 149],
            "misleading rate (another topic's answer)": [2, 152],
            "first-turn answer rate": [104, 150],
        },
    },
    "gate": {"held": True, "reasons": []},
}


def finished(db_url: str, tmp_path, report=REPORT) -> int:
    store = ModelStore.at(db_url)
    model = tmp_path / "m.tar.gz"
    model.write_bytes(b"model")
    model_id = store.start("ann", 1, 5)
    store.finish(model_id, model, report)
    store.engine.dispose()
    return model_id


def test_a_finished_run_shows_before_and_after_and_is_activated_then_rolled_back(client, db_url, tmp_path):
    model_id = finished(db_url, tmp_path)
    html = client.get("/staff/training").get_data(as_text=True)
    assert "The checks hold" in html and f"Model {model_id}: before and after" in html
    assert re.search(r"weighted F1</th><td>0.936</td><td>0.941</td>", html)
    assert re.search(
        r"answered on topic \(asked end to end\)</th><td>98 of 149 \(66%\)</td><td>101 of 149 \(68%\)</td>", html
    )
    assert "“can my start be pushed back” → " in html and "answered now" in html
    token = csrf_token(client, "/staff/training")
    response = client.post(f"/staff/training/{model_id}/activate", data={"csrf_token": token})
    assert response.status_code == 302
    html = client.get("/staff/training").get_data(as_text=True)
    assert f"Model {model_id} is active" in html and f"Model {model_id} (trained by ann" in html
    client.post("/staff/training/rollback", data={"csrf_token": token})
    html = client.get("/staff/training").get_data(as_text=True)
    assert "every Rasa server loads the shipped model" in html and "The shipped model" in html
    assert "roll back → the shipped model" in html and f"activate → model {model_id}" in html


def test_a_run_that_failed_its_checks_cannot_be_activated(client, db_url, tmp_path):
    report = {**REPORT, "gate": {"held": False, "reasons": ["1 conversation test(s) failed"]}}
    model_id = finished(db_url, tmp_path, report)
    html = client.get("/staff/training").get_data(as_text=True)
    assert "The checks do not hold: 1 conversation test(s) failed" in html and "Activate model" not in html
    token = csrf_token(client, "/staff/training")
    client.post(f"/staff/training/{model_id}/activate", data={"csrf_token": token})
    assert "Not activated: Only a trained model that passed its checks" in client.get("/staff/training").get_data(
        as_text=True
    )
    store = ModelStore.at(db_url)
    assert store.active_id() is None
    store.engine.dispose()


def test_a_running_training_shows_its_progress_and_blocks_a_second(client, db_url):
    store = ModelStore.at(db_url)
    model_id = store.start("ann", 3, 5)
    store.progress(model_id, 2, "Training the model")
    html = client.get("/staff/training").get_data(as_text=True)
    assert '<progress max="5" value="2"' in html and "Step 2 of 5: Training the model" in html
    assert client.get("/staff/api/training/status").json == {
        "running": True,
        "id": model_id,
        "step": 2,
        "steps": 5,
        "progress": "Training the model",
    }
    store.engine.dispose()


def test_training_needs_examples_and_an_editor(client, app, db_url):
    token = csrf_token(client, "/staff/training")
    client.post("/staff/training/start", data={"csrf_token": token})
    assert "Assign some missed questions to topics first" in client.get("/staff/training").get_data(as_text=True)
    store = ModelStore.at(db_url)
    assert store.runs() == []
    store.engine.dispose()
