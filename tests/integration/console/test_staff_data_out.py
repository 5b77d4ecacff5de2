"""Exports, masking, the NLU file, the retention purge and the CLI, on both databases."""

from __future__ import annotations

import csv
import io
import json

import sqlalchemy as sa
import yaml

from console.conversations.queries import ConversationFilter
from console.data.dates import day_range, local_day
from console.data.events import TurnBuilder
from console.data.privacy import mask_text, mask_value
from console.data.retention import purge
from console.data.review import nlu_yaml
from console.exports.formats import export_chunks
from console.missed.queries import MissedFilter
from tests.support.console_client import run_cli
from tests.support.console_events import CONTACT_TEXT, DAY, FORMULA_TEXT, NOW


def export_text(console, kind="messages", fmt="csv", days=30, unmask=False):
    since = local_day(NOW - days * DAY, console.tz)
    start, end = day_range(since, local_day(NOW, console.tz), console.tz)
    return "".join(export_chunks(console.store, kind, fmt, start, end, console.threshold, console.tz, unmask))


def test_messages_csv_has_every_message_with_context(console, seeded):
    rows = list(csv.DictReader(io.StringIO(export_text(console))))
    assert {row["conversation_id"] for row in rows} == {
        "visitor-msit-buttons",
        "visitor-missed",
        "visitor-tuition-2",
        "visitor-injection",
        "visitor-returning",
    }
    click = next(r for r in rows if r["text"] == '/inform{"program":"msit"}')
    assert click["speaker"] == "visitor" and click["button"] == "MSIT" and click["entities"] == "program=msit"
    offer = next(r for r in rows if r["text"] == "Which program are you interested in?")
    assert offer["button"] == "MISM | MSIT" and offer["action"] == "utter_ask_program"
    fallback = next(r for r in rows if r["text"] == "I did not get that.")
    assert fallback["action"] == "action_fallback"
    oos = next(r for r in rows if r["text"].startswith("Do you offer a PhD"))
    assert oos["missed"] == "out of scope" and oos["intent"] == "out_of_scope"
    # A cell that a spreadsheet would run as a formula is defused, and its text kept.
    assert "'" + FORMULA_TEXT in [r["text"] for r in rows]
    assert all(not r[name].startswith(("=", "+", "-", "@")) for r in rows for name in r)


def test_conversations_jsonl(console, seeded):
    records = [json.loads(line) for line in export_text(console, "conversations", "jsonl").splitlines()]
    by_id = {r["conversation_id"]: r for r in records}
    assert set(by_id) == {
        "visitor-msit-buttons",
        "visitor-missed",
        "visitor-tuition-2",
        "visitor-injection",
        "visitor-returning",
    }
    assert by_id["visitor-missed"]["missed_messages"] == 4
    assert by_id["visitor-msit-buttons"]["programs"] == "msit"
    assert by_id["visitor-msit-buttons"]["started"].endswith(("-05:00", "-04:00"))


def test_contact_details_are_masked_everywhere_by_default(console, seeded):
    secret_email, secret_phone = "jane.doe@example.com", "412-268-2000"
    transcript = TurnBuilder(console.threshold, mask_value).build(console.store.conversation_events("visitor-missed"))
    texts = [turn.text for turn in transcript]
    assert mask_text(CONTACT_TEXT) in texts
    for text in (
        export_text(console),
        export_text(console, fmt="jsonl"),
        export_text(console, "conversations"),
        " ".join(texts),
    ):
        assert secret_email not in text and secret_phone not in text
    assert "[email hidden]" in export_text(console) and "[phone hidden]" in export_text(console)
    with console.store.connect() as connection:
        stored = " ".join(row[0] for row in connection.execute(sa.text("SELECT text FROM staff_messages")))
    assert secret_email not in stored
    # Operators may explicitly ask for the raw text.
    assert secret_email in export_text(console, unmask=True)


def test_masking_rules():
    assert mask_text("write to a.b-c@heinz.cmu.edu!") == "write to [email hidden]!"
    assert mask_text("call +1 (412) 268-2000 or 4122682000") == "call [phone hidden] or [phone hidden]"
    kept = "Fall 2026 deadline 2026-01-15, TOEFL 100, GPA 3.5, $60,000, 12/15/2025"
    assert mask_text(kept) == kept


