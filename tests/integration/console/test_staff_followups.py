"""Follow-up requests, live hand-offs and containment in the console, on SQLite and PostgreSQL.

The conversations are written by Rasa's SQLTrackerStore (tests/support/console_events.py) as the assistant
writes them (docs/handoff.md): the follow-up form runs as an active loop and ends with one
``followup_request`` slot event and the ``utter_followup_submitted`` reply; an accepted live hand-off
is the ``utter_handoff_queued`` reply and the ``handoff`` slot, and staff messages are bot events
whose metadata names the staff member.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from rasa.shared.core.events import ActiveLoop, BotUttered, SlotSet

from console.data.database import events, followups
from console.data.dates import day_range, local_day, today
from console.data.privacy import conversation_ref
from console.data.retention import purge
from console.exports.formats import export_chunks
from console.followups.inbox import CRM_FIELDS
from console.missed.queries import MissedFilter
from tests.support.console_client import csrf_token
from tests.support.console_events import (
    DAY,
    NOW,
    action,
    insert_event,
    save,
    seed,
    start,
    tracker_store,
    typed_answer,
    user,
)

EMAIL = "mary.smith@example.com"
QUESTION = '=HYPERLINK("https://evil.example/") <script>alert(1)</script> Can I defer my start to spring?'
FORM_NAME_ANSWER = "Mary Ann Smith"
TO_STAFF = "hello is anyone there? my gpa is 2.9"
AFTER_HAND_BACK = "zzqx blorp deadline???"


def request_value(at: float, **changes):
    value = {
        "name": FORM_NAME_ANSWER,
        "email": EMAIL,
        "program": "msit",
        "question": QUESTION,
        "consent": True,
        "submitted_at": at,
        "page_url": "https://www.heinz.cmu.edu/programs/msit",
    }
    value.update(changes)
    return value


def followup_form(at: float, value) -> list:
    """The visitor fills the follow-up form: every answer is typed while the form is active."""
    return (
        [user("/request_followup", "request_followup", 1.0, at)]
        + [action("followup_form", at + 0.5), ActiveLoop("followup_form", timestamp=at + 0.6)]
        + typed_answer("What is your name?", at + 0.7, "utter_ask_followup_name", name="followup_form")
        + [user(FORM_NAME_ANSWER, "nlu_fallback", 0.31, at + 5)]
        + [user(f"it's {EMAIL}", "nlu_fallback", 0.22, at + 10)]
        + [user('/inform{"program":"msit"}', "inform", 1.0, at + 15, [{"entity": "program", "value": "msit"}])]
        + [user(QUESTION, "nlu_fallback", 0.4, at + 20)]
        + [user("yes", "affirm", 0.99, at + 25)]
        + [ActiveLoop(None, timestamp=at + 25.5), action("action_submit_followup", at + 26)]
        + [SlotSet("followup_request", value, timestamp=at + 26.1)]
        + [
            BotUttered(
                "Thanks, we will e-mail you.", {}, {"utter_action": "utter_followup_submitted"}, timestamp=at + 26.2
            )
        ]
    )


def staff_says(text: str, kind: str, at: float) -> BotUttered:
    return BotUttered(text, {}, {"handoff": kind, "staff": "Ana"}, timestamp=at)


@pytest.fixture
def seeded(db_url) -> str:
    """The shared seven conversations, plus a follow-up request, a live hand-off, old requests and
    malformed ones."""
    seed(db_url)
    store = tracker_store(db_url)
    t = NOW - 1 * DAY + 7200
    save(store, "visitor-followup", start(t) + followup_form(t + 1, request_value(t + 27)))
    t = NOW - 2 * DAY + 7200
    save(
        store,
        "visitor-live",
        start(t)
        + [user("can I talk to a person", "request_human", 0.95, t + 1)]
        + typed_answer("Chat with an admissions officer?", t + 2, "utter_offer_human", name="action_offer_human")
        + [user("/handoff_accept", "handoff_accept", 1.0, t + 5), action("action_start_handoff", t + 6)]
        + [BotUttered("You're in the queue.", {}, {"utter_action": "utter_handoff_queued"}, timestamp=t + 6.1)]
        + [SlotSet("handoff", "queued", timestamp=t + 6.2)]
        + [user(TO_STAFF, "nlu_fallback", 0.2, t + 10)]
        + [staff_says("Ana joined the chat.", "joined", t + 20), SlotSet("handoff", "live", timestamp=t + 20.1)]
        + [staff_says("Yes, you can still apply with a 2.9.", "message", t + 30)]
        + [user("thanks, what about the essay length", "ask_requirements", 0.35, t + 40)]
        + [staff_says("Handing you back to the assistant.", "handed_back", t + 50)]
        + [SlotSet("handoff", None, timestamp=t + 50.1)]
        + [user(AFTER_HAND_BACK, "nlu_fallback", 0.3, t + 60)]
        + typed_answer("Sorry, I'm not sure I understood that.", t + 61, "utter_fallback"),
    )
    # A request from long ago in a conversation long over, and one in a conversation still going.
    t = NOW - 400 * DAY
    save(store, "visitor-old-followup", start(t) + followup_form(t + 1, request_value(t + 27, name="Old Timer")))
    save(store, "visitor-back-again", start(t) + followup_form(t + 1, request_value(t + 27, name="Back Again")))
    t = NOW - 3 * DAY
    save(store, "visitor-back-again", start(t) + [user("hi again", "greet", 0.99, t + 1)])
    # Malformed values: none of them may break the catch-up, only the last is a request.
    t = NOW - 4 * DAY
    bad = [
        "just a string",
        ["a", "list"],
        request_value(t, email="not-an-email"),
        request_value(t, consent=False),
        request_value(t, consent="yes"),
        request_value(t, name="   "),
        request_value(t, question=None),
        request_value(t, name={"nested": "dict"}),
        request_value(t, submitted_at="yesterday", page_url="javascript:alert(1)", name="Nul\x00 " + "x" * 5000),
    ]
    save(
        store,
        "visitor-bad-followups",
        start(t) + [SlotSet("followup_request", value, timestamp=t + 1 + n) for n, value in enumerate(bad)],
    )
    store.engine.dispose()
    from console.data.database import ConsoleDatabase

    raw = ConsoleDatabase(db_url)
    with raw.session_scope() as connection:
        # Damaged rows as Rasa would have filed them (the slot's name in action_name).
        for offset, data in (
            (30, "{not json"),
            (31, {"event": "slot", "name": "followup_request", "value": {"name": 12}}),
        ):
            event_id = insert_event(connection, "visitor-bad-followups", data, at=t + offset, type_name="slot")
            connection.execute(sa.update(events).where(events.c.id == event_id).values(action_name="followup_request"))
    raw.dispose()
    return db_url


def rows_of(console, *where):
    return console.store.rows(sa.select(followups).where(*where).order_by(followups.c.submitted_at))


def inbox_id(console, sender_id: str) -> int:
    return rows_of(console, followups.c.sender_id == sender_id)[0]["id"]


def test_a_submitted_request_is_in_the_inbox_with_its_fields(client, console):
    page = client.get("/staff/followups").get_data(as_text=True)
    assert FORM_NAME_ANSWER in page and "MSIT" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # Newest first; the nav shows how many are open (visitor-followup, the two old ones, the bad row's valid one).
    assert page.index(FORM_NAME_ANSWER) < page.index("Old Timer")
    assert re.search(r"Follow-ups <span[^>]*>4</span>", page)
    assert re.search(r"Follow-ups <span[^>]*>4</span>", client.get("/staff/trends").get_data(as_text=True))
    detail = client.get(f"/staff/followups/{inbox_id(console, 'visitor-followup')}").get_data(as_text=True)
    assert EMAIL in detail, "staff need the request's e-mail address in full"
    assert "Can I defer my start to spring?" in detail and "<script>alert" not in detail
    assert "/staff/conversations/visitor-followup" in detail
    assert "https://www.heinz.cmu.edu/programs/msit" in detail
    # Filters: program and status.
    assert FORM_NAME_ANSWER not in client.get("/staff/followups?program=mism").get_data(as_text=True)
    assert FORM_NAME_ANSWER not in client.get("/staff/followups?status=closed").get_data(as_text=True)
    assert client.get("/staff/followups/999999").status_code == 404
    assert client.get("/staff/followups/abc").status_code == 404


def test_updating_a_request_needs_login_and_csrf(app, client, console):
    number = inbox_id(console, "visitor-followup")
    form = {"status": "answered", "assignee": "Ana Lopez", "notes": "Replied <b>by e-mail</b>."}
    anonymous = app.test_client()
    response = anonymous.post(f"/staff/followups/{number}", data={**form, "csrf_token": csrf_token(anonymous)})
    assert response.status_code in (401, 302) and rows_of(console, followups.c.id == number)[0]["status"] == "open"
    assert client.post(f"/staff/followups/{number}", data=form).status_code == 400  # no CSRF token
    assert rows_of(console, followups.c.id == number)[0]["status"] == "open"
    token = csrf_token(client, "/staff/followups")
    response = client.post(f"/staff/followups/{number}", data={**form, "csrf_token": token})
    assert response.status_code == 302
    saved = rows_of(console, followups.c.id == number)[0]
    assert (saved["status"], saved["assignee"], saved["updated_by"]) == ("answered", "Ana Lopez", "admissions")
    detail = client.get(f"/staff/followups/{number}").get_data(as_text=True)
    assert "Replied &lt;b&gt;by e-mail&lt;/b&gt;." in detail and "Last saved by admissions" in detail
    assert re.search(r"Follow-ups <span[^>]*>3</span>", detail)
    assert FORM_NAME_ANSWER in client.get("/staff/followups?status=answered").get_data(as_text=True)
    bad = client.post(f"/staff/followups/{number}", data={"status": "deleted", "csrf_token": token})
    assert bad.status_code == 302 and rows_of(console, followups.c.id == number)[0]["status"] == "answered"
    # Staff's work survives re-reading every event (and re-reading one event per batch).
    console.summariser.batch_size = 1
    console.summariser.rebuild()
    again = rows_of(console, followups.c.sender_id == "visitor-followup")
    assert len(again) == 1 and again[0]["status"] == "answered" and again[0]["notes"] == saved["notes"]


def test_crm_csv_has_the_import_columns_and_defuses_formulas(client, console, settings):
    response = client.get("/staff/followups.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == CRM_FIELDS
    rows = {row["Reference"]: row for row in reader}
    row = rows[conversation_ref("visitor-followup")]
    assert (row["First Name"], row["Last Name"], row["Email"]) == ("Mary Ann", "Smith", EMAIL)
    assert row["Program of Interest"] == "MSIT" and row["Consent to Contact"] == "Yes" and row["Status"] == "Open"
    assert row["Question"] == "'" + QUESTION, "a cell starting with = is defused"
    submitted = rows_of(console, followups.c.sender_id == "visitor-followup")[0]["submitted_at"]
    expected = datetime.fromtimestamp(submitted, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert row["Submitted At"] == expected and row["Source"] == "Heinz Admissions Assistant"
    assert all(not value.startswith(("=", "+", "-", "@")) for r in rows.values() for value in r.values())
    assert len(rows) == 4
    # Filters apply; the CLI writes the same file.
    only_open_mism = client.get("/staff/followups.csv?status=open&program=mism").get_data(as_text=True)
    assert only_open_mism.splitlines() == [",".join(CRM_FIELDS)]
    from tests.support.console_client import run_cli

    code, cli_text = run_cli(settings, "followups")
    assert code == 0 and cli_text.replace("\r\n", "\n") == text.replace("\r\n", "\n")


def test_the_email_stays_masked_everywhere_else(client, console):
    transcript = client.get("/staff/conversations/visitor-followup").get_data(as_text=True)
    api = client.get("/staff/api/conversations/visitor-followup").get_data(as_text=True)
    missed = client.get("/staff/missed?status=all").get_data(as_text=True)
    since = local_day(NOW - 30 * DAY, console.tz)
    start_at, end_at = day_range(since, local_day(NOW, console.tz), console.tz)
    export = "".join(export_chunks(console.store, "messages", "csv", start_at, end_at, console.threshold, console.tz))
    for text in (transcript, api, missed, export):
        assert EMAIL not in text
    assert "[email hidden]" in transcript and "[email hidden]" in export


def test_messages_to_a_person_or_the_form_are_not_missed(client, console):
    texts = [group.text for group in console.missed_queries.missed_groups(MissedFilter(status="all"))[0]]
    assert AFTER_HAND_BACK in texts, "after the hand-back the assistant answers again, and can miss"
    for not_for_the_bot in (TO_STAFF, "thanks, what about the essay length", FORM_NAME_ANSWER, QUESTION):
        assert not any(not_for_the_bot[:20] in text for text in texts), not_for_the_bot
    live = console.conversation_queries.conversation("visitor-live")
    assert live["missed_messages"] == 1 and live["visitor_messages"] == 5
    assert live["bot_messages"] == 3, "staff messages are not assistant replies"
    form = console.conversation_queries.conversation("visitor-followup")
    assert form["missed_messages"] == 0 and "msit" in form["programs_list"]
    # The transcript and the export agree: no "missed" badge on messages to a person.
    page = client.get("/staff/conversations/visitor-live").get_data(as_text=True)
    assert page.count("Missed: ") == 1
    since = local_day(NOW - 30 * DAY, console.tz)
    start_at, end_at = day_range(since, local_day(NOW, console.tz), console.tz)
    export = "".join(export_chunks(console.store, "messages", "csv", start_at, end_at, console.threshold, console.tz))
    missed = {row["text"]: row["missed"] for row in csv.DictReader(io.StringIO(export))}
    assert missed[TO_STAFF] == "" and missed[AFTER_HAND_BACK] == "fallback"
    assert missed["'" + QUESTION] == ""
    # The same when the catch-up reads one event per batch (the hand-off state carries over).
    console.summariser.batch_size = 1
    console.summariser.rebuild()
    assert [group.text for group in console.missed_queries.missed_groups(MissedFilter(status="all"))[0]] == texts
    assert console.conversation_queries.conversation("visitor-live")["missed_messages"] == 1


def test_containment_and_the_new_answer_types(console, client):
    until = today(console.tz)
    data = console.trend_queries.trends(until - timedelta(days=29), until)
    mix = data.answers
    assert mix.total.types["handed_to_person"] == 1 and mix.total.types["followup"] == 1
    written = sum(data.conversations)
    assert (mix.total.conversations, mix.total.contained) == (written, written - 2)
    per_day = dict(zip(data.days, mix.days))
    for sender_day in (NOW - 1 * DAY + 7201, NOW - 2 * DAY + 7201):
        tally = per_day[local_day(sender_day, console.tz)]
        assert tally.contained == tally.conversations - 1
    assert mix.topics[""].types["handed_to_person"] == 1
    page = client.get("/staff/trends").get_data(as_text=True)
    assert "Handed to a person" in page and "Follow-up taken" in page and "Contact suggested" in page
    assert f"{written - 2} of {written} conversations" in page


def test_malformed_requests_are_logged_and_skipped(caplog, console):
    skipped = [r.getMessage() for r in caplog.get_records("setup") if "Skipped follow-up request" in r.getMessage()]
    assert len(skipped) >= 9
    bad = rows_of(console, followups.c.sender_id == "visitor-bad-followups")
    assert len(bad) == 1
    kept = bad[0]
    assert "\x00" not in kept["name"] and len(kept["name"]) <= 210 and kept["page_url"] is None
    assert kept["submitted_at"] == pytest.approx(NOW - 4 * DAY + 9)


def test_purge_removes_old_requests_and_those_of_purged_conversations(console, settings):
    assert {row["sender_id"] for row in rows_of(console)} >= {"visitor-old-followup", "visitor-back-again"}
    dry = purge(console.store, 365, dry_run=True)
    assert dry.followups == 2
    result = purge(console.store, 365)
    assert result.followups == 2
    left = {row["sender_id"] for row in rows_of(console)}
    assert left == {"visitor-followup", "visitor-bad-followups"}
    assert console.conversation_queries.conversation("visitor-back-again") is not None, "the visitor came back"
    assert console.conversation_queries.conversation("visitor-old-followup") is None


def test_logging_of_a_skipped_request_names_the_reason(caplog, console):
    with caplog.at_level(logging.WARNING):
        console.summariser.rebuild()
    assert any("no consent to be contacted" in r.getMessage() for r in caplog.records)


def everything_of(console, sender_ids) -> dict:
    """How many rows each table holds for these conversations (Rasa's events included)."""
    from console.data.database import PER_CONVERSATION_TABLES, handoffs

    counts = {}
    with console.store.connect() as connection:
        for table in (events, *PER_CONVERSATION_TABLES, handoffs, followups):
            query = sa.select(sa.func.count()).select_from(table).where(table.c.sender_id.in_(sender_ids))
            counts[table.name] = connection.execute(query).scalar()
    return counts


def test_an_editor_erases_everything_with_an_email_and_the_audit_keeps_no_personal_data(client, console):
    from console.data.database import erasures

    mine = ["visitor-followup", "visitor-old-followup", "visitor-back-again", "visitor-bad-followups"]
    from console.data.database import messages

    question = console.store.rows(
        sa.select(messages.c.event_id, messages.c.sender_id)
        .where(messages.c.sender_id == "visitor-followup", ~messages.c.text.startswith("/"))
        .limit(1)
    )
    console.reviews.set_message_status(
        [(question[0]["event_id"], "visitor-followup")], "assigned", "admissions", "ask_deferral"
    )
    assert sum(everything_of(console, mine).values()) > 0 and console.reviews.examples()
    others_before = everything_of(console, ["visitor-live"])
    token = csrf_token(client, "/staff/erase")
    confirm = client.post("/staff/erase/confirm", data={"csrf_token": token, "email": EMAIL.upper()})
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "4 conversations" in html and "Erase permanently" in html
    assert sum(everything_of(console, mine).values()) > 0, "nothing goes before the confirmation"
    done = client.post("/staff/erase/now", data={"csrf_token": token, "email": EMAIL, "confirm": "yes"})
    assert done.status_code == 302
    assert "Erased 4 conversations" in client.get("/staff/erase").get_data(as_text=True)
    assert set(everything_of(console, mine).values()) == {0}
    assert rows_of(console, sa.func.lower(followups.c.email) == EMAIL) == []
    assert console.reviews.examples() == [], "the visitor's question left the training examples too"
    assert everything_of(console, ["visitor-live"]) == others_before, "nobody else's data is touched"
    [audit] = console.store.rows(sa.select(erasures))
    assert (audit["erased_by"], audit["scope"], audit["conversations"]) == ("admissions", "email", 4)
    assert not any(
        isinstance(value, str) and ("mary" in value.lower() or "visitor" in value) for value in audit.values()
    )
    console.refresh(force=True)
    assert console.conversation_queries.conversation("visitor-followup") is None, "the catch-up does not bring it back"


def test_the_command_line_erases_one_conversation_only_with_yes(console, settings):
    from console import cli

    out = io.StringIO()
    args = ["--database-url", settings.database_url, "erase", "--conversation", "visitor-live"]
    assert cli.main(args, out=out) == 1 and "Add --yes" in out.getvalue()
    assert everything_of(console, ["visitor-live"])["events"] > 0
    out = io.StringIO()
    assert cli.main([*args, "--yes"], out=out) == 0 and "Erased 1 conversation(s)" in out.getvalue()
    assert set(everything_of(console, ["visitor-live"]).values()) == {0}
    assert everything_of(console, ["visitor-followup"])["events"] > 0
    nothing = io.StringIO()
    assert (
        cli.main(["--database-url", settings.database_url, "erase", "--email", "nobody@example.com"], out=nothing) == 1
    )
    assert "nothing to erase" in nothing.getvalue()
