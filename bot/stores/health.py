"""Is this Rasa process's conversation database reachable, and was the turn in progress kept?

``DatabaseHealth`` is owned by the tracker store (``GuardedSQLTrackerStore.health``), which reports
every read and write to it, and handed to the lock store when Rasa builds its agent
(``bot/rasa_patches/agent_health.py``), which runs every turn inside ``guarded_turn()``:

- before the turn it checks the database with ``SELECT 1`` and raises ``TurnNotSaved`` when that
  fails, so the turn is not processed at all;
- after the turn it raises ``TurnNotSaved`` if reading or saving the conversation failed on the way
  (the database went away mid-turn).

Either way the project's input channels withdraw the bot's reply and say ``NOT_SAVED_REASON``
instead: the REST channel answers 503 (bot/channels/rest.py), the socket.io channel sends that
sentence (bot/channels/socketio.py). Rasa's stock channels would log it and still send the reply,
so the visitor would believe the turn was kept.
"""

from __future__ import annotations

import threading
import time
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import AsyncIterator, Dict, List, Optional, Union

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

# What an input channel tells the visitor's client instead of the bot's reply when ``TurnNotSaved``
# is raised (bot/channels/rest.py answers it with HTTP 503, bot/channels/socketio.py sends it as the reply).
NOT_SAVED_REASON = (
    "Sorry, this conversation can't be saved right now, so your message was not kept. Please try again in a minute."
)

State = Dict[str, Union[str, float]]


class TurnNotSaved(Exception):
    """This turn could not be kept in the conversation database: the visitor must not be told otherwise."""


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class DatabaseHealth:
    """One tracker store's database: its state (``ok`` or since when and why not) and the turn guard."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._failure: Optional[State] = None
        # The errors met by the turn being processed: one list per turn, carried by the task's context.
        self._turn_errors: ContextVar[Optional[List[BaseException]]] = ContextVar(
            f"turn_errors_{id(self)}", default=None
        )

    def record_failure(self, error: BaseException) -> None:
        with self._lock:
            since = self._failure["since"] if self._failure else time.time()
            self._failure = {"since": since, "error": _first_line(error)}

    def record_success(self) -> None:
        with self._lock:
            self._failure = None

    def state(self) -> State:
        """``{"database": "ok"}`` or ``{"database": "unavailable", "since": <epoch>, "error": "..."}``."""
        with self._lock:
            if self._failure is None:
                return {"database": "ok"}
            return {"database": "unavailable", **self._failure}

    def healthy(self) -> bool:
        return self.state()["database"] == "ok"

    def database_failed(self, error: BaseException) -> None:
        """A read or write of a conversation failed: remember it, and mark the turn in progress."""
        self.record_failure(error)
        errors = self._turn_errors.get()
        if errors is not None:
            errors.append(error)

    def turn_failed(self) -> bool:
        """Whether reading or saving the conversation already failed during this turn."""
        return bool(self._turn_errors.get())

    def ensure_database(self) -> None:
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except SQLAlchemyError as error:
            self.record_failure(error)
            raise TurnNotSaved(f"the conversation database is unavailable: {_first_line(error)}") from error
        self.record_success()

    @asynccontextmanager
    async def guarded_turn(self, conversation_id: str) -> AsyncIterator[None]:
        """Refuse the turn while the database is down; fail it if its conversation was not kept."""
        self.ensure_database()
        token = self._turn_errors.set([])
        try:
            yield
            errors = self._turn_errors.get() or []
            if errors:
                raise TurnNotSaved(f"conversation {conversation_id!r}: this turn was not saved: {errors[0]}")
        finally:
            self._turn_errors.reset(token)
