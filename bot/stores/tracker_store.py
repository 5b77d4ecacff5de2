"""Rasa's SQL tracker store, made to report database failures instead of hiding them.

Rasa wraps every tracker store in ``FailSafeTrackerStore``: when the database fails, a read returns
"no conversation" (the bot starts over without its context) and a write goes to memory, lost on the
next restart, while the visitor gets a normal answer (rasa #3243, #8267). This subclass owns a
``DatabaseHealth`` (bot/stores/health.py) and tells it about every failure and success; the lock
store is handed that object when Rasa builds its agent, so its turn guard refuses turns while the
database is unreachable and flags a turn whose read or write failed. It also never writes a
conversation that was rebuilt without its history in the same turn (the read failed, the write
would succeed): that would store a second, truncated conversation.

Reading and writing a turn use SQLAlchemy Core statements built once, on Rasa's own ``events``
table, instead of Rasa's ORM queries, which SQLAlchemy re-analysed and re-keyed on every call (its
read, count and insert were about a sixth of the Rasa server's CPU per turn). They run the same
SQL: the events of the latest session (after the last ``session_started``), in id order; a save
counts those and inserts the tracker's events past that count, in one transaction.
``tests/unit/test_scale_speedups.py`` checks the two stores read and write the same rows.

Endpoints (``make run`` renders this from ``DATABASE_URL``)::

    tracker_store:
      type: bot.stores.tracker_store.GuardedSQLTrackerStore
      dialect: postgresql       # or sqlite, as for Rasa's `type: SQL`
      url: db.internal
      db: heinz
      username: bot
      password: ${DB_PASSWORD}
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Dict, Iterable, List, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.exc import SQLAlchemyError

from bot.rasa_patches.install import install_patches
from bot.stores.health import DatabaseHealth, TurnNotSaved


class GuardedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose failures reach its ``health`` and the turn being processed."""

    engine: sa.engine.Engine

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # SQLAlchemy 1.4 opens and closes a new SQLite connection for every session (NullPool):
            # four per turn here (the check before the turn, the read, two saves), and closing the
            # last connection checkpoints the write-ahead log into the database file, with its
            # fsyncs. Connecting and closing were a fifth of the Rasa server's CPU under load
            # (docs/benchmarks.md). A small pool keeps them open; Rasa uses them from its event
            # loop only, one at a time.
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(
                url, poolclass=sa.pool.QueuePool, pool_size=2, connect_args={"check_same_thread": False}
            )
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
            # Write-ahead log: one fsync per saved turn instead of a rollback journal's create, two
            # fsyncs and delete (commits were the largest SQL item in the profile); still durable
            # (synchronous stays FULL), and readers such as the staff console never block the bot.
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        self.health = DatabaseHealth(self.engine)
        # Rasa creates this store from the endpoints, so every Rasa server configured with it gets the
        # project's patches, however it was started (`python -m bot`, `rasa run`, a Sanic worker).
        install_patches()
        self._statements = _Statements(self.SQLEvent.__table__)

    def _event_rows(self, connection: sa.engine.Connection, sender_id: Text, all_sessions: bool) -> List[Any]:
        statement = self._statements.all_sessions if all_sessions else self._statements.latest_session
        return connection.execute(statement, {"sender_id": sender_id}).fetchall()

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        """Rasa's ``_retrieve`` with the prepared statement: the same events, the same tracker."""
        with self.session_scope() as session:
            rows = self._event_rows(session.connection(), sender_id, fetch_events_from_all_sessions)
        events = [json.loads(row.data) for row in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def _save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's ``save``: the events past those stored for the latest session, in one transaction."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            connection = session.connection()
            stored = connection.execute(self._statements.count_latest, {"sender_id": tracker.sender_id}).scalar()
            rows: List[Dict[str, Any]] = []
            for event in itertools.islice(tracker.events, stored, None):
                data = event.as_dict()
                rows.append(
                    {
                        "sender_id": tracker.sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                )
            if rows:
                connection.execute(self._statements.insert, rows)
            session.commit()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        try:
            tracker = await super().retrieve(sender_id)
        except SQLAlchemyError as error:
            self.health.database_failed(error)
            raise
        self.health.record_success()
        return tracker

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        try:
            tracker = await super().retrieve_full_tracker(conversation_id)
        except SQLAlchemyError as error:
            self.health.database_failed(error)
            raise
        self.health.record_success()
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        if self.health.turn_failed():
            raise TurnNotSaved(f"not saving {tracker.sender_id!r}: its history could not be read this turn")
        try:
            await self._save(tracker)
        except SQLAlchemyError as error:
            self.health.database_failed(error)
            raise
        self.health.record_success()

    async def keys(self) -> Iterable[Text]:
        try:
            return await super().keys()
        except SQLAlchemyError as error:
            self.health.database_failed(error)
            raise


class _Statements:
    """The statements of a turn, built once so that SQLAlchemy keys and compiles each of them once."""

    def __init__(self, events: sa.Table) -> None:
        sender = sa.bindparam("sender_id")
        session_start = (
            sa.select(sa.func.max(events.c.timestamp))
            .where(events.c.sender_id == sender, events.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        in_latest_session = sa.or_(events.c.timestamp >= session_start, session_start.is_(None))
        self.all_sessions = sa.select(events.c.data).where(events.c.sender_id == sender).order_by(events.c.id)
        self.latest_session = self.all_sessions.where(in_latest_session)
        self.count_latest = (
            sa.select(sa.func.count()).select_from(events).where(events.c.sender_id == sender, in_latest_session)
        )
        self.insert = events.insert()
