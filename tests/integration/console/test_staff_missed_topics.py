"""The Missed page's Topic filter: the missed questions likely about one topic, on SQLite and PostgreSQL.

A missed question's likely topic is the topic it was answered on (an answer marked "not helpful",
or one answered though the NLU could not place it), else the first of the likeliest topics the
assistant offered as buttons ("I think you're asking about one of these"); the honest miss has none.
Staff pick the topic by its title, the filter stays on while they page through the groups, and each
group names its likely topic. The conversations are written by Rasa's SQLTrackerStore as the
assistant writes them (tests/support/console_events.py).
"""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from typing import Any, Dict, List
from urllib.parse import urlencode

import pytest
from rasa.shared.core.events import ActionExecuted

from console.data.dates import local_day
from console.exports.formats import export_chunks
from console.missed.queries import MissedFilter
from tests.support.console_client import csrf_token, run_cli
from tests.support.console_events import (
    DAY,
    NOW,
    action,
    bot,
    feedback_click,
    seed_with,
    start,
    suggestions,
    typed_answer,
    user,
)

PAGE_SIZE = 10
DEADLINES_FIRST = "when must the papers be in"  # fallback: deadlines, then cost
COST_FIRST = "is it pricey and when is it due"  # fallback: cost, then deadlines
NOT_HELPFUL_COST = "how much money do i need"  # answered as cost, marked not helpful
FOLLOW_UP = "ok what about msit"  # nlu_fallback, answered as the deadlines for MSIT
UNKNOWN = "qwerty asdf"  # the honest miss: no likely topic
IN_KOREAN = "MSIT 보증금은 얼마예요?"  # "English only", "Talk to a person" before the cost and the deposit
SHARED = "dates or fees"  # asked twice: once offered the deadlines first, once the cost
EARLIER_TOO = "what do i pay and by when"  # asked ten days ago and yesterday, offered the cost first
# More fallbacks whose first suggestion is the deadlines: the Topic filter lists more than a page.
MORE_DEADLINES = [
    "latest date to hand things over",
    "cutoff for the spring intake maybe",
    "am i too late already",
    "how long until applications close",
    "by which day do you want everything",
    "final call for submissions",
    "could i still get my file in",
    "the round two thing",
    "is october early enough",
    "what about the priority window",
    "should i hurry up",
]
DEADLINES = "ask_deadlines"
COST = "ask_cost"


@pytest.fixture
def staff_env(staff_env, monkeypatch):
    """Pages of ten groups, so a dozen deadline questions need two."""
    monkeypatch.setenv("STAFF_PAGE_SIZE", str(PAGE_SIZE))


@pytest.fixture
def seeded(db_url) -> str:
    """The shared conversations, plus fallbacks offering the deadlines or the cost first, an answer about
    the cost marked not helpful, a follow-up answered though unsure, and the honest miss."""
    t = NOW - DAY + 3600
    fallbacks = (
        start(t)
        + [user(DEADLINES_FIRST, "nlu_fallback", 0.3, t + 1)]
        + suggestions(t + 2, ["deadlines", "cost"])
        + [user(COST_FIRST, "nlu_fallback", 0.3, t + 10)]
        + suggestions(t + 11, ["cost", "deadlines"])
        + [user(UNKNOWN, "nlu_fallback", 0.2, t + 20)]
        + typed_answer("Sorry, I'm not sure I understood that.", t + 21, "utter_fallback", None, MISS)
        + [user(SHARED, "nlu_fallback", 0.3, t + 30)]
        + suggestions(t + 31, ["deadlines", "cost"])
        + [user(SHARED, "nlu_fallback", 0.3, t + 40)]
        + suggestions(t + 41, ["cost", "deadlines"])
    )
    t = NOW - DAY + 5400
    not_helpful = (
        start(t)
        + [user(NOT_HELPFUL_COST, "ask_cost", 0.9, t + 1)]
        + typed_answer("Cost, MISM: tuition is on the official page.", t + 2, "utter_answer", "cost")
        + feedback_click("no", t + 5)
    )
    t = NOW - DAY + 6000
    follow_up = (
        start(t)
        + [user("when is the mism deadline", "ask_deadlines", 0.95, t + 1)]
        + typed_answer("Deadlines, MISM: the final round is in March.", t + 2, "utter_answer", "deadlines")
        + [user(FOLLOW_UP, "nlu_fallback", 0.4, t + 10, [{"entity": "program", "value": "msit"}])]
        + typed_answer("Deadlines, MSIT: the final deadline is in June.", t + 11, "utter_answer", "deadlines", MISS)
    )
    t = NOW - DAY + 7200
    more = start(t)
    for index, text in enumerate(MORE_DEADLINES):
        more += [user(text, "nlu_fallback", 0.3, t + 10 * index + 1)] + suggestions(t + 10 * index + 2, ["deadlines"])
    earlier = start(NOW - 10 * DAY) + [user(EARLIER_TOO, "nlu_fallback", 0.3, NOW - 10 * DAY + 1)]
    earlier += suggestions(NOW - 10 * DAY + 2, ["cost", "deadlines"])
    t = NOW - DAY + 9000
    lately = start(t) + [user(EARLIER_TOO, "nlu_fallback", 0.3, t + 1)] + suggestions(t + 2, ["cost", "deadlines"])
    t = NOW - DAY + 9600
    offered = [("Talk to a person", "/request_human"), ("Tuition and cost", "/ask_cost"), ("Deposit", "/ask_deposit")]
    english_only = start(t) + [
        user(IN_KOREAN, "nlu_fallback", 0.47, t + 1),
        action("action_handle_miss", t + 2),
        bot(
            "Sorry, I can only answer in English.",
            t + 2.01,
            [{"title": title, "payload": payload} for title, payload in offered],
            utter="utter_english_only",
        ),
        ActionExecuted("action_listen", timestamp=t + 2.02),
    ]
    return seed_with(
        db_url,
        {
            "visitor-earlier": earlier,
            "visitor-lately": lately,
            "visitor-fallbacks": fallbacks,
            "visitor-not-helpful": not_helpful,
            "visitor-follow-up": follow_up,
            "visitor-many-dates": more,
            "visitor-english-only": english_only,
        },
    )


