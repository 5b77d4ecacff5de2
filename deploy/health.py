"""Is the conversation database reachable? One answer for the launcher, health endpoints and turns.

- ``database_problem(url)``: a one-line reason when the database cannot be reached (None when it
  can). The launcher refuses to start on it; a web server's /healthz can report it.
- ``state()``: this Rasa process's view, kept up to date by ``deploy.tracker_store`` on every read
  and write of a conversation: ``{"database": "ok"}`` or ``{"database": "unavailable", "since":
  <epoch seconds>, "error": "..."}``. A health endpoint in the Rasa process reports it as unhealthy.
"""

from __future__ import annotations

import threading
import time
from typing import Dict, Optional, Union

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

CONNECT_TIMEOUT_SECONDS = 5

_lock = threading.Lock()
_failure: Optional[Dict[str, Union[str, float]]] = None


def _describe(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"SQLite file {url.database}"
    return f"{url.get_backend_name()} at {url.host or 'localhost'}:{url.port or 5432}/{url.database}"


def database_problem(database_url: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> Optional[str]:
    """Connect once and run ``SELECT 1``; return why that failed, in one line, or None."""
    url = make_url(database_url)
    connect_args: Dict[str, object] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, int(timeout))
    elif url.get_backend_name() == "sqlite":
        connect_args["timeout"] = timeout
    try:
        engine = sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        finally:
            engine.dispose()
    except (SQLAlchemyError, OSError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return f"the conversation database ({_describe(database_url)}) is unreachable: {reason}"
    return None


def record_failure(error: BaseException) -> None:
    global _failure
    with _lock:
        if _failure is None:
            _failure = {"since": time.time(), "error": str(error).strip().splitlines()[0] if str(error) else ""}
        else:
            _failure["error"] = str(error).strip().splitlines()[0] if str(error) else ""


def record_success() -> None:
    global _failure
    with _lock:
        _failure = None


def state() -> Dict[str, Union[str, float]]:
    """This process's database state: ``ok`` or ``unavailable`` since when and why."""
    with _lock:
        if _failure is None:
            return {"database": "ok"}
        return {"database": "unavailable", **_failure}


def healthy() -> bool:
    return state()["database"] == "ok"
