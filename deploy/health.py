"""Is the conversation database reachable? One answer for the launcher, health endpoints and turns.

- ``database_problem(url)``: a one-line reason when the database cannot be reached (None when it
  can). The launcher refuses to start on it; a web server's /healthz can report it.
- ``state()``: this Rasa process's view, kept up to date by ``deploy.tracker_store`` on every read
  and write of a conversation and by the check before each turn: ``{"database": "ok"}`` or
  ``{"database": "unavailable", "since": <epoch seconds>, "error": "..."}``. A health endpoint in the
  Rasa process reports it as unhealthy.
- ``guarded_turn()``: wraps one turn (the lock stores in ``deploy.lock_store`` use it). Before the
  turn it checks the database with ``SELECT 1`` and raises ``TurnNotSaved`` when that fails, so the
  turn is not processed at all. After the turn it raises ``TurnNotSaved`` if reading or saving the
  conversation failed on the way (the database went away mid-turn). Either way the project's input
  channels withdraw the bot's reply and say ``NOT_SAVED_REASON`` instead: the REST channel answers
  503 (channels/rest.py), the socket.io channel sends that sentence (channels/socketio.py). Rasa's
  stock channels would log it and still send the reply, so the visitor would believe the turn kept.
"""

from __future__ import annotations

import threading
import time
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import AsyncIterator, Dict, List, Optional, Union

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

CONNECT_TIMEOUT_SECONDS = 5

_lock = threading.Lock()
_failure: Optional[Dict[str, Union[str, float]]] = None
_engine: Optional[sa.engine.Engine] = None
# The errors met by the turn being processed (one list per turn, shared through the task's context).
_turn_errors: ContextVar[Optional[List[BaseException]]] = ContextVar("turn_errors", default=None)


# What an input channel tells the visitor's client instead of the bot's reply when ``TurnNotSaved``
# is raised (channels/rest.py answers it with HTTP 503, channels/socketio.py sends it as the reply).
NOT_SAVED_REASON = (
    "Sorry, this conversation can't be saved right now, so your message was not kept. Please try again in a minute."
)


class TurnNotSaved(Exception):
    """This turn could not be kept in the conversation database: the visitor must not be told otherwise."""


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


def watch(engine: sa.engine.Engine) -> None:
    """Check this engine (the tracker store's) before each turn."""
    global _engine
    _engine = engine


def database_failed(error: BaseException) -> None:
    """Called by the tracker store when a read or write failed."""
    record_failure(error)
    errors = _turn_errors.get()
    if errors is not None:
        errors.append(error)


def turn_failed() -> bool:
    """Whether reading or saving the conversation already failed during this turn."""
    return bool(_turn_errors.get())


def ensure_database() -> None:
    if _engine is None:
        return
    try:
        with _engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as error:
        record_failure(error)
        raise TurnNotSaved(f"the conversation database is unavailable: {state().get('error')}") from error
    record_success()


@asynccontextmanager
async def guarded_turn(conversation_id: str) -> AsyncIterator[None]:
    ensure_database()
    token = _turn_errors.set([])
    try:
        yield
        errors = _turn_errors.get() or []
        if errors:
            raise TurnNotSaved(f"conversation {conversation_id!r}: this turn was not saved: {errors[0]}")
    finally:
        _turn_errors.reset(token)
