"""Models trained on the console: one training at a time, the gate's verdict, activation and roll-back
records (core/model_store.py, console/training/gate.py). SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest

from console.training import gate
from core.model_store import ACTIVE, CANDIDATE, FAILED, REJECTED, RETIRED, ModelStore, ModelStoreError
from tests.conftest import fresh_postgres_database

HELD = {"gate": {"held": True, "reasons": []}}
NOT_HELD = {"gate": {"held": False, "reasons": ["1 conversation test(s) failed"]}}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        model_store = ModelStore.at(f"sqlite:///{tmp_path / 'models.db'}")
        yield model_store
        model_store.engine.dispose()
    else:
        with fresh_postgres_database() as url:
            model_store = ModelStore.at(url)
            yield model_store
            model_store.engine.dispose()


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "candidate.tar.gz"
    path.write_bytes(b"not really a model" * 100)
    return path


def trained(store: ModelStore, model_file, report=HELD) -> int:
    model_id = store.start("ann", 3, 5)
    store.finish(model_id, model_file, report)
    return model_id


def test_only_one_model_trains_at_a_time_even_when_two_start_together(store):
    store.create_schema()
    started, refused = [], []

    def start() -> None:
        try:
            started.append(store.start("ann", 3, 5))
        except ModelStoreError as error:
            refused.append(str(error))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(started) == 1 and len(refused) == 3 and "being trained already" in refused[0]
    store.progress(started[0], 2, "Training the model")
    running = store.running()
    assert (running.id, running.step, running.steps, running.progress) == (started[0], 2, 5, "Training the model")


def test_the_gate_decides_what_may_be_activated(store, model_file):
    rejected = trained(store, model_file, NOT_HELD)
    assert store.get(rejected).status == REJECTED
    with pytest.raises(ModelStoreError, match="passed its checks"):
        store.activate(rejected, "ann")
    good = trained(store, model_file)
    assert store.get(good).status == CANDIDATE and store.model_bytes(good) == model_file.read_bytes()
    store.activate(good, "ann")
    assert store.active_id() == good and store.get(good).status == ACTIVE


def test_activation_and_roll_back_are_recorded_and_undo_each_other(store, model_file):
    first, second = trained(store, model_file), trained(store, model_file)
    store.activate(first, "ann")
    store.activate(second, "bob")
    assert store.get(first).status == RETIRED and store.active_id() == second
    assert store.roll_back("cy") == first and store.active_id() == first
    records = store.activations()
    assert [(r["action"], r["by"], r["model_id"], r["previous_id"]) for r in records] == [
        ("roll back", "cy", first, second),
        ("activate", "bob", second, first),
        ("activate", "ann", first, None),
    ]


def test_rolling_back_the_first_activation_returns_to_the_shipped_model(store, model_file):
    with pytest.raises(ModelStoreError, match="nothing to roll back"):
        store.roll_back("ann")
    model_id = trained(store, model_file)
    store.activate(model_id, "ann")
    assert store.roll_back("ann") == 0 and store.active_id() is None


def test_a_run_whose_job_died_stops_blocking_training(store):
    model_id = store.start("ann", 3, 5)
    store.abandon_stale(3600)
    assert store.running().id == model_id
    time.sleep(0.05)
    store.abandon_stale(0.01)
    assert store.get(model_id).status == FAILED and "stopped without finishing" in store.get(model_id).error
    assert store.start("ann", 3, 5) != model_id


@pytest.mark.parametrize(
    "after, misleading, conversations, reason",
    [
        ({"weighted_f1": 0.95}, 3, {"passed": True}, None),
        ({"weighted_f1": 0.95}, 2, {"passed": True}, None),
        ({"weighted_f1": 0.89}, 3, {"passed": True}, "below 0.90"),
        ({"weighted_f1": 0.93}, 3, {"passed": True}, "fell from 0.950 to 0.930"),
        ({"weighted_f1": 0.95}, 4, {"passed": True}, "more misleading answers on held-out questions: 3 -> 4"),
        ({"weighted_f1": 0.95}, 2, {"passed": False, "failed_stories": 2}, "2 conversation test(s)"),
    ],
)
def test_the_gate_holds_only_when_the_candidate_is_no_worse(after, misleading, conversations, reason):
    bench = {"before": {gate.MISLEADING: [3, 152]}, "after": {gate.MISLEADING: [misleading, 152]}}
    verdict = gate.verdict({"weighted_f1": 0.95}, after, conversations, bench)
    assert verdict["held"] is (reason is None)
    assert reason is None or any(reason in r for r in verdict["reasons"])
