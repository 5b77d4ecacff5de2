"""The console's database handle: Rasa's ``events`` table (read) and the console's own tables.

Modelled on ``rasa/core/tracker_store.py``: the tables are declared once with SQLAlchemy Core, every
query is built as an expression, and work that writes runs inside one :meth:`ConsoleDatabase.session_scope`.
SQLite (the embedded default) and PostgreSQL (production) differ only where SQLAlchemy's dialects
say so; the few statements it cannot express are kept here, each with its reason.

Rasa's ``SQLTrackerStore`` owns ``events`` (one row per event: ``id, sender_id, type_name,
timestamp, intent_name, action_name, data``, the event as JSON). The console never creates or alters
it; it only reads it, deletes whole conversations in the retention purge, and adds one index
(``staff_events_time``) that serves date-range exports.

The console's tables (all prefixed ``staff_``):

``staff_sync``          how far the summaries have read ``events``, and the schema version.
``staff_conversations`` one summary row per conversation, kept by :mod:`console.data.sync`.
``staff_messages``      one row per visitor message: sanitised, masked text, intent, confidence, the
                        feedback the answer to it got, and the topic it was (likely) about.
``staff_answers``       one row per assistant reply of a known answer type (``core.topics.ANSWER_TYPES``):
                        its response, topic, the question it answered and the visitor's feedback.
``staff_conversation_reviews`` / ``staff_message_reviews``  what staff decided.
``staff_followups``     one row per follow-up request (declared in :mod:`console.followups.inbox`): the
                        request as the visitor submitted it, and its status, assignee and notes.
``staff_users`` / ``staff_login_failures`` / ``staff_sessions``  logins (with their role), the
                        rate limit and the server-side sessions that logout and idle time end.
``staff_training_examples`` missed questions staff assigned to a topic: the training data they add.
``staff_erasures``      the audit record of each erasure on request (no personal data).
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import DBAPIError

from core.handoff import ACTIVE_STATES, FOLLOWUP_RECORD_SLOT, FOLLOWUP_STATUSES, HANDOFF_SLOT
from core.topics import TOPIC_SLOT

logger = logging.getLogger(__name__)

# Version of the console's tables. Version 2 sanitises stored text, masks card numbers and gives
# each conversation an opaque reference; version 3 adds answers, feedback and hand-off counts;
# version 4 adds live hand-offs and follow-ups taken per conversation, the conversation's hand-off
# state, and marks visitor messages written to a person: older summaries are rebuilt on start
# (see _migrate); version 6 gives each login a role; version 7 marks button clicks and questions
# replied to as out of scope, and leaves the widget's greeting out of the visitor's messages; version 8
# gives each question the topic its answer was about, and marks the ones the NLU could not place that
# were answered all the same; version 9 gives each question its likely topic (the Missed page's filter).
SCHEMA_VERSION = 9
# The last version whose summaries an upgrade must read again from the first event.
SUMMARIES_VERSION = 9
# A transcript shows at most this many events (a conversation longer than that is a bot loop).
TRANSCRIPT_LIMIT = 5000
# An event whose JSON is longer than this is not parsed: the console shows that it was too large.
MAX_EVENT_DATA = 4_000_000

# -- Rasa's table, declared as SQLTrackerStore.SQLEvent declares it (never created here) --------
rasa_metadata = sa.MetaData()
events = sa.Table(
    "events",
    rasa_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)
# Serves date-range exports; CONCURRENTLY on PostgreSQL so Rasa keeps writing while it builds.
events_time_index = sa.Index("staff_events_time", events.c.timestamp, events.c.id, postgresql_concurrently=True)

# -- the console's tables -----------------------------------------------------------------------
metadata = sa.MetaData()
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite auto-increments INTEGER keys only

sync_state = sa.Table(
    "staff_sync",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("watermark", sa.Integer, nullable=False, server_default="0"),
    sa.Column("pending", sa.Text, nullable=False, server_default="[]"),
    sa.Column("schema_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("updated_at", sa.Float),
)
conversations = sa.Table(
    "staff_conversations",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("ref", sa.String(32), nullable=False, unique=True),
    sa.Column("started_at", sa.Float),
    sa.Column("last_activity", sa.Float),
    sa.Column("events", sa.Integer, nullable=False, server_default="0"),
    sa.Column("visitor_messages", sa.Integer, nullable=False, server_default="0"),
    sa.Column("bot_messages", sa.Integer, nullable=False, server_default="0"),
    sa.Column("hard_misses", sa.Integer, nullable=False, server_default="0"),
    sa.Column("min_confidence", sa.Float),
    sa.Column("intents", sa.Text, nullable=False, server_default=","),
    sa.Column("programs", sa.Text, nullable=False, server_default=","),
    sa.Column("tracks", sa.Text, nullable=False, server_default=","),
    sa.Column("first_message", sa.Text),
    # Replies that suggested the admissions team's contact or a person (they do not count against containment).
    sa.Column("contact_suggestions", sa.Integer, nullable=False, server_default="0"),
    # Answers the visitor marked "not helpful" (their questions join the missed queue).
    sa.Column("not_helpful", sa.Integer, nullable=False, server_default="0"),
    # Live chats the visitor accepted and follow-up requests taken (containment: neither).
    sa.Column("live_chats", sa.Integer, nullable=False, server_default="0"),
    sa.Column("followups", sa.Integer, nullable=False, server_default="0"),
    # The ``handoff`` slot after the last event read ("queued" / "live" / null) and whether the
    # follow-up form is asking, so a catch-up that starts mid-conversation knows whether the visitor
    # is writing to a person (or answering the form) rather than asking the assistant.
    sa.Column("handoff_state", sa.String(16)),
    sa.Column("in_form", sa.Boolean, nullable=False, server_default=sa.false()),
    # Keyset pagination: newest activity first, the opaque reference breaking ties.
    sa.Index("staff_conversations_activity", "last_activity", "ref"),
    # Covering index: trends and exports read only these columns over a date range.
    sa.Index("staff_conversations_start", "started_at", "visitor_messages", "programs", "live_chats", "followups"),
)
messages = sa.Table(
    "staff_messages",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("norm_text", sa.String(500), nullable=False),
    sa.Column("intent", sa.String(255)),
    sa.Column("confidence", sa.Float),
    # "yes" / "no": what the visitor said of the answer to this message ("no" puts it in the missed queue).
    sa.Column("feedback", sa.String(8)),
    # Written while a person owned the conversation (live hand-off): a message to staff, never a miss.
    sa.Column("to_person", sa.Boolean, nullable=False, server_default=sa.false()),
    # A button click (a payload Rasa takes as its intent): the visitor typed nothing, so never a miss.
    sa.Column("clicked", sa.Boolean, nullable=False, server_default=sa.false()),
    # The assistant replied that it is outside what it covers (another degree): a miss, whatever the intent.
    sa.Column("out_of_scope", sa.Boolean, nullable=False, server_default=sa.false()),
    # The topic the question was about: its answer's (the topic slot the answer set), else its intent's
    # (console.data.events.question_topic); trends and the conversation's topics count it.
    sa.Column("topic", sa.String(255)),
    # The NLU could not place it (a miss intent), but the reply was a topic answer (a follow-up of the
    # topic being discussed): answered, not missed (console.data.events.answered_though_unsure).
    sa.Column("answered_unsure", sa.Boolean, nullable=False, server_default=sa.false()),
    # What a missed question was likely about, for the Missed page's Topic filter: the topic it was
    # answered on (console.data.events.answered_topic), else the first topic a fallback reply offered
    # as a button (console.data.events.suggested_topic); none for the honest miss.
    sa.Column("likely_topic", sa.String(255)),
    sa.Index("staff_messages_sender", "sender_id"),
    sa.Index(
        "staff_messages_day",
        "timestamp",
        "intent",
        "confidence",
        "feedback",
        "to_person",
        "clicked",
        "out_of_scope",
        "topic",
        "answered_unsure",
    ),
    # Covers the missed-questions page: group by text, filter by intent/confidence/time.
    sa.Index(
        "staff_messages_missed",
        "norm_text",
        "timestamp",
        "confidence",
        "intent",
        "feedback",
        "to_person",
        "clicked",
        "out_of_scope",
        "answered_unsure",
        "likely_topic",
        "sender_id",
    ),
)
answers = sa.Table(
    "staff_answers",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("response", sa.String(255), nullable=False),  # the bot event's utter_action
    sa.Column("topic", sa.String(255)),  # the topic slot set with the answer, if any
    sa.Column("question_id", sa.Integer),  # the visitor message it answered (staff_messages.event_id)
    sa.Column("feedback", sa.String(8)),  # "yes" / "no" from the buttons under it
    sa.Index("staff_answers_sender", "sender_id", "event_id"),
    sa.Index("staff_answers_day", "timestamp", "response", "topic", "feedback"),
)
# A trigram index lets ILIKE '%word%' use an index on PostgreSQL. It needs the pg_trgm extension,
# so create_all leaves it out and _add_trigram_index creates it once the extension is there.
messages_trigram_index = sa.Index(
    "staff_messages_text_trgm", messages.c.text, postgresql_using="gin", postgresql_ops={"text": "gin_trgm_ops"}
)
messages.indexes.discard(messages_trigram_index)
conversation_reviews = sa.Table(
    "staff_conversation_reviews",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("updated_by", sa.String(255)),
    sa.Column("updated_at", sa.Float),
    sa.Index("staff_conversation_reviews_status", "status"),
)
message_reviews = sa.Table(
    "staff_message_reviews",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("intent", sa.String(255)),
    sa.Column("updated_by", sa.String(255)),
    sa.Column("updated_at", sa.Float),
    sa.Index("staff_message_reviews_sender", "sender_id"),
    sa.Index("staff_message_reviews_status", "status"),
)
ROLES = ("editor", "viewer")  # editors change knowledge and training; viewers only read
users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("username", sa.String(255), primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float),
    sa.Column("role", sa.String(16), nullable=False, server_default=ROLES[0]),
)
login_failures = sa.Table(
    "staff_login_failures",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(255), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("failed_at", sa.Float, nullable=False),
    sa.Index("staff_login_failures_key", "username", "address", "failed_at"),
)
sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(255), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False),
)
# -- live chat (console/live/handoffs.py) and follow-up requests (console/followups/inbox.py) -------------------
STAFF_NAME_LIMIT = 80  # the name visitors see for a staff member in a live chat
FOLLOWUP_NAME_LIMIT = 200
FOLLOWUP_ASSIGNEE_LIMIT = 120
availability = sa.Table(
    "staff_availability",
    metadata,
    sa.Column("username", sa.String(255), primary_key=True),
    sa.Column("display_name", sa.String(STAFF_NAME_LIMIT), nullable=False),
    sa.Column("available", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_seen", sa.Float),
)
handoffs = sa.Table(
    "staff_handoffs",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("program", sa.String(64)),
    sa.Column("requested_at", sa.Float, nullable=False),
    # The conversation's last event id when it was queued: its chat is the events after it (ids, not
    # clocks, tell one hand-off's messages from an earlier one's).
    sa.Column("since_event", sa.Integer),
    sa.Column("claimed_by", sa.String(255)),
    sa.Column("claimed_name", sa.String(STAFF_NAME_LIMIT)),
    sa.Column("claimed_at", sa.Float),
    sa.Column("closed_at", sa.Float),
    sa.Column("closed_reason", sa.String(32)),
    sa.Index("staff_handoffs_status", "status", "requested_at"),
    sa.Index("staff_handoffs_sender", "sender_id", "id"),
)
# One open hand-off per conversation, whichever process inserts it (both dialects have partial indexes).
OPEN_HANDOFF = handoffs.c.status.in_(ACTIVE_STATES)
sa.Index(
    "staff_handoffs_open",
    handoffs.c.sender_id,
    unique=True,
    sqlite_where=OPEN_HANDOFF,
    postgresql_where=OPEN_HANDOFF,
)
followups = sa.Table(
    "staff_followups",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Integer, nullable=False, unique=True),  # the followup_request slot event
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("submitted_at", sa.Float, nullable=False),
    sa.Column("name", sa.String(FOLLOWUP_NAME_LIMIT + 10), nullable=False),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("program", sa.String(40), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("consent", sa.Boolean, nullable=False),
    sa.Column("page_url", sa.Text),
    sa.Column("status", sa.String(16), nullable=False, server_default=FOLLOWUP_STATUSES[0]),
    sa.Column("assignee", sa.String(FOLLOWUP_ASSIGNEE_LIMIT + 10)),
    sa.Column("notes", sa.Text),
    sa.Column("updated_at", sa.Float),
    sa.Column("updated_by", sa.String(255)),
    sa.Index("staff_followups_inbox", "status", "submitted_at"),
    sa.Index("staff_followups_sender", "sender_id"),
    sa.Index("staff_followups_time", "submitted_at"),
)

# -- what staff teach the assistant (console/data/review.py) and erasures on request (console/data/erasure.py) --
training_examples = sa.Table(
    "staff_training_examples",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    # The visitor message it came from: one example per message, whatever staff decide later.
    sa.Column("event_id", sa.Integer, nullable=False, unique=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("text", sa.Text, nullable=False),  # sanitised and masked, as the console shows it
    sa.Column("intent", sa.String(255), nullable=False),
    sa.Column("added_by", sa.String(255), nullable=False),
    sa.Column("added_at", sa.Float, nullable=False),
    sa.Index("staff_training_examples_sender", "sender_id"),
)
erasures = sa.Table(
    "staff_erasures",
    metadata,
    # The audit record of an erasure on request: who, when and how much; never whose.
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("erased_at", sa.Float, nullable=False),
    sa.Column("erased_by", sa.String(255), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),  # "conversation" | "email"
    sa.Column("conversations", sa.Integer, nullable=False),
    sa.Column("events", sa.Integer, nullable=False),
    sa.Column("followups", sa.Integer, nullable=False),
)

# Derived from ``events`` alone: a schema upgrade may drop and rebuild them without losing anything.
SUMMARY_TABLES = (conversations, messages, answers)
# Rows keyed by conversation, removed with it by the retention purge and by an erasure.
PER_CONVERSATION_TABLES = (messages, answers, message_reviews, conversation_reviews, training_examples, conversations)


class SchemaError(RuntimeError):
    """The console's tables were written by a newer version of the console."""


