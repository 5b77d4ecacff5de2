"""The console's queries on conversations written by Rasa's SQLTrackerStore, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from console.config import load_timezone
from console.conversations.queries import ConversationFilter, Cursor
from console.data.dates import day_range, local_day, offset_periods
from console.missed.queries import MissedFilter
from tests.support.console_events import (
    DAY,
    INJECTION_TEXT,
    NOW,
    answer,
    insert_event,
    save,
    start,
    tracker_store,
    user,
    user_data,
)


def ids(page):
    return [row["sender_id"] for row in page.rows]


def test_list_is_newest_first_with_summary_columns(console, seeded):
    page = console.conversation_queries.conversations(ConversationFilter())
    assert ids(page) == [
        "visitor-msit-buttons",
        "visitor-missed",
        "visitor-injection",
        "visitor-tuition-2",
        "visitor-returning",
        "visitor-old",
    ]
    rows = {row["sender_id"]: row for row in page.rows}
    msit = rows["visitor-msit-buttons"]
    assert msit["visitor_messages"] == 2
    assert msit["programs_list"] == ["msit"]
    assert msit["topics_list"] == ["ask_deadlines"]
    assert msit["missed_messages"] == 0
    assert msit["first_message"] == "When is the application deadline?"
    missed = rows["visitor-missed"]
    assert missed["missed_messages"] == 4
    assert missed["programs_list"] == ["mism"]
    assert set(missed["topics_list"]) == {"ask_cost", "ask_contact"}
    # The session without any visitor message is hidden unless asked for.
    with_empty = console.conversation_queries.conversations(ConversationFilter(include_empty=True))
    assert "visitor-silent" in ids(with_empty)


def test_filters(console, seeded):
    q = console.conversation_queries
    assert ids(q.conversations(ConversationFilter(program="msit"))) == ["visitor-msit-buttons", "visitor-returning"]
    assert ids(q.conversations(ConversationFilter(program="mism"))) == ["visitor-missed"]
    assert ids(q.conversations(ConversationFilter(topic="ask_deadlines"))) == ["visitor-msit-buttons"]
    assert ids(q.conversations(ConversationFilter(missed=True))) == ["visitor-missed", "visitor-tuition-2"]
    assert ids(q.conversations(ConversationFilter(search="TUITION"))) == ["visitor-missed", "visitor-tuition-2"]
    assert ids(q.conversations(ConversationFilter(search="100%"))) == []
    # Date range in local days: only conversations active within it.
    day = local_day(NOW - 2 * DAY, console.tz)
    assert ids(q.conversations(ConversationFilter(since=day, until=day))) == ["visitor-missed"]
    old_day = local_day(NOW - 400 * DAY, console.tz)
    in_range = ids(q.conversations(ConversationFilter(since=old_day, until=old_day + timedelta(days=1))))
    assert in_range == ["visitor-returning", "visitor-old"]
    assert q.count_conversations(ConversationFilter(missed=True, program="mism")) == 1


def test_search_with_sql_injection_text_is_only_a_search(console, seeded):
    page = console.conversation_queries.conversations(ConversationFilter(search=INJECTION_TEXT))
    assert ids(page) == ["visitor-injection"]
    assert (
        console.conversation_queries.conversations(ConversationFilter(search="' OR 1=1; DROP TABLE events; --")).rows
        == []
    )
    with console.store.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM events")).scalar() > 0


def test_review_status_filter(console, seeded):
    console.reviews.set_conversation_status("visitor-missed", "follow_up", "admissions", "call back")
    console.reviews.set_conversation_status("visitor-old", "reviewed", "admissions")
    q = console.conversation_queries
    assert ids(q.conversations(ConversationFilter(status="follow_up"))) == ["visitor-missed"]
    assert ids(q.conversations(ConversationFilter(status="reviewed"))) == ["visitor-old"]
    assert "visitor-missed" not in ids(q.conversations(ConversationFilter(status="new")))
    assert q.conversation("visitor-missed")["review_note"] == "call back"


def test_keyset_pagination_covers_every_row_once(console, seeded):
    q = console.conversation_queries
    everything = ConversationFilter(include_empty=True)
    pages, before = [], None
    while True:
        page = q.conversations(everything, before=before, limit=2)
        pages.append(page)
        if not page.older:
            break
        before = Cursor.decode(page.older.encode())
    seen = [sender for page in pages for sender in ids(page)]
    assert len(seen) == len(set(seen)) == 7
    assert pages[0].newer is None and pages[-1].older is None
    # "Newer" from any page leads back to exactly the page before it.
    for previous, page in zip(pages, pages[1:]):
        back = q.conversations(everything, after=page.newer, limit=2)
        assert ids(back) == ids(previous)
        assert back.older is not None


def test_missed_questions_are_grouped(console, seeded):
    groups, group_count, message_count = console.missed_queries.missed_groups(MissedFilter())
    assert message_count == 5
    tuition = groups[0]
    assert tuition.count == 3 and tuition.conversations == 2
    assert {s["sender_id"] for s in tuition.samples} == {"visitor-missed", "visitor-tuition-2"}
    texts = {group.text for group in groups}
    assert "Do you offer a PhD in basket weaving?" in texts
    low, _, _ = console.missed_queries.missed_groups(MissedFilter(reason="low_confidence"))
    assert [g.count for g in low] == [3]
    oos, _, _ = console.missed_queries.missed_groups(MissedFilter(reason="out_of_scope"))
    assert [g.text for g in oos] == ["Do you offer a PhD in basket weaving?"]


def test_review_states_move_groups_between_tabs(console, seeded):
    groups, _, _ = console.missed_queries.missed_groups(MissedFilter())
    tuition = groups[0]
    messages = console.missed_queries.missed_event_ids(tuition.keys)
    assert len(messages) == 3
    console.reviews.set_message_status(messages, "assigned", "admissions", "ask_cost")
    open_groups, _, open_messages = console.missed_queries.missed_groups(MissedFilter())
    assert open_messages == 2 and all(g.keys != tuition.keys for g in open_groups)
    assigned, _, _ = console.missed_queries.missed_groups(MissedFilter(status="assigned"))
    assert assigned[0].assigned_intent == "ask_cost" and assigned[0].status == "assigned"
    console.reviews.set_message_status(messages[:1], "open", "admissions")
    mixed, _, _ = console.missed_queries.missed_groups(MissedFilter(status="all"))
    assert next(g for g in mixed if g.keys == tuition.keys).status == "mixed"


def test_trends_count_per_local_day(console, seeded):
    today = local_day(NOW, console.tz)
    data = console.trend_queries.trends(today - timedelta(days=6), today)
    assert sum(data.conversations) == 4
    assert sum(data.messages) == 10 and sum(data.missed) == 5
    assert dict(data.topics)["ask_cost"] == 3
    assert sum(data.programs["msit"]) == 1 and sum(data.programs["mism"]) == 1
    two_days_ago = data.days.index(local_day(NOW - 2 * DAY, console.tz))
    assert data.messages[two_days_ago] == 5 and data.missed_share[two_days_ago] == 0.8


def test_summaries_follow_new_events_without_double_counting(console, seeded, db_url):
    store = tracker_store(db_url)
    at = NOW - 60
    save(
        store,
        "visitor-msit-buttons",
        [user("Is the GRE required?", "ask_requirements", 0.2, at)] + answer("Hm.", at + 1),
    )
    save(store, "visitor-new", start(at) + [user("hello", "greet", 0.97, at + 1)])
    store.engine.dispose()
    console.refresh(force=True)
    console.refresh(force=True)
    row = console.conversation_queries.conversation("visitor-msit-buttons")
    assert row["visitor_messages"] == 3 and row["missed_messages"] == 1
    assert ids(console.conversation_queries.conversations(ConversationFilter(), limit=2)) == [
        "visitor-msit-buttons",
        "visitor-new",
    ]
    assert console.trend_queries.totals()["visitor_messages"] == 15


def test_late_commits_below_the_watermark_are_picked_up(console, seeded):
    """PostgreSQL can commit id N+1 before id N; the summariser watches such holes."""

    def insert(connection, event_id, text):
        # Written now: a hole is watched only next to recent events, and the seed's NOW is 22:00
        # office time from 22:30 on (tests/support/console_events.py), which failed this test then.
        now = time.time()
        insert_event(connection, "visitor-late", user_data(text, at=now), at=now, event_id=event_id)

    with console.store.session_scope() as connection:
        top = console.store.max_event_id(connection)
        insert(connection, top + 3, "second")
    console.refresh(force=True)
    with console.store.session_scope() as connection:
        insert(connection, top + 1, "first")
    console.refresh(force=True)
    assert console.conversation_queries.conversation("visitor-late")["visitor_messages"] == 2


def test_rebuild_gives_the_same_summaries(console, seeded):
    before = console.conversation_queries.conversations(ConversationFilter(include_empty=True)).rows
    console.summariser.rebuild()
    after = console.conversation_queries.conversations(ConversationFilter(include_empty=True)).rows
    assert before == after


def test_days_are_cut_in_local_time_across_daylight_saving():
    tz = load_timezone("America/New_York")
    start, end = day_range(date(2025, 3, 1), date(2025, 11, 30), tz)
    periods = offset_periods(start, end, tz)
    # EST -> EDT at 2025-03-09 07:00 UTC, EDT -> EST at 2025-11-02 06:00 UTC.
    assert [(datetime.fromtimestamp(at, timezone.utc).isoformat(), offset) for at, offset in periods] == [
        ("2025-03-01T05:00:00+00:00", -18000),
        ("2025-03-09T07:00:00+00:00", -14400),
        ("2025-11-02T06:00:00+00:00", -18000),
    ]


def test_trend_days_follow_the_office_clock(console, seeded, db_url):
    """A message at 23:30 New York time on a summer day counts for that day, not the next (UTC) one."""
    store = tracker_store(db_url)
    late = datetime(2020, 7, 4, 23, 30, tzinfo=console.tz).timestamp()
    winter = datetime(2020, 12, 24, 23, 59, tzinfo=console.tz).timestamp()
    save(store, "visitor-late-night", start(late - 60) + [user("hello", "greet", 0.9, late)])
    save(store, "visitor-winter", start(winter - 60) + [user("hello", "greet", 0.9, winter)])
    store.engine.dispose()
    console.refresh(force=True)
    data = console.trend_queries.trends(date(2020, 7, 3), date(2020, 12, 26))
    counted = {day: n for day, n in zip(data.days, data.messages) if n}
    assert counted == {date(2020, 7, 4): 1, date(2020, 12, 24): 1}


def test_summaries_do_not_depend_on_batch_boundaries(console, seeded):
    """Conversations split over many small batches sum up to the same rows as one pass."""
    from console.data.sync import Summariser

    before = console.conversation_queries.conversations(ConversationFilter(include_empty=True)).rows
    Summariser(console.store, console.vocabulary, batch_size=3).rebuild()
    assert console.conversation_queries.conversations(ConversationFilter(include_empty=True)).rows == before


def test_nearly_identical_questions_merge():
    from console.missed.queries import MissedGroup, merge_similar

    def group(key, count):
        return MissedGroup([key], key, count, count, 1.0, {"open": count}, None, [])

    merged = merge_similar(
        [group("tuition fees for msit", 4), group("what is a capstone", 2), group("tution fees for msit", 1)]
    )
    assert [(g.keys, g.count) for g in merged] == [
        (["tuition fees for msit", "tution fees for msit"], 5),
        (["what is a capstone"], 2),
    ]


def test_the_seeded_conversations_keep_their_days_whenever_the_suite_runs():
    """A run a minute before midnight counts the same days as one at noon (the seed's anchor)."""
    from datetime import datetime

    from tests.support.console_events import OFFICE_ZONE, seed_now

    for hour, minute in [(12, 0), (22, 29), (22, 31), (23, 58), (0, 5)]:
        at = datetime(2026, 12, 3, hour, minute, tzinfo=OFFICE_ZONE).timestamp()
        anchored = datetime.fromtimestamp(seed_now(at), OFFICE_ZONE)
        assert anchored.date() == datetime.fromtimestamp(at, OFFICE_ZONE).date() and seed_now(at) <= at
        assert (anchored.hour, anchored.minute) <= (22, 29), "at least 90 minutes before midnight"
