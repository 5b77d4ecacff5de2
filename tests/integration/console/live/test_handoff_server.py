"""The live hand-off's server side: the workflow table, the widget's and the action server's endpoints,
and what reaches the conversation through Rasa's API. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from console.data.retention import purge
from console.live.handoffs import HEARTBEAT_SECONDS, Handoffs, KeyMismatch
from console.live.rasa_api import RasaError
from core.handoff import key_hash
from tests.support.live_chat import OTHER_SECRET, SECRET, poll, queue_request


# -- the workflow table ---------------------------------------------------------------------------
def claim_at_once(handoffs: Handoffs, handoff_id: int, users: tuple) -> dict:
    """Each user claims ``handoff_id`` in their own thread (own connection), released together."""
    barrier = threading.Barrier(len(users))
    results = {}

    def claim(user: str) -> None:
        barrier.wait()
        results[user] = handoffs.claim(handoff_id, user, user.title())

    threads = [threading.Thread(target=claim, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_staff_claiming_at_once_exactly_one_wins(live):
    handoffs = Handoffs(live.store)
    for round_number in range(6):
        handoff = handoffs.queue(f"race-{round_number}", key_hash(SECRET), None)
        results = claim_at_once(handoffs, handoff.id, ("jane", "sam"))
        assert sorted(results.values()) == [False, True], results
        winner = next(user for user, won in results.items() if won)
        row = handoffs.get(handoff.id)
        assert row is not None and row.status == "live" and row.claimed_by == winner


def test_queue_is_idempotent_per_open_handoff_and_refuses_another_key(live):
    handoffs = Handoffs(live.store)
    first = handoffs.queue("visitor-a", key_hash(SECRET), "msit")
    again = handoffs.queue("visitor-a", key_hash(SECRET), "msit")
    assert again.id == first.id
    with pytest.raises(KeyMismatch):
        handoffs.queue("visitor-a", key_hash(OTHER_SECRET), "msit")
    assert handoffs.close(first.id, "closed")
    # Once it ended, the conversation may ask again (a new hand-off, e.g. from a new browser tab).
    later = handoffs.queue("visitor-a", key_hash(OTHER_SECRET), None)
    assert later.id != first.id and later.status == "queued"


def test_parallel_queue_requests_make_one_handoff(live):
    handoffs = Handoffs(live.store)
    barrier = threading.Barrier(4)
    ids = []

    def queue() -> None:
        barrier.wait()
        ids.append(handoffs.queue("visitor-b", key_hash(SECRET), None).id)

    threads = [threading.Thread(target=queue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(ids) == 4 and len(set(ids)) == 1
    assert handoffs.queue_counts() == {"queued": 1, "live": 0}


def test_retention_purges_old_closed_handoffs_with_their_conversations(live):
    handoffs = Handoffs(live.store)
    old = handoffs.queue("visitor-a", key_hash(SECRET), None, now=time.time() - 400 * 86400)
    handoffs.close(old.id, "closed", now=time.time() - 399 * 86400)
    recent = handoffs.queue("visitor-b", key_hash(SECRET), None)
    purge(live.store, 365)
    assert handoffs.get(old.id) is None
    assert handoffs.get(recent.id) is not None


# -- availability --------------------------------------------------------------------------------
def test_availability_needs_office_hours_and_someone_available(live, visitor):
    answer = visitor.get("/handoff/availability")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.json == {"available": False, "reason": "busy", "hours": "any time"}
    assert queue_request(visitor, "visitor-a").status_code == 409

    live.handoffs.set_available("admissions", "Jane", True)
    assert visitor.get("/handoff/availability").json["available"] is True

    # A console closed two minutes ago stops counting, even though the toggle says available.
    live.handoffs.set_available("admissions", "Jane", True, now=time.time() - HEARTBEAT_SECONDS - 30)
    assert visitor.get("/handoff/availability").json["reason"] == "busy"
    live.handoffs.heartbeat("admissions")
    assert visitor.get("/handoff/availability").json["reason"] == "open"

    live.handoffs.set_available("admissions", "Jane", False)
    assert visitor.get("/handoff/availability").json["reason"] == "busy"


def test_outside_office_hours_live_chat_is_not_offered(live, visitor):
    live.handoffs.set_available("admissions", "Jane", True)
    today = datetime.now(ZoneInfo("America/New_York")).strftime("%a")
    other_day = "Sun" if today != "Sun" else "Mon"
    live.office_hours_text = f"{other_day} 09:00-17:00"
    answer = visitor.get("/handoff/availability").json
    assert answer == {"available": False, "reason": "closed", "hours": f"{other_day} 09:00-17:00"}
    response = queue_request(visitor, "visitor-a")
    assert response.status_code == 409 and response.json == {"error": "unavailable", "reason": "closed"}
    live.office_hours_text = "every day, all day"  # unreadable: never open, never an error page
    assert visitor.get("/handoff/availability").json["reason"] == "closed"


# -- the internal queue endpoint ---------------------------------------------------------------
def test_queue_endpoint_needs_the_internal_token(live, visitor):
    live.handoffs.set_available("admissions", "Jane", True)
    assert queue_request(visitor, "visitor-a", token="").status_code == 401
    assert queue_request(visitor, "visitor-a", token="wrong-token").status_code == 401
    assert live.handoffs.open_for("visitor-a") is None
    response = queue_request(visitor, "visitor-a")
    assert response.status_code == 200 and response.json == {"status": "queued", "position": 1}
    assert queue_request(visitor, "visitor-b").json == {"status": "queued", "position": 2}
    # The action retried: the same hand-off, the same place.
    assert queue_request(visitor, "visitor-a").json == {"status": "queued", "position": 1}
    assert queue_request(visitor, "visitor-a", secret=OTHER_SECRET).status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"sender_id": "", "key_hash": key_hash(SECRET)},
        {"sender_id": "x" * 300, "key_hash": key_hash(SECRET)},
        {"sender_id": "nul\x00id", "key_hash": key_hash(SECRET)},
        {"sender_id": "visitor-a", "key_hash": "not-a-hash"},
        {"sender_id": "visitor-a", "key_hash": key_hash(SECRET), "program": "<b>" * 40},
        {"sender_id": ["visitor-a"], "key_hash": key_hash(SECRET)},
    ],
)
def test_queue_endpoint_refuses_bad_input(live, visitor, body):
    from tests.support.live_chat import HANDOFF_TOKEN

    live.handoffs.set_available("admissions", "Jane", True)
    response = visitor.post("/handoff/queue", json=body, headers={"X-Handoff-Token": HANDOFF_TOKEN})
    assert response.status_code == 400
    not_json = visitor.post("/handoff/queue", data="sender_id=x", headers={"X-Handoff-Token": HANDOFF_TOKEN})
    assert not_json.status_code == 400
    assert live.handoffs.queue_counts() == {"queued": 0, "live": 0}


# -- the widget's endpoints ----------------------------------------------------------------------
def test_visitor_reads_only_their_own_handoff_with_the_secret(live, visitor, rasa):
    live.handoffs.set_available("admissions", "Jane", True)
    queue_request(visitor, "visitor-a", secret=SECRET)
    queue_request(visitor, "visitor-b", secret=OTHER_SECRET)

    refused = [
        poll(visitor, "visitor-a", secret=None),
        poll(visitor, "visitor-a", secret="wrong"),
        poll(visitor, "visitor-a", secret=OTHER_SECRET),  # the other visitor's secret
        poll(visitor, "visitor-nobody", secret=SECRET),  # no such conversation: the same answer
        poll(visitor, "x" * 400, secret=SECRET),
    ]
    assert {r.status_code for r in refused} == {403}
    assert {r.get_data(as_text=True) for r in refused} == {refused[0].get_data(as_text=True)}

    waiting = poll(visitor, "visitor-a")
    assert waiting.status_code == 200 and waiting.headers["Cache-Control"] == "no-store"
    assert waiting.json == {"state": "queued", "staff": None, "events": [], "last_id": 0}

    a = live.handoffs.open_for("visitor-a")
    b = live.handoffs.open_for("visitor-b")
    live.claim(a.id, "admissions", "Jane")
    live.send(a.id, "admissions", "Hi, I'm Jane. How can I help?")
    live.claim(b.id, "sam", "Sam")
    live.send(b.id, "sam", "Message for the other visitor")

    answer = poll(visitor, "visitor-a").json
    assert answer["state"] == "live" and answer["staff"] == "Jane"
    assert [(e["kind"], e["staff"]) for e in answer["events"]] == [("joined", "Jane"), ("message", "Jane")]
    assert answer["events"][0]["text"] == "Jane from Heinz College Admissions has joined the chat."
    assert answer["events"][1]["text"] == "Hi, I'm Jane. How can I help?"
    assert answer["last_id"] == answer["events"][-1]["id"]
    assert "other visitor" not in str(answer)
    # Polling on from the last id returns only what is new.
    assert poll(visitor, "visitor-a", after=answer["last_id"]).json["events"] == []
    live.send(a.id, "admissions", "Still there?")
    newer = poll(visitor, "visitor-a", after=answer["last_id"]).json["events"]
    assert [e["text"] for e in newer] == ["Still there?"]
    assert rasa.slot("visitor-a") == "live"
    assert poll(visitor, "visitor-a", after=-5).status_code == 200
    assert poll(visitor, "visitor-a").status_code == 200
    assert visitor.get("/handoff/visitor-a/events?after=abc", headers={"X-Handoff-Secret": SECRET}).status_code == 400


def test_an_earlier_handoffs_messages_are_not_shown_again(live, visitor):
    live.handoffs.set_available("admissions", "Jane", True)
    queue_request(visitor, "visitor-a", secret=SECRET)
    first = live.handoffs.open_for("visitor-a")
    live.claim(first.id, "admissions", "Jane")
    live.send(first.id, "admissions", "From the first chat")
    live.end_by_staff(first.id, "admissions", "handed_back")
    queue_request(visitor, "visitor-a", secret=OTHER_SECRET)  # later, from a new tab
    assert poll(visitor, "visitor-a", secret=SECRET).status_code == 403
    answer = poll(visitor, "visitor-a", secret=OTHER_SECRET).json
    assert answer == {"state": "queued", "staff": None, "events": [], "last_id": 0}


def test_visitor_ends_the_chat(live, visitor, rasa):
    live.handoffs.set_available("admissions", "Jane", True)
    queue_request(visitor, "visitor-a")
    handoff = live.handoffs.open_for("visitor-a")
    live.claim(handoff.id, "admissions", "Jane")
    assert visitor.post("/handoff/visitor-a/end", headers={"X-Handoff-Secret": OTHER_SECRET}).status_code == 403
    assert live.handoffs.get(handoff.id).status == "live"
    ended = visitor.post("/handoff/visitor-a/end", headers={"X-Handoff-Secret": SECRET})
    assert ended.status_code == 200 and ended.json == {"state": "none"}
    row = live.handoffs.get(handoff.id)
    assert row.status == "closed" and row.closed_reason == "ended_by_visitor"
    assert rasa.slot("visitor-a") is None
    answer = poll(visitor, "visitor-a").json
    assert answer["state"] == "none" and answer["events"][-1]["kind"] == "ended_by_visitor"
    # Ending twice is harmless.
    assert visitor.post("/handoff/visitor-a/end", headers={"X-Handoff-Secret": SECRET}).json == {"state": "none"}


def test_a_queued_visitor_nobody_claims_is_told_and_released(live, visitor, rasa):
    handoff = live.handoffs.queue("visitor-a", key_hash(SECRET), None, now=time.time() - 11 * 60)
    answer = poll(visitor, "visitor-a").json
    assert answer["state"] == "none"
    assert [e["kind"] for e in answer["events"]] == ["expired"]
    assert "no admissions officer could join" in answer["events"][0]["text"]
    assert live.handoffs.get(handoff.id).closed_reason == "expired"
    assert rasa.slot("visitor-a") is None


def test_rasa_failing_leaves_the_handoff_as_it_was(live, visitor, rasa):
    live.handoffs.set_available("admissions", "Jane", True)
    queue_request(visitor, "visitor-a")
    handoff = live.handoffs.open_for("visitor-a")
    rasa.fail_with = 500
    with pytest.raises(RasaError, match="answered 500"):
        live.claim(handoff.id, "admissions", "Jane")
    assert live.handoffs.get(handoff.id).status == "queued"
    rasa.fail_with = None
    live.claim(handoff.id, "admissions", "Jane")
    rasa.fail_with = 500
    ended = visitor.post("/handoff/visitor-a/end", headers={"X-Handoff-Secret": SECRET})
    assert ended.status_code == 503 and "did not store" in ended.json["reason"]
    assert live.handoffs.get(handoff.id).status == "live"
    rasa.fail_with = None
    live.rasa.token = "not-rasas-token"
    with pytest.raises(RasaError, match="RASA_TOKEN"):
        live.send(handoff.id, "admissions", "hello")


def test_each_child_gets_only_the_tokens_it_uses(monkeypatch, tmp_path):
    from ops.launcher import Stack, settings_on_free_ports

    monkeypatch.setenv("RASA_TOKEN", "rasa-secret")
    for name in ("HANDOFF_TOKEN", "HANDOFF_URL", "RASA_INTERNAL_URL"):
        monkeypatch.delenv(name, raising=False)
    stack = Stack(settings_on_free_ports(f"sqlite:///{tmp_path / 'c.db'}"), log_dir=tmp_path)
    rasa, web, actions = stack._env("rasa"), stack._env("web"), stack._env("actions")
    assert len(stack.handoff_token) >= 32  # generated when unset
    assert rasa["RASA_TOKEN"] == web["RASA_TOKEN"] == "rasa-secret" and "RASA_TOKEN" not in actions
    assert web["HANDOFF_TOKEN"] == actions["HANDOFF_TOKEN"] == stack.handoff_token and "HANDOFF_TOKEN" not in rasa
    assert actions["HANDOFF_URL"] == f"http://127.0.0.1:{stack.settings.web_port}"
    assert web["RASA_INTERNAL_URL"] == f"http://127.0.0.1:{stack.settings.rasa_port}"
