"""`make run`'s launcher: prints where everything is, and Ctrl-C stops every server it started."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import urllib.request

import pytest

from core.settings import Settings
from core.stack_status import read_stack_status
from ops.launcher import RESTART_DELAYS, STABLE_AFTER, VAR_DIR, Stack, free_port
from tests.support.launched import Launched

pytestmark = pytest.mark.slow


def test_launcher_prints_urls_and_stops_everything_on_ctrl_c(trained_model, tmp_path):
    launched = Launched(tmp_path)
    assert launched.ready.wait(240), "".join(launched.output)
    text, ports = "".join(launched.output), launched.ports
    assert f"http://localhost:{ports['WEB_PORT']}/" in text
    assert f"http://localhost:{ports['WEB_PORT']}/staff/" in text and "log in as 'staff' with password" in text
    assert "Rasa HTTP API token:" in text
    for url in (
        launched.url("WEB_PORT", "/healthz"),
        launched.url("RASA_PORT", "/"),
        launched.url("ACTION_PORT", "/health"),
    ):
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200

    # A second `make run` on the same ports refuses at once and leaves the first stack alone (it used
    # to restart its servers forever on "Address already in use", then delete the first's files).
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    second = Launched(second_dir, ports=ports)
    try:
        assert second.process.wait(60) != 0
    except subprocess.TimeoutExpired:
        second.stop()
        raise AssertionError("a second launcher on the same ports kept running: " + "".join(second.output)) from None
    refusal = "".join(second.output)
    assert "Not started:" in refusal and f"WEB_PORT={ports['WEB_PORT']}" in refusal, refusal
    assert "already in use" in refusal and "Starting the action server" not in refusal, refusal
    first_status = read_stack_status(str(VAR_DIR / f"stack-{ports['WEB_PORT']}.json"))
    assert first_status and first_status != {"stack": "unknown"}, "the first stack's status file is still there"
    with urllib.request.urlopen(launched.url("WEB_PORT", "/healthz"), timeout=5) as response:
        assert response.status == 200

    everything = launched.stop()
    assert launched.process.returncode == 0
    assert "Stopped." in everything
    for port in ports.values():
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


class StepClock:
    """A clock the test moves by hand: the backoff is checked without waiting for it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_a_dead_child_is_restarted_with_backoff_and_reported(tmp_path):
    """The launcher's supervision on a stand-in child (no model needed): restart, pause, status file."""
    settings = Settings(web_port=free_port(), database_url=f"sqlite:///{tmp_path / 'c.db'}")
    clock = StepClock()
    stack = Stack(settings, log_dir=tmp_path / "logs", clock=clock)
    try:
        first = stack._spawn("actions", [sys.executable, "-c", "import time; time.sleep(600)"])
        assert read_stack_status(str(stack.status_file)) == {
            "stack": "ok",
            "children": {"actions": {"restarts": 0, "state": "running"}},
        }
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        stack.supervise()
        status = read_stack_status(str(stack.status_file))
        assert status["stack"] == "degraded" and status["children"]["actions"]["state"] == "restarting"
        clock.advance(RESTART_DELAYS[0] - 0.1)
        stack.supervise()
        assert stack.processes["actions"] is first  # not yet: the first pause is RESTART_DELAYS[0]
        clock.advance(0.1)
        stack.supervise()
        second = stack.processes["actions"]
        assert second is not first and second.poll() is None
        status = read_stack_status(str(stack.status_file))
        assert status["stack"] == "ok"
        assert status["children"]["actions"]["restarts"] == 1
        assert status["children"]["actions"]["last_exit"] == -signal.SIGKILL

        # Dying again right away doubles the pause.
        os.kill(second.pid, signal.SIGKILL)
        second.wait()
        stack.supervise()
        clock.advance(RESTART_DELAYS[1] - 0.1)
        stack.supervise()
        assert stack.processes["actions"] is second, "restarted without the longer pause"
        clock.advance(0.1)
        stack.supervise()
        third = stack.processes["actions"]
        assert third is not second
        assert read_stack_status(str(stack.status_file))["children"]["actions"]["restarts"] == 2

        # A child that stayed up for STABLE_AFTER seconds starts again from the first pause.
        clock.advance(STABLE_AFTER)
        os.kill(third.pid, signal.SIGKILL)
        third.wait()
        stack.supervise()
        clock.advance(RESTART_DELAYS[0])
        stack.supervise()
        assert stack.processes["actions"] is not third, "a stable child must restart after the first pause"
        for path in (stack.status_file, stack.log_dir / "actions.log"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        stack.stop()
    assert not stack.status_file.exists()
