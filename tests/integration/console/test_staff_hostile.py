"""What a hostile or clumsy visitor may have stored cannot break the console, and staff sessions end.

Poisoned rows are written straight into Rasa's ``events`` table (as rows stored before the chat
edge limited input would be), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any, Dict, List, Tuple

import pytest
import sqlalchemy as sa

from console import cli
from console.data.database import (
    SCHEMA_VERSION,
    ConsoleDatabase,
    SchemaError,
    message_reviews,
    messages,
    sessions,
    sync_state,
)
from console.data.dates import local_day
from console.data.privacy import CARD_MASK, CUT_NOTE, MAX_TEXT, clean_text, conversation_ref, mask_text
from tests.support.console_client import STAFF_PASSWORD, csrf_token, log_in
from tests.support.console_events import (
    DAY,
    NOW,
    answer,
    insert_event,
    save,
    start,
    suggestions,
    tracker_store,
    user,
    user_data,
)

NUL_TEXT = "a\u0000b what is the \x07deadline\u2028?"
CONSOLE_PAGES = [
    "/staff/",
    "/staff/?q=deadline",
    "/staff/?program=msit",
    "/staff/missed",
    "/staff/missed?status=all",
    "/staff/trends?days=7",
    "/staff/export",
    "/staff/api/conversations",
    "/staff/api/stats",
]


def exports(app, client):
    """Every export the console offers, as text: messages and conversations, CSV and JSON Lines."""
    since = local_day(NOW - 30 * DAY, app.extensions["staff_console"].tz).isoformat()
    bodies = {}
    for kind in ("messages", "conversations"):
        for fmt in ("csv", "jsonl"):
            response = client.get(f"/staff/export/download?kind={kind}&format={fmt}&since={since}")
            assert response.status_code == 200, (kind, fmt)
            bodies[(kind, fmt)] = response.get_data(as_text=True)
    return bodies


def check_everything_answers(app, client, sender_id):
    pages = CONSOLE_PAGES + [f"/staff/conversations/{sender_id}", f"/staff/api/conversations/{sender_id}"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert "\x00" not in response.get_data(as_text=True), path
    bodies = exports(app, client)
    for (kind, fmt), body in bodies.items():
        assert "\x00" not in body, (kind, fmt)
        if fmt == "csv":
            list(csv.DictReader(io.StringIO(body)))
        else:
            [json.loads(line) for line in body.splitlines()]
    return bodies


def test_a_nul_message_breaks_no_page_export_or_catch_up(app, client, settings):
    staff_console = app.extensions["staff_console"]
    with staff_console.store.session_scope() as connection:
        entities = [{"entity": "program", "value": "msit\u0000"}, {"entity": "track\u0000", "value": "x\u0000y"}]
        insert_event(connection, "visitor-nul", user_data(NUL_TEXT, "ask_deadlines\u0000", 0.2, entities))
    bodies = check_everything_answers(app, client, "visitor-nul")
    # The message is there, cleaned, in the transcript, the summaries and the exports.
    assert "ab what is the deadline?" in client.get("/staff/conversations/visitor-nul").get_data(as_text=True)
    assert "ab what is the deadline?" in bodies[("messages", "csv")]
    assert "ab what is the deadline?" in bodies[("conversations", "jsonl")]
    with staff_console.store.connect() as connection:
        stored = connection.execute(sa.select(messages.c.text).where(messages.c.sender_id == "visitor-nul")).scalar()
    assert stored == "ab what is the deadline?"
    # A NUL typed into the search box is no error either.
    assert client.get("/staff/", query_string={"q": "a\u0000b"}).status_code == 200
    # The CLI (catch-up, list, show, export) gets through too.
    out = io.StringIO()
    assert cli.main(["--database-url", settings.database_url, "show", "visitor-nul"], out=out) == 0
    assert "ab what is the deadline?" in out.getvalue()
    out = io.StringIO()
    since = local_day(NOW - 30 * DAY, staff_console.tz).isoformat()
    assert (
        cli.main(["--database-url", settings.database_url, "export", "--format", "csv", "--since", since], out=out) == 0
    )
    assert "\x00" not in out.getvalue() and "ab what is the deadline?" in out.getvalue()


def test_a_nul_in_any_parameter_is_refused_cleanly(app, client):
    """Staff input reaches PostgreSQL only sanitised: a NUL anywhere is a 404/302, never a 500."""
    assert client.get("/staff/conversations/a%00b").status_code == 404
    assert client.get("/staff/api/conversations/a%00b").status_code == 404
    assert client.get("/staff/?topic=ask%00&program=ms%00it&before=1.0:%00").status_code == 200
    token = csrf_token(client, "/staff/")
    review = {"csrf_token": token, "sender_id": "visitor-missed\x00", "status": "reviewed"}
    assert client.post("/staff/review/conversation", data=review).status_code == 404
    group = {"csrf_token": token, "key": ["whats the tuition\x00"], "action": "dismissed"}
    assert client.post("/staff/review/group", data=group).status_code == 302
    assigned = {"csrf_token": token, "event_id": "1", "action": "assigned", "intent": "ask_cost\n"}
    assert client.post("/staff/review/message", data=assigned).status_code in (302, 404)
    anonymous = app.test_client()
    # The name is sanitised like any text before it is looked up: a NUL is dropped, not an error.
    assert log_in(anonymous, user="admissions\x00").status_code == 302
    assert log_in(app.test_client(), user="nobody\x00", password="x").status_code == 401
    with app.extensions["staff_console"].store.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(message_reviews)).scalar() == 0


def test_huge_stored_messages_are_cut_not_fatal(app, client):
    """A 1 MB message is shown cut to a bounded length; a 10 MB row is named, not parsed."""
    staff_console = app.extensions["staff_console"]
    megabyte = "my email is " + "a" * 500_000 + " 4122682000 " + "9" * 500_000
    with staff_console.store.session_scope() as connection:
        insert_event(connection, "visitor-huge", user_data(megabyte, "nlu_fallback", 0.1))
        insert_event(connection, "visitor-huge", user_data("x" * 10_000_000, "nlu_fallback", 0.1), at=NOW + 1)
    check_everything_answers(app, client, "visitor-huge")
    page = client.get("/staff/conversations/visitor-huge").get_data(as_text=True)
    assert CUT_NOTE.strip() in page and "message too large to show" in page
    assert len(page) < 200_000
    with staff_console.store.connect() as connection:
        lengths = [
            len(text)
            for text in connection.execute(sa.select(messages.c.text).where(messages.c.sender_id == "visitor-huge"))
            .scalars()
            .all()
        ]
    assert lengths and max(lengths) <= MAX_TEXT + len(CUT_NOTE)


def test_sanitising_and_masking_rules():
    assert clean_text("a\x00b\r\nc\x1b[31md\ud800") == "ab\nc[31md"
    assert clean_text("x" * 10_000).endswith(CUT_NOTE) and len(clean_text("x" * 10_000)) == MAX_TEXT + len(CUT_NOTE)
    # Card numbers with the Luhn check digit are masked, with or without spaces or dashes...
    for card in ("4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "378282246310005"):
        assert mask_text(f"my card is {card}, thanks") == f"my card is {CARD_MASK}, thanks", card
    # ...numbers that fail it are not: order numbers and ids stay readable.
    for number in ("4111 1111 1111 1112", "1234567890123", "1234-5678-9012-3456"):
        assert CARD_MASK not in mask_text(f"reference {number}"), number
    assert mask_text("write to a.b-c@heinz.cmu.edu!") == "write to [email hidden]!"
    assert mask_text("call +1 (412) 268-2000 or 4122682000") == "call [phone hidden] or [phone hidden]"
    kept = "Fall 2026 deadline 2026-01-15, TOEFL 100, GPA 3.5, $60,000, 12/15/2025"
    assert mask_text(kept) == kept
    # Long runs that the old patterns re-scanned from every position are now one bounded pass.
    assert len(mask_text("a" * 1_000_000)) <= MAX_TEXT + len(CUT_NOTE)
    assert mask_text("1" * 1_000_000).endswith(CUT_NOTE)


def test_private_conversation_ids_are_masked_everywhere(app, client, settings, db_url):
    store = tracker_store(db_url)
    email_id, phone_id = "jane.doe@example.com", "+1 412 268 2000"
    for sender_id in (email_id, phone_id):
        save(
            store,
            sender_id,
            start(NOW - 100)
            + [user("my card is 4111 1111 1111 1111", "ask_cost", 0.2, NOW - 90)]
            + answer("Ok", NOW - 80),
        )
    store.engine.dispose()
    ref = conversation_ref(email_id)
    listing = client.get("/staff/").get_data(as_text=True)
    assert f"/staff/conversations/{ref}" in listing and f"/staff/conversations/{conversation_ref(phone_id)}" in listing
    transcript = client.get(f"/staff/conversations/{ref}")
    assert transcript.status_code == 200
    assert f"[email hidden] {ref}" in transcript.get_data(as_text=True)
    assert "[card hidden]" in transcript.get_data(as_text=True)
    phone_page = client.get(f"/staff/conversations/{conversation_ref(phone_id)}").get_data(as_text=True)
    assert "[phone hidden]" in phone_page
    api = client.get("/staff/api/conversations").get_data(as_text=True) + client.get(
        f"/staff/api/conversations/{ref}"
    ).get_data(as_text=True)
    texts = [listing, transcript.get_data(as_text=True), phone_page, api, *exports(app, client).values()]
    out = io.StringIO()
    cli.main(["--database-url", settings.database_url, "list"], out=out)
    cli.main(["--database-url", settings.database_url, "show", ref], out=out)
    texts.append(out.getvalue())
    assert "[card hidden]" in out.getvalue()
    for text in texts:
        for secret in ("jane.doe", "example.com", "412 268 2000", "4111 1111 1111 1111"):
            assert secret not in text, secret


def test_logout_ends_the_session_on_the_server(app):
    client = app.test_client()
    assert log_in(client).status_code == 302
    stolen = client.get_cookie("session").value
    assert client.get("/staff/").status_code == 200
    assert client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    assert replay.get("/staff/api/conversations").status_code == 401


def test_an_idle_session_expires(app, monkeypatch):
    client = app.test_client()
    assert log_in(client).status_code == 302
    staff_console = app.extensions["staff_console"]
    assert client.get("/staff/").status_code == 200
    idle = staff_console.config.idle_minutes * 60 + 5
    with staff_console.store.session_scope() as connection:
        connection.execute(sa.update(sessions).values(last_seen=time.time() - idle))
    assert client.get("/staff/").status_code == 302
    with staff_console.store.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(sessions)).scalar() == 0


@pytest.mark.parametrize("target", ["/staff/\r\nSet-Cookie: owned=1", "/staff/%0d%0a", "/staff/\nx", "/staff/\x7f"])
def test_next_with_a_line_break_is_ignored(app, target):
    client = app.test_client()
    response = client.post(
        "/staff/login",
        data={"username": "admissions", "password": STAFF_PASSWORD, "csrf_token": csrf_token(client), "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] in ("/staff/", target) and "\n" not in response.headers["Location"]
    assert "owned" not in response.headers.get("Set-Cookie", "")
    page = client.get("/staff/login", query_string={"next": target})
    assert page.status_code == 302 and "\n" not in page.headers["Location"]


def test_schema_version_is_read_and_old_summaries_rebuilt(console, db_url):
    with console.store.session_scope() as connection:
        connection.execute(sa.update(sync_state).values(schema_version=1))
        connection.execute(sa.update(messages).values(text="stale text from version 1"))
    upgraded = ConsoleDatabase(db_url)
    try:
        upgraded.create_schema()
        with upgraded.connect() as connection:
            assert connection.execute(sa.select(sync_state.c.schema_version)).scalar() == SCHEMA_VERSION
            assert connection.execute(sa.select(sa.func.count()).select_from(messages)).scalar() == 0
        console.refresh(force=True)
        with upgraded.connect() as connection:
            texts = connection.execute(sa.select(messages.c.text)).scalars().all()
        assert texts and "stale text from version 1" not in texts
        with upgraded.session_scope() as connection:
            connection.execute(sa.update(sync_state).values(schema_version=SCHEMA_VERSION + 1))
        with pytest.raises(SchemaError, match="newer than this console"):
            upgraded.create_schema()
    finally:
        upgraded.dispose()


def test_a_version_4_console_keeps_its_handoffs_and_gains_event_ids(console, db_url):
    """Version 4 told one hand-off's messages from an earlier one's by the clock; 5 adds ``since_event``
    to the hand-offs in place (staff's work is kept) and renames the summary counts."""
    from console.data.database import conversations, handoffs

    with console.store.session_scope() as connection:
        connection.execute(
            sa.insert(handoffs).values(
                sender_id="old-visitor", status="closed", key_hash="k" * 64, requested_at=1.0, since_event=None
            )
        )
        connection.execute(sa.update(sync_state).values(schema_version=4))
    with console.store.engine.begin() as connection:  # the table as version 4 declared it
        conversations.drop(connection)
        connection.execute(sa.DDL("ALTER TABLE staff_handoffs DROP COLUMN since_event"))
    upgraded = ConsoleDatabase(db_url)
    try:
        upgraded.create_schema()
        with upgraded.connect() as connection:
            assert connection.execute(sa.select(sync_state.c.schema_version)).scalar() == SCHEMA_VERSION
            kept = connection.execute(sa.select(handoffs.c.sender_id, handoffs.c.since_event)).all()
            assert kept == [("old-visitor", None)]
            columns = {column["name"] for column in sa.inspect(connection).get_columns("staff_conversations")}
        assert {"contact_suggestions", "live_chats"} <= columns and not {"handoffs", "handed_off"} & columns
        console.refresh(force=True)
    finally:
        upgraded.dispose()


def test_a_version_5_console_keeps_its_logins_as_editors_and_its_assigned_questions(console, db_url):
    """6 adds a role to every login (existing ones could do everything, so they become editors) and
    copies the questions staff assigned into the training examples, before 7 rebuilds the summaries."""
    from console.data.database import message_reviews, messages, training_examples, users

    event_id = console.store.rows(sa.select(messages.c.event_id, messages.c.sender_id).limit(1))[0]
    with console.store.session_scope() as connection:
        connection.execute(sa.insert(users).values(username="old-hand", password_hash="x", created_at=1.0))
        connection.execute(
            sa.insert(message_reviews).values(
                event_id=event_id["event_id"],
                sender_id=event_id["sender_id"],
                status="assigned",
                intent="ask_cost",
                updated_by="old-hand",
                updated_at=2.0,
            )
        )
        connection.execute(sa.delete(training_examples))
        connection.execute(sa.update(sync_state).values(schema_version=5))
        watermark = connection.execute(sa.select(sync_state.c.watermark)).scalar()
    with console.store.engine.begin() as connection:
        connection.execute(sa.DDL("ALTER TABLE staff_users DROP COLUMN role"))
    upgraded = ConsoleDatabase(db_url)
    try:
        upgraded.create_schema()
        with upgraded.connect() as connection:
            assert connection.execute(sa.select(sync_state.c.schema_version)).scalar() == SCHEMA_VERSION
            assert watermark and connection.execute(sa.select(sync_state.c.watermark)).scalar() == 0, "rebuilt for 7"
            assert (
                connection.execute(sa.select(users.c.role).where(users.c.username == "old-hand")).scalar() == "editor"
            )
            copied = connection.execute(sa.select(training_examples.c.intent, training_examples.c.added_by)).all()
        assert copied == [("ask_cost", "old-hand")]
    finally:
        upgraded.dispose()


# The columns of ``staff_messages`` by the schema version that added them.
ADDED_IN = {7: ("clicked", "out_of_scope"), 8: ("topic", "answered_unsure"), 9: ("likely_topic",)}


def stored_by_version(console, version: int, status: str) -> Dict[str, Any]:
    """The console's tables as ``version`` left them, with one question reviewed (``status``, by jane):
    the stored version, and ``staff_messages`` without the columns later versions added. The question."""
    question = console.store.rows(sa.select(messages.c.event_id, messages.c.sender_id).limit(1))[0]
    with console.store.session_scope() as connection:
        connection.execute(sa.insert(message_reviews).values(**question, status=status, updated_by="jane"))
        connection.execute(sa.update(sync_state).values(schema_version=version))
    later = {name for added, names in ADDED_IN.items() if added > version for name in names}
    with console.store.engine.begin() as connection:
        messages.drop(connection)
        columns = [sa.Column(c.name, c.type, primary_key=c.primary_key) for c in messages.c if c.name not in later]
        sa.Table(messages.name, sa.MetaData(), *columns).create(connection)
    return dict(question)


def upgraded_to_read_again(db_url, version: int) -> ConsoleDatabase:
    """The console started on the tables of ``version``: at the current version, with the columns added
    since, and its summaries to be read again from the first event."""
    upgraded = ConsoleDatabase(db_url)
    upgraded.create_schema()
    with upgraded.connect() as connection:
        assert connection.execute(sa.select(sync_state.c.schema_version)).scalar() == SCHEMA_VERSION
        assert connection.execute(sa.select(sync_state.c.watermark)).scalar() == 0
        columns = {column["name"] for column in sa.inspect(connection).get_columns(messages.name)}
    assert {name for added, names in ADDED_IN.items() if added > version for name in names} <= columns
    return upgraded


def assert_read_again_only_once(upgraded: ConsoleDatabase) -> None:
    upgraded.create_schema()  # a second start reads nothing again
    with upgraded.connect() as connection:
        assert connection.execute(sa.select(sync_state.c.watermark)).scalar() > 0


def kept_reviews(upgraded: ConsoleDatabase) -> List[Tuple[int, str]]:
    with upgraded.connect() as connection:
        rows = connection.execute(sa.select(message_reviews.c.event_id, message_reviews.c.status)).all()
    return [(int(event_id), str(status)) for event_id, status in rows]


def test_a_version_6_console_reads_its_summaries_again_and_keeps_staffs_work(console, db_url):
    """7 marks button clicks and questions replied to as out of scope, and no longer counts the widget's
    greeting as a visitor message: summaries of version 6 are read again; staff's reviews stay."""
    from console.data.database import training_examples

    with console.store.connect() as connection:
        examples = connection.execute(sa.select(sa.func.count()).select_from(training_examples)).scalar()
    question = stored_by_version(console, 6, "dismissed")
    upgraded = upgraded_to_read_again(db_url, 6)
    try:
        console.refresh(force=True)
        with upgraded.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(messages)).scalar() > 0
            assert connection.execute(sa.select(sa.func.count()).select_from(training_examples)).scalar() == examples
        assert kept_reviews(upgraded) == [(question["event_id"], "dismissed")]
        assert_read_again_only_once(upgraded)
    finally:
        upgraded.dispose()


