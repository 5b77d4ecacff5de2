"""Rasa's SQL tracker store, made to report database failures instead of hiding them.

Rasa wraps every tracker store in ``FailSafeTrackerStore``: when the database fails, a read returns
"no conversation" (the bot starts over without its context) and a write goes to memory, lost on the
next restart, while the visitor gets a normal answer (rasa #3243, #8267). This subclass tells
``deploy.health`` about every failure and success, so that the turn guard in ``deploy.lock_store``
refuses turns while the database is unreachable and flags a turn whose read or write failed, and so
that health endpoints can report it. It also never writes a conversation that was rebuilt without
its history in the same turn (the read failed, the write would succeed): that would store a second,
truncated conversation.

Endpoints (``make run`` renders this from ``DATABASE_URL``)::

    tracker_store:
      type: deploy.tracker_store.GuardedSQLTrackerStore
      dialect: postgresql       # or sqlite, as for Rasa's `type: SQL`
      url: db.internal
      db: heinz
      username: bot
      password: ${DB_PASSWORD}
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import SQLAlchemyError

from deploy import health, speedups


class GuardedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose failures reach ``deploy.health`` and the turn being processed."""

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
        health.watch(self.engine)
        speedups.install()  # this runs in every Rasa server the project starts

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        try:
            tracker = await super().retrieve(sender_id)
        except SQLAlchemyError as error:
            health.database_failed(error)
            raise
        health.record_success()
        return tracker

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        try:
            tracker = await super().retrieve_full_tracker(conversation_id)
        except SQLAlchemyError as error:
            health.database_failed(error)
            raise
        health.record_success()
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        if health.turn_failed():
            raise health.TurnNotSaved(f"not saving {tracker.sender_id!r}: its history could not be read this turn")
        try:
            await super().save(tracker)
        except SQLAlchemyError as error:
            health.database_failed(error)
            raise
        health.record_success()

    async def keys(self) -> Iterable[Text]:
        try:
            return await super().keys()
        except SQLAlchemyError as error:
            health.database_failed(error)
            raise