def normalise_url(database_url: str) -> URL:
    """Accept the URL forms operators paste (``postgres://`` from Heroku-style configs)."""
    raw = database_url.strip()
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    return make_url(raw)


def upsert(
    connection: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE SET update`` (or ``DO NOTHING``) for many rows.

    Both dialects spell it the same; SQLAlchemy has one construct per dialect, picked here.
    """
    if not rows:
        return
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={name: statement.excluded[name] for name in update}
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    connection.execute(statement, list(rows))


def add_missing_column(connection: Connection, column: sa.Column) -> None:
    """``ALTER TABLE ... ADD COLUMN`` unless the column is there: an upgrade that keeps staff's rows."""
    table = column.table
    if column.name not in {c["name"] for c in sa.inspect(connection).get_columns(table.name)}:
        ddl = sa.schema.CreateColumn(column).compile(dialect=connection.dialect)
        connection.execute(sa.DDL(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))


def floor_int(expression: Any, dialect: str) -> Any:
    """``floor(expression)`` as an integer (timestamps are positive, so SQLite's truncating cast is floor;
    PostgreSQL rounds a float cast, so it floors first)."""
    if dialect == "sqlite":
        return sa.cast(expression, sa.Integer)
    return sa.cast(sa.func.floor(expression), sa.BigInteger)


def _event_columns(data: Any) -> List[Any]:
    """An event row's plain columns plus ``data`` (``None`` where the caller does not need the JSON,
    and for a row too large to parse, whose length is then in ``data_length``)."""
    length = sa.func.length(events.c.data)
    small = length <= MAX_EVENT_DATA
    return [
        events.c.id,
        events.c.sender_id,
        events.c.type_name,
        events.c.timestamp,
        events.c.intent_name,
        events.c.action_name,
        sa.case((sa.and_(small, data), events.c.data), else_=sa.null()).label("data"),
        length.label("data_length"),
    ]


# Which rows' JSON the summariser needs: visitor and bot messages and the slots it tracks.
SYNC_SLOTS = ["program", "track", TOPIC_SLOT, HANDOFF_SLOT, FOLLOWUP_RECORD_SLOT]
_SYNC_DATA = sa.or_(
    events.c.type_name.in_(["user", "bot"]),
    sa.and_(events.c.type_name == "slot", events.c.action_name.in_(SYNC_SLOTS)),
)
_MESSAGE_TYPES = ("user", "bot", "action", "session_started", "active_loop", "restart", "reset_slots")


class ConsoleDatabase:
    """One database (SQLite file or PostgreSQL server): Rasa's events and the console's tables."""

    def __init__(self, database_url: str) -> None:
        self.url = normalise_url(database_url)
        self.dialect = self.url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"The staff console supports SQLite and PostgreSQL, not {self.dialect!r}.")
        self.engine: Engine = self._create_engine()
        self._has_events = False

    def _create_engine(self) -> Engine:
        if self.dialect == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            # Rasa writes to the same file; wait for its short write transactions instead of failing.
            # A pool of open connections (SQLAlchemy 1.4 reopens the file for every use by default,
            # about 1 ms each; 2.0 pools like this too).
            return sa.create_engine(
                self.url,
                connect_args={"timeout": 30, "check_same_thread": False},
                poolclass=sa.pool.QueuePool,
                pool_size=5,
                max_overflow=10,
            )
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
        return sa.create_engine(self.url, **kwargs)

    # -- connections ------------------------------------------------------------------------
    @contextmanager
    def session_scope(self) -> Iterator[Connection]:
        """A connection inside a transaction, committed when the block ends without error."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading."""
        with self.engine.connect() as connection:
            yield connection

    def rows(self, query: Any) -> List[Dict[str, Any]]:
        """The rows of a read query, as dicts."""
        with self.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def dispose(self) -> None:
        self.engine.dispose()

    def describe(self) -> str:
        """The URL with the password hidden, for log lines and the CLI."""
        return self.url.render_as_string(hide_password=True)

    # -- schema -----------------------------------------------------------------------------
    def create_schema(self) -> None:
        """Create the console's tables, read their version and upgrade older ones.

        Two processes starting together may race on ``CREATE TABLE``, so this retries once.
        """
        for attempt in (1, 2):
            try:
                with self.session_scope() as connection:
                    metadata.create_all(connection)
                    upsert(connection, sync_state, [{"id": 1, "schema_version": SCHEMA_VERSION}], ["id"])
                    stored = connection.execute(sa.select(sync_state.c.schema_version)).scalar_one()
                    if stored > SCHEMA_VERSION:
                        raise SchemaError(
                            f"The console's tables are at schema version {stored}, newer than this console"
                            f" ({SCHEMA_VERSION}): update the console before starting it."
                        )
                    if stored < SCHEMA_VERSION:
                        self._migrate(connection, stored)
                break
            except DBAPIError:
                if attempt == 2:
                    raise
                logger.info("Staff tables were being created by another process; retrying.")
        if self.dialect == "postgresql":
            self._add_trigram_index()

    def _migrate(self, connection: Connection, stored: int) -> None:
        """Bring tables from version ``stored`` to :data:`SCHEMA_VERSION`.

        1 -> 2: summaries gain a ``ref`` column and sanitised, card-masked text; 2 -> 3: answers,
        feedback and hand-off counts; 3 -> 4: live hand-offs, follow-ups, messages to a person (the
        follow-up table is new, created by ``create_all``; it holds staff's work and is never dropped);
        4 -> 5: hand-offs gain ``since_event`` (added in place: staff's work is kept), and the summary
        counts are named for what they count (``contact_suggestions``, ``live_chats``); 5 -> 6: logins
        gain a ``role`` (existing ones become editors, as they could do everything before), and assigned
        questions are copied into ``staff_training_examples``; 6 -> 7: visitor messages gain ``clicked``
        and ``out_of_scope``, and the widget's greeting is no longer a visitor message; 7 -> 8: visitor
        messages gain ``topic``, the topic their answer was about, which the conversation's topics
        follow, and ``answered_unsure`` (a message the NLU could not place, answered all the same); 8 -> 9:
        visitor messages gain ``likely_topic``, what a missed one was likely about.
        Summaries are derived from ``events`` alone, so below :data:`SUMMARIES_VERSION` they are
        dropped, recreated and read again from the first event, once whatever the version they come
        from (staff's reviews are keyed by event ids and kept).
        """
        logger.info("Upgrading the console's tables from version %s to %s.", stored, SCHEMA_VERSION)
        add_missing_column(connection, handoffs.c.since_event)  # 4 -> 5: where a hand-off's chat starts
        add_missing_column(connection, users.c.role)  # 5 -> 6
        if stored < 6:  # 5 -> 6: the questions staff assigned become training examples of their own
            r = message_reviews.c
            assigned = (
                sa.select(
                    r.event_id,
                    r.sender_id,
                    messages.c.text,
                    r.intent,
                    sa.func.coalesce(r.updated_by, "staff"),
                    sa.func.coalesce(r.updated_at, 0.0),
                )
                .select_from(message_reviews.join(messages, messages.c.event_id == r.event_id))
                .where(r.status == "assigned", r.intent.is_not(None))
            )
            columns = ["event_id", "sender_id", "text", "intent", "added_by", "added_at"]
            connection.execute(sa.insert(training_examples).from_select(columns, assigned))
        if stored < SUMMARIES_VERSION:
            for table in SUMMARY_TABLES:
                table.drop(connection, checkfirst=True)
            metadata.create_all(connection, tables=list(SUMMARY_TABLES))
            connection.execute(sa.update(sync_state).values(watermark=0, pending="[]"))
        connection.execute(sa.update(sync_state).values(schema_version=SCHEMA_VERSION))

    def _add_trigram_index(self) -> None:
        """Speed-up for text search that the console can live without (needs the pg_trgm extension)."""
        try:
            with self.engine.connect() as connection:
                autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                # Raw SQL: SQLAlchemy has no construct for extensions. pg_trgm ships with PostgreSQL
                # and is trusted (the database owner may add it).
                autocommit.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
                messages_trigram_index.create(autocommit, checkfirst=True)
        except DBAPIError as error:
            logger.info("Skipped the optional trigram index: %s", error.orig)

    def index_events(self) -> bool:
        """Add ``staff_events_time`` to Rasa's table once it exists.

        When the console's database user may not create indexes on Rasa's table, the console still
        works (date-range exports scan more), so this logs and carries on.
        """
        if not self.has_events_table():
            return False
        try:
            with self.engine.connect() as connection:
                # CONCURRENTLY cannot run inside a transaction.
                events_time_index.create(connection.execution_options(isolation_level="AUTOCOMMIT"), checkfirst=True)
            return True
        except DBAPIError as error:
            logger.warning("Could not add index staff_events_time on events: %s", error)
            return False

    # -- Rasa's events table ------------------------------------------------------------------
    def last_event_id(self, connection: Connection, sender_id: str) -> int:
        """The id of the conversation's latest stored event (0 before Rasa stored any)."""
        if not self.has_events_table():
            return 0
        query = sa.select(sa.func.max(events.c.id)).where(events.c.sender_id == sender_id)
        return int(connection.execute(query).scalar() or 0)

    def has_events_table(self) -> bool:
        """Whether Rasa has created its table yet (a fresh install may start the console first)."""
        if not self._has_events:
            self._has_events = sa.inspect(self.engine).has_table(events.name)
        return self._has_events

    def max_event_id(self, connection: Connection) -> int:
        return int(connection.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0)

    def events_after(self, connection: Connection, watermark: int, limit: int) -> List[Mapping[str, Any]]:
        """The next ``limit`` events by id, with JSON only where the summariser reads it."""
        query = sa.select(*_event_columns(_SYNC_DATA)).where(events.c.id > watermark).order_by(events.c.id).limit(limit)
        return [row._mapping for row in connection.execute(query)]

    def events_by_ids(self, connection: Connection, ids: Sequence[int]) -> List[Mapping[str, Any]]:
        if not ids:
            return []
        query = sa.select(*_event_columns(_SYNC_DATA)).where(events.c.id.in_(list(ids))).order_by(events.c.id)
        return [row._mapping for row in connection.execute(query)]

    def conversation_events(self, sender_id: str, limit: int = TRANSCRIPT_LIMIT) -> List[Dict[str, Any]]:
        """The events of one conversation in the order Rasa wrote them (``id``, as Rasa reads them)."""
        if not self.has_events_table():
            return []
        query = (
            sa.select(*_event_columns(sa.true()))
            .where(events.c.sender_id == sender_id)
            .order_by(events.c.id)
            .limit(limit)
        )
        return self.rows(query)

    def stream_messages(self, since: float, until: float, batch_size: int = 2000) -> Iterator[Mapping[str, Any]]:
        """Visitor/bot messages and the actions between them in a time range, as a stream.

        Ordered by time, then id, which ``staff_events_time`` serves without sorting.
        """
        if not self.has_events_table():
            return
        # The hand-off slot and the form's start and end too: messages to a person are never missed;
        # and the topic slot, which says what the question its answer replied to was about.
        slots = sa.and_(events.c.type_name == "slot", events.c.action_name.in_([HANDOFF_SLOT, TOPIC_SLOT]))
        query = (
            sa.select(*_event_columns(sa.or_(events.c.type_name.in_(["user", "bot"]), slots)))
            .where(
                events.c.timestamp >= since,
                events.c.timestamp < until,
                sa.or_(events.c.type_name.in_(_MESSAGE_TYPES), slots),
            )
            .order_by(events.c.timestamp, events.c.id)
        )
        yield from self.stream(query, batch_size)

    def stream(self, query: Any, batch_size: int = 2000) -> Iterator[Mapping[str, Any]]:
        """Run ``query`` with a server-side cursor (PostgreSQL) and yield its rows one batch at a time,
        so an export of any size holds only one batch in memory."""
        with self.engine.connect() as connection:
            result = connection.execution_options(stream_results=True, max_row_buffer=batch_size).execute(query)
            for batch in result.partitions(batch_size):
                yield from (row._mapping for row in batch)


def in_chunks(items: Sequence[Any], size: int = 500) -> Iterable[List[Any]]:
    """``items`` in lists of at most ``size`` (bounds the parameters of one ``IN (...)``)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