MISS = "action_handle_miss"


def groups_on(page: str) -> Dict[str, str]:
    """Each group on a Missed page, by its question: the group's HTML."""
    groups = {}
    for article in re.findall(r'<article class="card group".*?</article>', page, flags=re.S):
        question = re.search(r'class="question">“(.*?)”</h2>', article, flags=re.S)
        assert question, article
        groups[unescape(question.group(1))] = article
    return groups


def missed_page(client, query: str = "") -> str:
    response = client.get(f"/staff/missed?{query}")
    assert response.status_code == 200, query
    return response.get_data(as_text=True)


def every_group(client, query: str) -> Dict[str, str]:
    """The groups of every page of the Missed page for ``query``, following its "Next" links."""
    groups: Dict[str, str] = {}
    path = f"/staff/missed?{query}"
    while path:
        page = missed_page(client, path.partition("?")[2])
        groups.update(groups_on(page))
        following = re.search(r'<a href="([^"]+)">Next ›</a>', page)
        path = unescape(following.group(1)) if following else ""
    return groups


def listed(client, query: str) -> List[str]:
    """The questions the Missed page lists for ``query``, on all its pages."""
    return list(every_group(client, query))


def topic_options(page: str) -> Dict[str, str]:
    """The Topic filter's options (value: label), and the picked one's value under ``"picked"``."""
    select = re.search(r'<select id="topic" name="topic">(.*?)</select>', page, flags=re.S)
    assert select, "the Topic filter"
    options = dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1)))
    picked = re.findall(r'<option value="([^"]*)" selected>', select.group(1))
    return {**options, "picked": ",".join(picked)}


def queue(console, **flt: Any) -> List[str]:
    groups, _, _ = console.missed_queries.missed_groups(MissedFilter(**flt), per_page=100)
    return sorted(group.text for group in groups)


def test_a_fallback_is_listed_under_the_topic_it_suggested_first(client):
    deadlines = listed(client, f"topic={DEADLINES}")
    cost = listed(client, f"topic={COST}")
    assert DEADLINES_FIRST in deadlines and DEADLINES_FIRST not in cost
    assert COST_FIRST in cost and COST_FIRST not in deadlines, "the first suggestion, not the second"
    assert UNKNOWN not in deadlines + cost and UNKNOWN in listed(client, "")


def test_an_english_only_reply_is_listed_under_the_first_topic_it_offered(client):
    """It offers "Talk to a person" first, then the likeliest topics: the first topic, not no topic."""
    assert IN_KOREAN in listed(client, f"topic={COST}") and IN_KOREAN not in listed(client, f"topic={DEADLINES}")
    assert "Likely topic: Tuition and cost" in every_group(client, "")[IN_KOREAN]


