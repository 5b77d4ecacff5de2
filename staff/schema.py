"""The console's own tables, created with idempotent DDL next to Rasa's ``events`` table.

Everything the console writes lives in tables prefixed ``staff_``; Rasa's table is never altered.
The one thing the console adds to Rasa's table is an index on ``events(timestamp, id)`` (named
``staff_events_time``), which serves date-range exports and costs Rasa nothing but a little disk:
adding an index does not change the table's columns or how Rasa reads and writes it.

Tables:

``staff_conversations``  one summary row per conversation (sender id), maintained incrementally by
                         :mod:`staff.sync` so list pages never aggregate raw events.
``staff_messages``       one row per visitor message with the masked text, predicted intent and
                         confidence: search, missed questions and trends read it.
``staff_sync``           how far the summary has read ``events`` (a single row).
``staff_conversation_reviews`` / ``staff_message_reviews``  what staff decided.
``staff_users`` / ``staff_login_failures``  local logins and the failed-login rate limit.
"""

from __future__ import annotations

import logging
from typing import List

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from staff.store import EVENTS_TABLE, EventStore

logger = logging.getLogger(__name__)


def table_statements(store: EventStore) -> List[str]:
    """DDL for the console's tables; safe to run at every start."""
    return [
        """CREATE TABLE IF NOT EXISTS staff_sync (
            id INTEGER PRIMARY KEY,
            watermark INTEGER NOT NULL DEFAULT 0,
            pending TEXT NOT NULL DEFAULT '[]',
            schema_version INTEGER NOT NULL DEFAULT 1,
            updated_at DOUBLE PRECISION
        )""",
        "INSERT INTO staff_sync (id, watermark, pending, schema_version) VALUES (1, 0, '[]', 1)"
        " ON CONFLICT (id) DO NOTHING",
        """CREATE TABLE IF NOT EXISTS staff_conversations (
            sender_id VARCHAR(255) PRIMARY KEY,
            started_at DOUBLE PRECISION,
            last_activity DOUBLE PRECISION,
            events INTEGER NOT NULL DEFAULT 0,
            visitor_messages INTEGER NOT NULL DEFAULT 0,
            bot_messages INTEGER NOT NULL DEFAULT 0,
            hard_misses INTEGER NOT NULL DEFAULT 0,
            min_confidence DOUBLE PRECISION,
            intents TEXT NOT NULL DEFAULT ',',
            programs TEXT NOT NULL DEFAULT ',',
            tracks TEXT NOT NULL DEFAULT ',',
            first_message TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS staff_conversations_activity ON staff_conversations (last_activity, sender_id)",
        # Covering indexes: trends and exports read only these columns over a date range.
        "CREATE INDEX IF NOT EXISTS staff_conversations_start"
        " ON staff_conversations (started_at, visitor_messages, programs)",
        """CREATE TABLE IF NOT EXISTS staff_messages (
            event_id INTEGER PRIMARY KEY,
            sender_id VARCHAR(255) NOT NULL,
            timestamp DOUBLE PRECISION,
            text TEXT NOT NULL,
            norm_text VARCHAR(500) NOT NULL,
            intent VARCHAR(255),
            confidence DOUBLE PRECISION
        )""",
        "CREATE INDEX IF NOT EXISTS staff_messages_sender ON staff_messages (sender_id)",
        "CREATE INDEX IF NOT EXISTS staff_messages_day ON staff_messages (timestamp, intent, confidence)",
        # Covers the missed-questions page: group by text, filter by intent/confidence/time.
        "CREATE INDEX IF NOT EXISTS staff_messages_missed"
        " ON staff_messages (norm_text, timestamp, confidence, intent, sender_id)",
        """CREATE TABLE IF NOT EXISTS staff_conversation_reviews (
            sender_id VARCHAR(255) PRIMARY KEY,
            status VARCHAR(32) NOT NULL,
            note TEXT,
            updated_by VARCHAR(255),
            updated_at DOUBLE PRECISION
        )""",
        "CREATE INDEX IF NOT EXISTS staff_conversation_reviews_status ON staff_conversation_reviews (status)",
        """CREATE TABLE IF NOT EXISTS staff_message_reviews (
            event_id INTEGER PRIMARY KEY,
            sender_id VARCHAR(255) NOT NULL,
            status VARCHAR(32) NOT NULL,
            intent VARCHAR(255),
            updated_by VARCHAR(255),
            updated_at DOUBLE PRECISION
        )""",
        "CREATE INDEX IF NOT EXISTS staff_message_reviews_sender ON staff_message_reviews (sender_id)",
        "CREATE INDEX IF NOT EXISTS staff_message_reviews_status ON staff_message_reviews (status)",
        """CREATE TABLE IF NOT EXISTS staff_users (
            username VARCHAR(255) PRIMARY KEY,
            password_hash TEXT NOT NULL,
            created_at DOUBLE PRECISION
        )""",
        f"""CREATE TABLE IF NOT EXISTS staff_login_failures (
            id {store.autoincrement_key},
            username VARCHAR(255) NOT NULL,
            address VARCHAR(64) NOT NULL,
            failed_at DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS staff_login_failures_key ON staff_login_failures (username, address, failed_at)",
        # Superseded by the covering indexes above (development databases may still have them).
        "DROP INDEX IF EXISTS staff_conversations_started",
        "DROP INDEX IF EXISTS staff_messages_time",
        "DROP INDEX IF EXISTS staff_messages_norm",
    ]


def create_tables(store: EventStore) -> None:
    """Create the console's tables; two processes starting together may race, so retry once."""
    for attempt in (1, 2):
        try:
            with store.begin() as connection:
                for statement in table_statements(store):
                    connection.execute(sa.text(statement))
            break
        except DBAPIError:
            if attempt == 2:
                raise
            logger.info("Staff tables were being created by another process; retrying.")
    _optional(store, store.search_index_statements())


def _optional(store: EventStore, statements: List[str]) -> None:
    """Run speed-ups the console can live without, stopping at the first that is refused."""
    for statement in statements:
        try:
            with store.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text(statement))
        except DBAPIError as error:
            logger.info("Skipped optional index (%s): %s", statement.split(" ON ")[0], error.orig)
            return


def create_event_indexes(store: EventStore) -> bool:
    """Add ``staff_events_time`` to Rasa's table once it exists.

    On PostgreSQL the index is built ``CONCURRENTLY`` so Rasa keeps writing while it builds. When
    the console's database user may not create indexes on Rasa's table, the console still works
    (date-range exports scan more), so this logs and carries on.
    """
    if not store.has_events_table():
        return False
    concurrently = "CONCURRENTLY " if store.dialect == "postgresql" else ""
    statement = f"CREATE INDEX {concurrently}IF NOT EXISTS staff_events_time ON {EVENTS_TABLE} (timestamp, id)"
    try:
        with store.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text(statement))
        return True
    except DBAPIError as error:
        logger.warning("Could not add index staff_events_time on %s: %s", EVENTS_TABLE, error)
        return False
