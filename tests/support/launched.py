"""``python -m ops.launcher`` started as ``make run`` starts it, with its output collected."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

from core.settings import PROJECT_ROOT
from ops.launcher import free_port
from tests.support.processes import processes_of

TOKEN = f"edge-token-{uuid.uuid4().hex}"


class Launched:
    """``python -m ops.launcher`` as ``make run`` starts it, with its output collected."""

    def __init__(self, tmp_path: Path, ports: Optional[Dict[str, int]] = None, **extra_env: str) -> None:
        self.ports = ports or {"WEB_PORT": free_port(), "RASA_PORT": free_port(), "ACTION_PORT": free_port()}
        env = {
            **os.environ,
            **extra_env,
            **{key: str(value) for key, value in self.ports.items()},
            "DATABASE_URL": f"sqlite:///{tmp_path / 'conversations.db'}",
            "RASA_TOKEN": TOKEN,
            "ACTION_TIMEOUT": "3",
            "STAFF_USER": "",
            "STAFF_PASSWORD": "",
            "PYTHONUNBUFFERED": "1",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ops.launcher"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: List[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if "Press Ctrl-C to stop." in line:
                self.ready.set()

    def url(self, name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def say(self, sender: str, text: str) -> str:
        request = urllib.request.Request(
            self.url("RASA_PORT", "/webhooks/rest/webhook"),
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        # 30 s is far above the 3 s ACTION_TIMEOUT and far below the minutes Rasa waits on its own.
        with urllib.request.urlopen(request, timeout=30) as response:
            return "\n".join(reply.get("text", "") for reply in json.loads(response.read()))

    def health(self) -> Dict[str, Any]:
        with urllib.request.urlopen(self.url("WEB_PORT", "/healthz"), timeout=10) as response:
            return json.loads(response.read())

    def pid_of(self, module: str) -> int:
        for pid in processes_of([self.process.pid]):
            try:
                command_line = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if command_line[1:3] == [b"-m", module.encode()]:
                return pid
        raise AssertionError(f"no process runs `python -m {module}`")

    def stop(self) -> str:
        """Ctrl-C, as a person at the terminal stops it; everything it printed, to its last line."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=90)
        self._reader.join(timeout=10)
        return "".join(self.output)


def wait_until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except OSError as error:
            last = error
        time.sleep(1)
    raise AssertionError(f"{what} within {timeout:.0f} s (last: {last!r})")
