"""A failed action server is never silence, and never the end of the stack (``make run``'s launcher).

Before: a killed action server made Rasa answer ``200 []`` (the widget showed nothing) and the
launcher stopped the whole stack; a hung one kept the visitor waiting for 45 s and dropped the turn.
Now the visitor gets the apology with the admissions contact, the launcher restarts the action server
(reported on /healthz) and the next question is answered. The Rasa token is set in the launcher's
environment here, so the same run also checks that it is on no command line of the stack.
"""

from __future__ import annotations

import os
import signal
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.facts import MISM_LENGTH_ANSWER
from tests.support.launched import TOKEN, Launched, wait_until
from tests.support.processes import processes_of

pytestmark = pytest.mark.slow

APOLOGY = "Sorry, I can't look that up right now."


@pytest.fixture(scope="module")
def launched(trained_model, tmp_path_factory) -> Iterator[Launched]:
    """One launched stack for this module (starting one takes a minute on a busy machine)."""
    stack = Launched(tmp_path_factory.mktemp("launched"))
    try:
        if not stack.ready.wait(300):
            pytest.fail("the launcher did not start:\n" + "".join(stack.output)[-3000:])
        yield stack
    finally:
        stack.stop()


def test_the_token_is_on_no_command_line_of_the_launched_stack(launched):
    pids = processes_of([launched.process.pid])
    assert len(pids) >= 4  # the launcher and its three servers
    for pid in pids:
        try:
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        assert TOKEN.encode() not in command_line, command_line[:300]
    with urllib.request.urlopen(launched.url("RASA_PORT", f"/status?token={TOKEN}"), timeout=30) as answer:
        assert answer.status == 200


def test_every_server_of_the_stack_obeys_a_stop_signal(launched):
    """The launcher once started its servers with SIGTERM blocked (the mask is inherited), so stopping
    waited for the kill timeout of every server and Ctrl-C took a minute."""
    stop_signals = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    checked = []
    for pid in processes_of([launched.process.pid]):
        if pid == launched.process.pid:
            continue
        try:
            status = dict(
                line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line
            )
        except OSError:
            continue
        held = int(status["SigBlk"], 16) | int(status["SigIgn"], 16)
        deaf = sorted(s.name for s in stop_signals if held & (1 << (s - 1)))
        assert deaf == [], f"{status['Name'].strip()} (pid {pid}) blocks or ignores {deaf}"
        checked.append(pid)
    assert len(checked) >= 3, "the action, Rasa and web servers were not all found"


def test_hung_action_server_gets_a_bounded_apology_and_the_turn_is_kept(launched, knowledge):
    sender = f"edge-{uuid.uuid4()}"
    actions = launched.pid_of("actions")
    os.kill(actions, signal.SIGSTOP)
    try:
        reply = launched.say(sender, "How long is the MISM program?")
    finally:
        os.kill(actions, signal.SIGCONT)
    assert reply.startswith(APOLOGY) and knowledge.contact.email in reply
    # The turn was not dropped: the same conversation goes on and gets the answer.
    assert MISM_LENGTH_ANSWER in launched.say(sender, "How long is the MISM program?")


def test_action_server_killed_mid_conversation(launched, knowledge):
    sender = f"edge-{uuid.uuid4()}"
    assert MISM_LENGTH_ANSWER in launched.say(sender, "How long is the MISM program?")
    assert launched.health()["children"]["actions"] == {"restarts": 0, "state": "running"}

    os.kill(launched.pid_of("actions"), signal.SIGKILL)
    reply = launched.say(sender, "what are the deadlines for MISM")
    assert reply.startswith(APOLOGY)
    assert knowledge.contact.email in reply and knowledge.contact.phone in reply

    wait_until(lambda: launched.health()["children"]["actions"]["restarts"] == 1, 60, "no restart reported")
    health = launched.health()
    assert health["children"]["actions"]["last_exit"] == -signal.SIGKILL
    wait_until(lambda: urllib.request.urlopen(launched.url("ACTION_PORT", "/health"), timeout=5), 120, "no restart")
    assert launched.health()["stack"] == "ok"
    cycle = knowledge.lookup("mism", None, "deadlines").cycle
    assert f"For the {cycle}" in launched.say(sender, "what are the deadlines for MISM")
    assert launched.process.poll() is None, "the launcher stopped"
    assert "The actions server stopped (exit code -9); restarting it" in "".join(launched.output)


def test_sigterm_during_start_up_stops_every_child(trained_model, tmp_path):
    """systemd, a container runtime or `kill` send SIGTERM, not SIGINT: during start-up it used to
    end the launcher alone and leave the action server and the Rasa server holding their ports."""
    starting = Launched(tmp_path)
    try:
        wait_until(
            lambda: urllib.request.urlopen(starting.url("ACTION_PORT", "/health"), timeout=5), 180, "no action server"
        )
        rasa = wait_until(lambda: _pid_or_none(starting, "bot"), 60, "no Rasa server being started")
        assert not starting.ready.is_set(), "the stack finished starting before the signal: the test proves nothing"
        children = processes_of([starting.process.pid])
        assert rasa in children
        starting.process.send_signal(signal.SIGTERM)
        starting.process.wait(timeout=90)
    finally:
        starting.stop()
    left = [pid for pid in children if pid != starting.process.pid and Path(f"/proc/{pid}").exists()]
    left = [pid for pid in left if not _is_zombie(pid)]
    assert left == [], f"still running after SIGTERM: {left}"
    assert "Interrupted while starting; everything is stopped." in "".join(starting.output)
    for name in ("ACTION_PORT", "RASA_PORT"):
        with pytest.raises(OSError):
            urllib.request.urlopen(starting.url(name, "/"), timeout=5)


def _pid_or_none(launched: Launched, module: str) -> Any:
    try:
        return launched.pid_of(module)
    except AssertionError:
        return None


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
