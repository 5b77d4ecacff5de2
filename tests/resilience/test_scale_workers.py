"""Two Sanic workers in one Rasa server (``SANIC_WORKERS=2`` with the Redis lock store): a worker
killed with ``kill -9`` mid-traffic loses no answered turn, and the launcher brings the server back
to both workers.

Sanic 21.12 does not replace a dead worker; the survivor would go on alone at half the capacity and
nothing would say so. The launcher notices the missing worker, stops the Rasa server gracefully
(the survivor finishes its turns) and restarts it (ops/launcher.py, ``_check_rasa_workers``).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Dict, List

import pytest

from ops.launcher import live_children
from tests.conftest import REDIS_HOST, REDIS_PORT
from tests.support.facts import MISM_LENGTH_ANSWER
from tests.support.launched import TOKEN, Launched, wait_until

pytestmark = pytest.mark.slow

QUESTIONS = ["How long is the MISM program?", "what are the deadlines for MSIT", "is MISM stem designated?"]


def stored_user_texts(launched: Launched, sender: str) -> List[str]:
    url = launched.url("RASA_PORT", f"/conversations/{sender}/tracker?token={TOKEN}")
    with urllib.request.urlopen(url, timeout=30) as response:
        events = json.loads(response.read())["events"]
    return [event["text"] for event in events if event.get("event") == "user"]


def test_a_killed_worker_loses_no_answered_turn_and_the_server_gets_both_back(trained_model, tmp_path, redis_client):
    launched = Launched(tmp_path, REDIS_URL=f"redis://{REDIS_HOST}:{REDIS_PORT}/0", SANIC_WORKERS="2")
    try:
        if not launched.ready.wait(300):
            pytest.fail("the launcher did not start:\n" + "".join(launched.output)[-3000:])
        rasa = launched.pid_of("bot")
        first_workers = wait_until(lambda: len(live_children(rasa)) == 2 and live_children(rasa), 60, "not two workers")

        answered: Dict[str, List[str]] = {}
        failed: List[str] = []
        lock = threading.Lock()

        def visitor(index: int) -> None:
            sender = f"workers-{uuid.uuid4().hex[:10]}"
            for turn in range(6):
                # A failed turn is sent again, as the widget's Retry does, until the server is back.
                for attempt in range(120):
                    text = f"{QUESTIONS[(index + turn) % len(QUESTIONS)]} ({turn}.{attempt})"
                    try:
                        reply = launched.say(sender, text)
                    except (urllib.error.URLError, ConnectionError, OSError) as error:
                        with lock:
                            failed.append(f"{sender}: {error}")
                        time.sleep(1)
                        continue
                    if reply:
                        with lock:
                            answered.setdefault(sender, []).append(text)
                    break

        threads = [threading.Thread(target=visitor, args=(index,)) for index in range(8)]
        for thread in threads:
            thread.start()
        # In the middle of the traffic: a quarter of the turns answered.
        deadline = time.monotonic() + 120
        while sum(len(texts) for texts in answered.values()) < 12 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(first_workers[0], signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=240)

        output = lambda: "".join(launched.output)  # noqa: E731
        wait_until(lambda: "A worker of the Rasa server died (1 of 2 left)" in output(), 30, "the death went unnoticed")
        wait_until(lambda: "The rasa server was restarted (#1)." in output(), 60, "no restart")
        new_rasa = launched.pid_of("bot")
        assert new_rasa != rasa
        wait_until(lambda: len(live_children(new_rasa)) == 2, 120, "the new server has not two workers")
        sender = f"workers-after-{uuid.uuid4().hex[:8]}"
        reply = wait_until(
            lambda: launched.say(sender, "How long is the MISM program?"), 180, "no answer after restart"
        )
        assert MISM_LENGTH_ANSWER in reply

        # Every answered turn is stored once, in the order it was answered; a failed attempt may be
        # missing (its visitor saw the error and retried), never an answered one.
        assert sum(len(texts) for texts in answered.values()) == 8 * 6, (answered, failed)
        assert failed, "no turn failed: the worker was not killed mid-traffic"
        for conversation, texts in answered.items():
            stored = stored_user_texts(launched, conversation)
            assert [text for text in stored if text in texts] == texts, (conversation, stored, texts)
            assert len(stored) == len(set(stored)), f"a turn was stored twice: {stored}"
        assert launched.health()["children"]["rasa"]["restarts"] == 1
    finally:
        launched.stop()