def test_an_answer_marked_not_helpful_is_listed_under_the_topic_it_answered(client):
    assert NOT_HELPFUL_COST in listed(client, f"topic={COST}&reason=not_helpful")
    assert NOT_HELPFUL_COST not in listed(client, f"topic={DEADLINES}")
    # The tuition questions of the shared conversations were answered with no topic: no likely topic.
    assert not [text for text in listed(client, f"topic={COST}") if "tuition" in text.lower()]
    # Answered though unsure ("ok what about msit" after the deadlines): listed under that topic on request.
    assert listed(client, f"topic={DEADLINES}&reason=answered_unsure") == [FOLLOW_UP]
    assert listed(client, f"topic={COST}&reason=answered_unsure") == []


def test_each_group_names_its_likely_topic_and_the_filter_offers_every_topic(client):
    groups = every_group(client, "")
    assert "Likely topic: Application deadlines" in groups[DEADLINES_FIRST]
    assert "Likely topic: Tuition and cost" in groups[COST_FIRST]
    assert "Likely topic: Tuition and cost" in groups[NOT_HELPFUL_COST]
    assert "Likely topic" not in groups[UNKNOWN]
    options = topic_options(missed_page(client))
    assert options["picked"] == "" and options[""] == "Any"
    assert options[DEADLINES] == "Application deadlines" and options[COST] == "Tuition and cost"
    assert "out_of_scope" not in options, "a topic filter, not the assigning list"


def picked_topic(form_html: str) -> List[str]:
    """The topic an assigning form's select has picked ("Assign topic" then needs one click)."""
    select = re.search(r'<select id="[^"]+" name="intent" required>(.*?)</select>', form_html, flags=re.S)
    assert select, form_html
    return re.findall(r'<option value="([^"]*)" selected>', select.group(1))


def test_a_missed_question_offers_its_likely_topic_to_assign(client):
    """The Missed page's group form and the transcript's form pick the likely topic, so staff confirm
    it with one click; the honest miss picks nothing."""
    groups = every_group(client, "")
    assert picked_topic(groups[DEADLINES_FIRST]) == [DEADLINES] and picked_topic(groups[COST_FIRST]) == [COST]
    assert picked_topic(groups[UNKNOWN]) == []
    page = client.get("/staff/conversations/visitor-fallbacks").get_data(as_text=True)
    turns = {
        unescape(re.search(r'<div class="text">(.*?)</div>', turn, flags=re.S).group(1)): turn
        for turn in re.findall(r'<li class="turn visitor.*?</li>', page, flags=re.S)
    }
    assert "Likely topic: Application deadlines" in turns[DEADLINES_FIRST]
    assert picked_topic(turns[DEADLINES_FIRST]) == [DEADLINES] and picked_topic(turns[COST_FIRST]) == [COST]
    assert "Likely topic" not in turns[UNKNOWN] and picked_topic(turns[UNKNOWN]) == []


def test_the_export_and_the_api_give_each_question_its_likely_topic(console, client):
    """Staff who analyse the misses in a spreadsheet see what the Missed page's Topic filter sees."""
    start_at, end_at = NOW - 30 * DAY, NOW + DAY
    text = "".join(export_chunks(console.store, "messages", "csv", start_at, end_at, console.threshold, console.tz))
    questions = [row for row in csv.DictReader(io.StringIO(text)) if row["speaker"] == "visitor"]
    rows = {row["text"]: row for row in questions}
    assert rows[DEADLINES_FIRST]["likely_topic"] == "deadlines" and rows[COST_FIRST]["likely_topic"] == "cost"
    assert rows[NOT_HELPFUL_COST]["likely_topic"] == "cost" and rows[FOLLOW_UP]["likely_topic"] == "deadlines"
    assert rows[UNKNOWN]["likely_topic"] == ""
    for group in ("deadlines", "cost"):
        exported = sorted({row["text"] for row in questions if row["likely_topic"] == group and row["missed"]})
        assert exported == sorted(queue(console, topic=f"ask_{group}")), group
    turns = client.get("/staff/api/conversations/visitor-fallbacks").json["turns"]
    by_text = {turn["text"]: turn for turn in turns if turn["kind"] == "visitor"}
    assert by_text[COST_FIRST]["likely_topic"] == "cost" and by_text[UNKNOWN]["likely_topic"] is None


