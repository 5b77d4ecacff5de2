"""The web server's view of the conversation database, for ``/healthz``.

While the database is unreachable no visitor's turn can be kept (the Rasa servers refuse turns,
``bot/stores/health.py``), so the stack is reported ``degraded`` with a 503. The check runs at most every
``interval`` seconds with a short connect timeout, so a monitor polling ``/healthz`` never piles up
connections or waits long on a dead database.
"""

from __future__ import annotations

import threading
import time
from typing import Optional

from core.database import database_problem


class DatabaseWatch:
    def __init__(self, database_url: str, interval: float = 5.0, timeout: float = 2.0) -> None:
        self.database_url = database_url
        self.interval = interval
        self.timeout = timeout
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._problem: Optional[str] = None

    def problem(self) -> Optional[str]:
        """Why the database cannot be reached (one line), or None; at most one check per interval."""
        with self._lock:
            if time.monotonic() - self._checked >= self.interval:
                self._problem = database_problem(self.database_url, timeout=self.timeout)
                self._checked = time.monotonic()
            return self._problem
