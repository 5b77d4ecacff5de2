"""Activating a model on the console reaches the running Rasa server without a restart and without a
failed visitor turn; a roll-back returns to the model it was started with; a Rasa server started
later runs the active model too (bot/channels/model_watch.py, core/model_store.py).

The activated "candidate" is the shipped model stored as a console model: what changes is the file
the server answers from (Rasa's ``/status``), which is what activation is about.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import List, Tuple

import pytest
import requests

from core.model_store import ModelStore
from ops.launcher import Stack, settings_on_free_ports

pytestmark = pytest.mark.slow


def model_file(stack: Stack) -> str:
    status = requests.get(f"{stack.rasa_url}/status", params={"token": stack.token}, timeout=10)
    return str(status.json().get("model_file"))


def wait_for_model(stack: Stack, name: str, limit: float = 30) -> float:
    started = time.monotonic()
    while name not in model_file(stack):
        assert time.monotonic() - started < limit, f"{name} not loaded within {limit} s: {model_file(stack)}"
        time.sleep(0.1)
    return time.monotonic() - started


def test_activation_and_roll_back_reach_the_running_server_without_a_failed_turn(trained_model: Path, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'conversations.db'}"
    stack = Stack(settings_on_free_ports(database_url), model=trained_model, log_dir=tmp_path / "logs")
    stack.start()
    later = None
    try:
        assert model_file(stack).endswith("heinz.tar.gz")
        store = ModelStore.at(database_url)
        model_id = store.start("ann", 3, 5)
        store.finish(model_id, trained_model, {"gate": {"held": True, "reasons": []}})
        turns: List[Tuple[int, bool, float]] = []
        stop = threading.Event()

        def visitor() -> None:
            number = 0
            while not stop.is_set():
                started = time.monotonic()
                try:
                    reply = requests.post(
                        f"{stack.rasa_url}/webhooks/rest/webhook",
                        json={"sender": f"during-{number}", "message": "How long is the MISM program?"},
                        timeout=15,
                    )
                    turns.append((reply.status_code, bool(reply.json()), time.monotonic() - started))
                except requests.RequestException:
                    turns.append((0, False, time.monotonic() - started))
                number += 1

        talking = threading.Thread(target=visitor)
        talking.start()
        time.sleep(2)
        store.activate(model_id, "ann")
        activated_in = wait_for_model(stack, f"model-{model_id}.tar.gz")
        time.sleep(2)
        stop.set()
        talking.join()
        failed = [turn for turn in turns if turn[0] != 200 or not turn[1]]
        slowest = max(turn[2] for turn in turns)
        print(
            f"activation: loaded in {activated_in:.1f} s; {len(turns)} turns meanwhile,"
            f" {len(failed)} failed, slowest {slowest:.2f} s"
        )
        assert failed == [] and len(turns) > 10
        # A Rasa server started after the activation answers from the active model too.
        later = Stack(settings_on_free_ports(database_url), model=trained_model, log_dir=tmp_path / "later")
        later.start()
        wait_for_model(later, f"model-{model_id}.tar.gz")
        store.roll_back("ann")
        rolled_back_in = wait_for_model(stack, "heinz.tar.gz")
        wait_for_model(later, "heinz.tar.gz")
        print(f"roll-back: loaded in {rolled_back_in:.1f} s")
        store.engine.dispose()
    finally:
        if later is not None:
            later.stop()
        stack.stop()