def test_the_topic_filter_survives_paging_and_the_tabs(client):
    page = missed_page(client, f"topic={DEADLINES}")
    assert f"{len(MORE_DEADLINES) + 2} messages in {len(MORE_DEADLINES) + 2} groups" in page
    assert topic_options(page)["picked"] == DEADLINES
    following = re.search(r'<a href="([^"]+)">Next ›</a>', page)
    assert following and f"topic={DEADLINES}" in unescape(following.group(1))
    second = missed_page(client, unescape(following.group(1)).partition("?")[2])
    assert "Page 2 of 2" in second and topic_options(second)["picked"] == DEADLINES
    assert set(groups_on(page)) | set(groups_on(second)) == {DEADLINES_FIRST, SHARED, *MORE_DEADLINES}
    tabs = re.search(r'<nav class="tabs".*?</nav>', second, flags=re.S)
    assert tabs and unescape(tabs.group(0)).count(f"topic={DEADLINES}") == 5, "every review tab keeps the topic"


@pytest.mark.parametrize("bogus", ["nonsense", "deadlines", "out_of_scope", "ask_", "ask_deadlines' OR 1=1 --"])
def test_a_topic_not_in_the_knowledge_file_is_ignored(client, bogus):
    """Treated as Any: the same groups and counts, nothing picked in the filter, no error."""
    page = missed_page(client, urlencode({"topic": bogus}))
    summary = re.compile(r'<p class="summary-line">(.*?)</p>')
    assert summary.search(page).group(1) == summary.search(missed_page(client)).group(1)
    assert listed(client, urlencode({"topic": bogus})) == listed(client, "")
    assert topic_options(page)["picked"] == ""


def test_a_group_action_under_a_topic_acts_on_the_questions_listed(console, client):
    """The group's form sends the page's topic: "Dismiss" on a group listed under the deadlines dismisses
    the questions listed there, and leaves the same words offered the cost first open under the cost."""
    group = every_group(client, f"topic={DEADLINES}")[SHARED]
    assert "Assign topic to all 1</button>" in group
    assert f'<input type="hidden" name="topic" value="{DEADLINES}">' in group
    token = csrf_token(client, f"/staff/missed?topic={DEADLINES}")
    form = {"csrf_token": token, "key": [SHARED], "action": "dismissed", "topic": DEADLINES}
    response = client.post("/staff/review/group", data=form, follow_redirects=True)
    assert "Marked 1 message as dismissed." in response.get_data(as_text=True)
    assert SHARED not in queue(console, topic=DEADLINES) and SHARED in queue(
        console, topic=DEADLINES, status="dismissed"
    )
    assert SHARED in queue(console, topic=COST) and SHARED in queue(console)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5])
def test_likely_topics_do_not_depend_on_batch_boundaries(console, batch_size):
    """The question, the fallback reply, the answer and its topic slot may each be read in another batch."""
    before = [queue(console, topic=topic, status="all") for topic in (DEADLINES, COST)]
    assert all(before)
    console.summariser.batch_size = batch_size
    console.summariser.rebuild()
    assert [queue(console, topic=topic, status="all") for topic in (DEADLINES, COST)] == before


def test_the_command_line_filters_the_missed_questions_by_topic(console, settings):
    """``admissions-logs missed --topic deadlines``: what the page's filter lists, with each group's likely topic."""
    code, text = run_cli(settings, "missed", "--topic", "deadlines", "--limit", "100")
    assert code == 0, text
    assert DEADLINES_FIRST in text and COST_FIRST not in text and UNKNOWN not in text
    assert "likely about Application deadlines" in text
    code, text = run_cli(settings, "missed", "--limit", "100")
    assert COST_FIRST in text and UNKNOWN in text
    code, text = run_cli(settings, "missed", "--topic", "parking")
    assert code == 2 and "No topic 'parking'" in text and "deadlines" in text


def test_a_group_action_under_a_date_range_acts_on_the_questions_listed(console, client):
    """The group's form sends the whole filter of the page: "Dismiss" on the last three days' list
    dismisses yesterday's question, not the same words asked ten days ago (listed on no page shown)."""
    since = local_day(NOW - 3 * DAY, console.tz).isoformat()
    group = every_group(client, f"since={since}")[EARLIER_TOO]
    assert "Assign topic to all 1</button>" in group
    form: Dict[str, Any] = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', group))
    assert form.get("since") == since and form.get("status") == "open"
    form.update({"csrf_token": csrf_token(client, f"/staff/missed?since={since}"), "key": [EARLIER_TOO]})
    form["action"] = "dismissed"
    response = client.post("/staff/review/group", data=form, follow_redirects=True)
    assert "Marked 1 message as dismissed." in response.get_data(as_text=True)
    assert EARLIER_TOO in queue(console, status="dismissed")
    assert EARLIER_TOO in queue(console), "the older one stays open"
