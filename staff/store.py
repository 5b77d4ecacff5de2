"""Read-only access to Rasa's ``events`` table, for SQLite and PostgreSQL.

Rasa's ``SQLTrackerStore`` (rasa/core/tracker_store.py) owns the ``events`` table: one row per
event with ``id, sender_id, type_name, timestamp, intent_name, action_name, data``. The console only
reads it (and, for the retention purge, deletes whole conversations); it never changes its columns.

Almost all SQL is the same on both databases. :class:`EventStore` holds it; the two subclasses only
supply what genuinely differs: how a connection is made, how to cut timestamps into buckets, how
to match text regardless of case and how to declare an auto-increment key.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.url import URL

EVENTS_TABLE = "events"
# Which rows' JSON the summariser needs: visitor messages and the slots it tracks. Everything else
# is summarised from the plain columns, which keeps catching up with a large table quick.
_SYNC_DATA = (
    "CASE WHEN type_name = 'user' OR (type_name = 'slot' AND action_name IN ('program', 'track')) THEN data END AS data"
)
_ROW = "id, sender_id, type_name, timestamp, intent_name, action_name"


def normalise_url(database_url: str) -> URL:
    """Accept the URL forms operators paste (``postgres://`` from Heroku-style configs)."""
    raw = database_url.strip()
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    return make_url(raw)


class EventStore:
    """Queries shared by both backends; see the subclasses for the parts that differ."""

    dialect = "generic"
    autoincrement_key = "INTEGER PRIMARY KEY"

    def __init__(self, url: URL) -> None:
        self.url = url
        self.engine: Engine = self._create_engine(url)
        self._has_events: Optional[bool] = None

    # -- backend specifics -------------------------------------------------------------------
    def _create_engine(self, url: URL) -> Engine:  # pragma: no cover - overridden
        raise NotImplementedError

    def bucket_sql(self, column: str, seconds: int) -> str:
        """SQL for ``floor(column / seconds)`` as an integer (used to count per day)."""
        raise NotImplementedError  # pragma: no cover - overridden

    def contains_sql(self, column: str, param: str) -> str:
        """Case-insensitive ``column`` contains the ``LIKE`` pattern in ``:param`` (escape ``!``)."""
        raise NotImplementedError  # pragma: no cover - overridden

    def search_index_statements(self) -> List[str]:
        """Optional DDL that speeds up text search; each may fail (e.g. for lack of privileges)."""
        return []

    # -- connections ------------------------------------------------------------------------
    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection inside a transaction, committed when the block ends without error."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()

    def describe(self) -> str:
        """The URL with the password hidden, for log lines and the CLI."""
        return self.url.render_as_string(hide_password=True)

    # -- Rasa's events table ------------------------------------------------------------------
    def has_events_table(self) -> bool:
        """Whether Rasa has created its table yet (a fresh install may start the console first)."""
        if not self._has_events:
            self._has_events = sa.inspect(self.engine).has_table(EVENTS_TABLE)
        return bool(self._has_events)

    def max_event_id(self, connection: Connection) -> int:
        return int(connection.execute(sa.text(f"SELECT max(id) FROM {EVENTS_TABLE}")).scalar() or 0)

    def events_after(self, connection: Connection, watermark: int, limit: int) -> List[Mapping[str, Any]]:
        """The next ``limit`` events by id, with JSON only where the summariser reads it."""
        query = sa.text(
            f"SELECT {_ROW}, {_SYNC_DATA} FROM {EVENTS_TABLE} WHERE id > :watermark ORDER BY id LIMIT :limit"
        )
        return [row._mapping for row in connection.execute(query, {"watermark": watermark, "limit": limit})]

    def events_by_ids(self, connection: Connection, ids: Sequence[int]) -> List[Mapping[str, Any]]:
        if not ids:
            return []
        query = sa.text(f"SELECT {_ROW}, {_SYNC_DATA} FROM {EVENTS_TABLE} WHERE id IN :ids ORDER BY id")
        query = query.bindparams(sa.bindparam("ids", expanding=True))
        return [row._mapping for row in connection.execute(query, {"ids": list(ids)})]

    def conversation_events(self, sender_id: str, limit: int = 5000) -> List[Mapping[str, Any]]:
        """All events of one conversation in the order Rasa wrote them (``id``, as Rasa reads them)."""
        if not self.has_events_table():
            return []
        query = sa.text(
            f"SELECT {_ROW}, data FROM {EVENTS_TABLE} WHERE sender_id = :sender_id ORDER BY id LIMIT :limit"
        )
        with self.connect() as connection:
            rows = connection.execute(query, {"sender_id": sender_id, "limit": limit})
            return [dict(row._mapping) for row in rows]

    def stream_messages(self, since: float, until: float, batch_size: int = 2000) -> Iterator[Mapping[str, Any]]:
        """Visitor/bot messages and the actions between them in a time range, as a stream.

        Uses a server-side cursor on PostgreSQL (``stream_results``) and fetches in batches, so an
        export of any size holds only one batch in memory. Ordered by time, then id, which the
        console's ``staff_events_time`` index serves without sorting.
        """
        if not self.has_events_table():
            return
        query = sa.text(
            f"SELECT {_ROW}, CASE WHEN type_name IN ('user', 'bot') THEN data END AS data"
            f" FROM {EVENTS_TABLE}"
            " WHERE timestamp >= :since AND timestamp < :until"
            " AND type_name IN ('user', 'bot', 'action', 'session_started')"
            " ORDER BY timestamp, id"
        )
        yield from self.stream(query, {"since": since, "until": until}, batch_size)

    def stream(self, query: Any, params: Dict[str, Any], batch_size: int = 2000) -> Iterator[Mapping[str, Any]]:
        """Run ``query`` with a server-side cursor and yield its rows one batch at a time."""
        with self.engine.connect() as connection:
            result = connection.execution_options(stream_results=True, max_row_buffer=batch_size).execute(query, params)
            for batch in result.partitions(batch_size):
                for row in batch:
                    yield row._mapping


class SQLiteStore(EventStore):
    """The embedded default: Rasa and the console share one file under ``var/``."""

    dialect = "sqlite"
    autoincrement_key = "INTEGER PRIMARY KEY AUTOINCREMENT"

    def _create_engine(self, url: URL) -> Engine:
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # Rasa writes to the same file; wait for its short write transactions instead of failing.
        return sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    def bucket_sql(self, column: str, seconds: int) -> str:
        # Timestamps are positive, so truncation is floor; SQLite may lack the math functions.
        return f"CAST({column} / {int(seconds)} AS INTEGER)"

    def contains_sql(self, column: str, param: str) -> str:
        # SQLite's LIKE already ignores ASCII case (as its lower() does), and is faster without it.
        return f"{column} LIKE :{param} ESCAPE '!'"


class PostgresStore(EventStore):
    """Production: the tracker store's PostgreSQL database."""

    dialect = "postgresql"
    autoincrement_key = "BIGSERIAL PRIMARY KEY"

    def _create_engine(self, url: URL) -> Engine:
        # values_plus_batch: executemany of text() statements goes out in pages, not row by row.
        kwargs: Dict[str, Any] = {
            "pool_size": 5,
            "max_overflow": 10,
            "pool_pre_ping": True,
            "executemany_mode": "values_plus_batch",
        }
        # Rasa honours POSTGRESQL_SCHEMA by setting the search path; read the same tables it writes.
        schema = os.environ.get("POSTGRESQL_SCHEMA", "").strip()
        if schema:
            kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
        return sa.create_engine(url, **kwargs)

    def bucket_sql(self, column: str, seconds: int) -> str:
        # PostgreSQL rounds when casting a float to an integer, so floor explicitly.
        return f"CAST(floor({column} / {int(seconds)}) AS BIGINT)"

    def contains_sql(self, column: str, param: str) -> str:
        return f"{column} ILIKE :{param} ESCAPE '!'"

    def search_index_statements(self) -> List[str]:
        # A trigram index lets ILIKE '%word%' use an index instead of reading every message.
        # pg_trgm ships with PostgreSQL and is a trusted extension (the database owner may add it).
        return [
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "CREATE INDEX IF NOT EXISTS staff_messages_text_trgm ON staff_messages USING gin (text gin_trgm_ops)",
        ]


def create_store(database_url: str) -> EventStore:
    """The store for ``database_url`` (``sqlite:///...`` or ``postgresql://...``)."""
    url = normalise_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return SQLiteStore(url)
    if backend == "postgresql":
        return PostgresStore(url)
    raise ValueError(f"The staff console supports SQLite and PostgreSQL, not {backend!r}.")