def test_nlu_export_contains_assigned_examples(console, seeded):
    groups, _, _ = console.missed_queries.missed_groups(MissedFilter())
    tuition = groups[0]
    console.reviews.set_message_status(
        console.missed_queries.missed_event_ids(tuition.keys), "assigned", "staff", "ask_cost"
    )
    oos = next(g for g in groups if g.text.startswith("Do you offer"))
    console.reviews.set_message_status(
        console.missed_queries.missed_event_ids(oos.keys), "assigned", "staff", "out_of_scope"
    )
    text = nlu_yaml(console.reviews.assigned_examples())
    parsed = yaml.safe_load(text)
    assert parsed["version"] == "3.1"
    examples = {item["intent"]: item["examples"] for item in parsed["nlu"]}
    # "what's the tuition??", "Whats the tuition" and "What's the tuition?" differ only in punctuation/case.
    assert examples["ask_cost"].count("- ") == 1 and "tuition" in examples["ask_cost"]
    assert "- Do you offer a PhD in basket weaving?" in examples["out_of_scope"]
    # Rasa itself reads the file.
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    training = RasaYAMLReader().reads(text)
    assert {m.get("intent") for m in training.intent_examples} == {"ask_cost", "out_of_scope"}


def test_purge_removes_exactly_the_stale_conversations(console, seeded):
    console.reviews.set_conversation_status("visitor-old", "reviewed", "staff")
    console.reviews.set_conversation_status("visitor-returning", "reviewed", "staff")
    with console.store.connect() as connection:
        before = dict(connection.execute(sa.text("SELECT sender_id, count(*) FROM events GROUP BY sender_id")).all())
    dry = purge(console.store, 365, dry_run=True)
    assert dry.conversations == 1 and dry.events == before["visitor-old"]
    result = purge(console.store, 365)
    assert (result.conversations, result.events) == (1, before["visitor-old"])
    with console.store.connect() as connection:
        after = dict(connection.execute(sa.text("SELECT sender_id, count(*) FROM events GROUP BY sender_id")).all())
        reviews = {row[0] for row in connection.execute(sa.text("SELECT sender_id FROM staff_conversation_reviews"))}
        summaries = {row[0] for row in connection.execute(sa.text("SELECT sender_id FROM staff_conversations"))}
    assert after == {key: value for key, value in before.items() if key != "visitor-old"}
    assert reviews == {"visitor-returning"}
    assert "visitor-old" not in summaries and "visitor-returning" in summaries
    console.refresh(force=True)
    assert "visitor-old" not in [
        r["sender_id"] for r in console.conversation_queries.conversations(ConversationFilter()).rows
    ]


def test_cli_commands(console, seeded, settings):
    code, text = run_cli(settings, "list", "--missed")
    assert code == 0 and "visitor-missed" in text and "visitor-msit-buttons" not in text
    code, text = run_cli(settings, "list", "--json", "--program", "msit")
    assert code == 0 and [json.loads(line)["id"] for line in text.splitlines()] == [
        "visitor-msit-buttons",
        "visitor-returning",
    ]
    code, text = run_cli(settings, "show", "visitor-msit-buttons")
    assert code == 0 and 'clicked "MSIT"' in text and "[x] MSIT" in text and "ask_deadlines" in text
    code, text = run_cli(settings, "show", "visitor-missed")
    assert code == 0 and "MISSED: out of scope" in text and "jane.doe@example.com" not in text
    code, text = run_cli(settings, "missed")
    assert code == 0 and "5 missed messages in 3 groups" in text
    code, text = run_cli(settings, "stats", "--days", "7")
    assert code == 0 and "Last 7 days: 4 conversations, 10 visitor messages, 5 missed" in text
    since = local_day(NOW - 30 * DAY, console.tz).isoformat()
    code, text = run_cli(settings, "export", "--format", "jsonl", "--since", since, "--kind", "conversations")
    assert code == 0 and len(text.splitlines()) == 5
    code, text = run_cli(settings, "export", "--format", "csv", "--since", since)
    assert code == 0 and text.startswith("conversation_id,event_id,time,speaker") and "jane.doe" not in text
    code, text = run_cli(settings, "export", "--format", "csv", "--since", since, "--unmask")
    assert code == 0 and "jane.doe@example.com" in text
    code, text = run_cli(settings, "purge", "--older-than", "365")
    assert code == 0 and text.startswith("Deleted 1 conversation (")
    code, text = run_cli(settings, "sync", "--rebuild")
    assert code == 0 and "up to date" in text


def test_cli_set_password_creates_a_hashed_local_user(console, settings):
    code, text = run_cli(settings, "set-password", "Counselor", "--generate")
    password = text.rsplit("Password: ", 1)[1].strip()
    assert code == 0 and console.auth.check("counselor", password)
    with console.store.connect() as connection:
        stored = connection.execute(sa.text("SELECT password_hash FROM staff_users")).scalar()
    assert password not in stored