def test_a_version_7_console_reads_its_summaries_again_and_keeps_staffs_work(console, db_url):
    """8 gives each question the topic its answer was about and marks those answered though the NLU could
    not place them: summaries of version 7 are read again once; staff's reviews stay."""
    question = stored_by_version(console, 7, "reviewed")
    upgraded = upgraded_to_read_again(db_url, 7)
    try:
        console.refresh(force=True)
        with upgraded.connect() as connection:
            topics = connection.execute(sa.select(messages.c.topic).where(messages.c.intent == "ask_cost")).scalars()
            assert set(topics) == {"cost"}
        assert kept_reviews(upgraded) == [(question["event_id"], "reviewed")]
        assert_read_again_only_once(upgraded)
    finally:
        upgraded.dispose()


def test_a_version_8_console_reads_its_summaries_again_and_keeps_staffs_work(console, db_url):
    """9 gives each question its likely topic (the Missed page's Topic filter): summaries of version 8
    are read again once, so questions asked before the upgrade are found by topic too; staff's reviews stay."""
    store = tracker_store(db_url)
    t = NOW - DAY + 7200
    save(
        store,
        "visitor-unsure",
        start(t) + [user("when must it be in", "nlu_fallback", 0.3, t + 1)] + suggestions(t + 2, ["deadlines", "cost"]),
    )
    store.engine.dispose()
    console.refresh(force=True)
    question = stored_by_version(console, 8, "dismissed")
    upgraded = upgraded_to_read_again(db_url, 8)
    try:
        console.refresh(force=True)
        with upgraded.connect() as connection:
            likely = connection.execute(sa.select(messages.c.text, messages.c.likely_topic)).all()
        assert ("when must it be in", "deadlines") in likely
        assert kept_reviews(upgraded) == [(question["event_id"], "dismissed")]
        assert_read_again_only_once(upgraded)
    finally:
        upgraded.dispose()
