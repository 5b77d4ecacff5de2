"""`make run`'s launcher: prints where everything is, and Ctrl-C stops every server it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from core.settings import PROJECT_ROOT
from webapp.launcher import free_port

pytestmark = pytest.mark.slow


def test_launcher_prints_urls_and_stops_everything_on_ctrl_c(trained_model, tmp_path):
    ports = {"WEB_PORT": free_port(), "RASA_PORT": free_port(), "ACTION_PORT": free_port()}
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'conversations.db'}",
        "STAFF_USER": "",
        "STAFF_PASSWORD": "",
        "PYTHONUNBUFFERED": "1",
    }
    launcher = subprocess.Popen(
        [sys.executable, "-m", "webapp.launcher"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    banner = []
    deadline = time.monotonic() + 240
    for line in launcher.stdout:
        banner.append(line)
        if "Press Ctrl-C to stop." in line or time.monotonic() > deadline:
            break
    text = "".join(banner)
    assert f"http://localhost:{ports['WEB_PORT']}/" in text
    assert f"http://localhost:{ports['WEB_PORT']}/staff/" in text and "log in as 'staff' with password" in text
    assert "Rasa HTTP API token:" in text
    for url in (
        f"http://127.0.0.1:{ports['WEB_PORT']}/healthz",
        f"http://127.0.0.1:{ports['RASA_PORT']}/",
        f"http://127.0.0.1:{ports['ACTION_PORT']}/health",
    ):
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200

    launcher.send_signal(signal.SIGINT)
    rest, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 0
    assert "Stopped." in rest
    for port in ports.values():
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
