"""The console's live chat over HTTP: login, CSRF, availability, the queue count, claiming, sending,
handing back, and staff turns in transcripts and exports. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
import time

from console.data.dates import today
from tests.support.console_client import csrf_token
from tests.support.live_chat import poll, queue_request, visitor_says

HOSTILE = "<script>alert('x')</script><b>bold</b> & <img src=x onerror=alert(1)>"


def form(client, path: str, **data):
    """A console form post, with the page's CSRF token as the browser sends it."""
    return client.post(path, data={"csrf_token": csrf_token(client, "/staff/live"), **data})


def make_available(client, name: str):
    return form(client, "/staff/live/availability", display_name=name, available="1")


def queued(live, visitor, sender_id: str = "visitor-a") -> int:
    assert queue_request(visitor, sender_id).status_code == 200
    return live.handoffs.open_for(sender_id).id


def test_live_pages_need_a_login(live_app, live, visitor):
    live.handoffs.set_available("admissions", "Jane", True)
    handoff_id = queued(live, visitor)
    anonymous = live_app.test_client()
    page = anonymous.get("/staff/live")
    assert page.status_code == 302 and page.headers["Location"].startswith("/staff/login")
    assert anonymous.get(f"/staff/live/{handoff_id}").status_code == 302
    assert anonymous.get("/staff/api/live/summary").status_code == 401
    assert anonymous.get(f"/staff/api/live/{handoff_id}/events").status_code == 401
    token = csrf_token(anonymous)
    assert anonymous.post(f"/staff/live/{handoff_id}/claim", data={"csrf_token": token}).status_code == 401
    sent = anonymous.post(f"/staff/api/live/{handoff_id}/messages", json={"text": "hi"}, headers={"X-CSRFToken": token})
    assert sent.status_code == 401
    assert live.handoffs.get(handoff_id).status == "queued"


def test_state_changes_need_the_csrf_token(jane, live, visitor):
    assert jane.post("/staff/live/availability", data={"display_name": "Jane", "available": "1"}).status_code == 400
    assert live.handoffs.available_count() == 0
    assert make_available(jane, "Jane").status_code == 302
    handoff_id = queued(live, visitor)
    assert jane.post(f"/staff/live/{handoff_id}/claim").status_code == 400
    assert live.handoffs.get(handoff_id).status == "queued"
    form(jane, f"/staff/live/{handoff_id}/claim")
    no_header = jane.post(f"/staff/api/live/{handoff_id}/messages", json={"text": "hi"})
    assert no_header.status_code == 400 and "expired" in no_header.json["error"]
    assert [e["kind"] for e in poll(visitor, "visitor-a").json["events"]] == ["joined"]


def test_availability_and_the_queue_count_on_every_page(jane, sam, live, visitor, rasa):
    page = jane.get("/staff/live").get_data(as_text=True)
    assert "You are not available" in page and "Office hours: any time" in page
    assert visitor.get("/handoff/availability").json["available"] is False
    make_available(jane, "Jane from Admissions")
    assert visitor.get("/handoff/availability").json["available"] is True
    assert "You are available" in jane.get("/staff/live").get_data(as_text=True)

    queued(live, visitor, "visitor-a")
    queued(live, visitor, "visitor-b")
    visitor_says(rasa, "visitor-a", "/handoff_accept", time.time() - 5)  # the button, after the question
    for path in ("/staff/", "/staff/missed", "/staff/trends", "/staff/export", "/staff/live"):
        html = sam.get(path).get_data(as_text=True)
        assert re.search(r"Live chat <span[^>]*>\(2\)</span>", html), path
    assert sam.get("/staff/api/live/summary").json == {"queued": 2, "live": 0}
    queue_page = sam.get("/staff/live").get_data(as_text=True)
    assert "Can I talk to a person about MSIT?" in queue_page and "I need a human please" in queue_page
    assert "/handoff_accept" not in queue_page, "the latest visitor message is a real question, not a payload"
    assert queue_page.count(">Claim</button>") == 2

    form(jane, "/staff/live/availability", display_name="Jane", available="0")
    assert visitor.get("/handoff/availability").json["reason"] == "busy"


def test_the_summary_keeps_an_available_staff_member_counted(jane, live, visitor):
    make_available(jane, "Jane")
    live.handoffs.heartbeat("admissions", now=1.0)  # the console was closed long ago
    assert visitor.get("/handoff/availability").json["reason"] == "busy"
    assert jane.get("/staff/api/live/summary").status_code == 200
    assert visitor.get("/handoff/availability").json["reason"] == "open"


def test_claim_send_and_hand_back(jane, sam, live, visitor, rasa):
    make_available(jane, "Jane")
    handoff_id = queued(live, visitor)
    claimed = form(jane, f"/staff/live/{handoff_id}/claim")
    assert claimed.status_code == 302 and claimed.headers["Location"] == f"/staff/live/{handoff_id}"
    assert rasa.slot("visitor-a") == "live"

    # The slower colleague is told who was faster, and nothing changes.
    lost = form(sam, f"/staff/live/{handoff_id}/claim")
    assert lost.headers["Location"] == "/staff/live"
    assert "Already taken by Jane." in sam.get("/staff/live").get_data(as_text=True)
    assert live.handoffs.get(handoff_id).claimed_by == "admissions"

    page = jane.get(f"/staff/live/{handoff_id}").get_data(as_text=True)
    assert "Can I talk to a person about MSIT?" in page and 'id="live-send"' in page
    token = csrf_token(jane, f"/staff/live/{handoff_id}")
    sent = jane.post(f"/staff/api/live/{handoff_id}/messages", json={"text": "Hello!"}, headers={"X-CSRFToken": token})
    assert sent.status_code == 200
    assert form(jane, f"/staff/live/{handoff_id}/send", text="A second reply").status_code == 302
    widget = poll(visitor, "visitor-a").json
    assert [e["text"] for e in widget["events"]][1:] == ["Hello!", "A second reply"]

    turns = jane.get(f"/staff/api/live/{handoff_id}/events?after=0").json
    assert turns["mine"] is True and turns["state"] == "live"
    assert [(t["kind"], t["who"]) for t in turns["turns"]] == [
        ("visitor", "Visitor"),
        ("note", "Jane (staff)"),
        ("staff", "Jane (staff)"),
        ("staff", "Jane (staff)"),
    ]
    assert jane.get(f"/staff/api/live/{handoff_id}/events?after={turns['last_id']}").json["turns"] == []

    handed = form(jane, f"/staff/live/{handoff_id}/end", action="handed_back")
    assert handed.status_code == 302
    assert rasa.slot("visitor-a") is None
    widget = poll(visitor, "visitor-a", after=widget["last_id"]).json
    assert widget["state"] == "none" and [e["kind"] for e in widget["events"]] == ["handed_back"]
    assert "handed the chat back to me" in widget["events"][0]["text"]
    # The chat is over: no more messages from staff.
    late = jane.post(f"/staff/api/live/{handoff_id}/messages", json={"text": "x"}, headers={"X-CSRFToken": token})
    assert late.status_code == 409


def test_only_the_claimer_may_send_hand_back_or_close(jane, sam, live, visitor, rasa):
    make_available(jane, "Jane")
    handoff_id = queued(live, visitor)
    form(jane, f"/staff/live/{handoff_id}/claim")
    page = sam.get(f"/staff/live/{handoff_id}").get_data(as_text=True)
    assert 'id="live-send"' not in page  # nothing to click ...
    # ... and the server refuses what a hand-crafted request would do.
    token = csrf_token(sam, "/staff/live")
    api = sam.post(f"/staff/api/live/{handoff_id}/messages", json={"text": "hijack"}, headers={"X-CSRFToken": token})
    assert api.status_code == 403
    assert form(sam, f"/staff/live/{handoff_id}/send", text="hijack").status_code == 403
    assert form(sam, f"/staff/live/{handoff_id}/end", action="closed").status_code == 403
    assert form(sam, f"/staff/live/{handoff_id}/end", action="handed_back").status_code == 403
    assert sam.get(f"/staff/api/live/{handoff_id}/events").json["mine"] is False
    assert live.handoffs.get(handoff_id).status == "live"
    assert "hijack" not in str(rasa.received)
    assert form(jane, f"/staff/live/{handoff_id}/end", action="closed").status_code == 302
    assert live.handoffs.get(handoff_id).closed_reason == "closed"
    assert jane.get("/staff/live/999999").status_code == 404


def test_html_in_a_staff_message_stays_inert(jane, live, visitor):
    make_available(jane, "<i>Jane</i>")
    handoff_id = queued(live, visitor)
    form(jane, f"/staff/live/{handoff_id}/claim")
    form(jane, f"/staff/live/{handoff_id}/send", text=HOSTILE)
    for page in (jane.get(f"/staff/live/{handoff_id}"), jane.get("/staff/conversations/visitor-a")):
        html = page.get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html and "<i>Jane" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
        assert "&lt;i&gt;Jane&lt;/i&gt; (staff)" in html
    # JSON carries the text as text (live.js sets it as textContent).
    turns = jane.get(f"/staff/api/live/{handoff_id}/events").json["turns"]
    assert turns[-1]["text"] == HOSTILE
    assert "script-src 'self'" in jane.get("/staff/live").headers["Content-Security-Policy"]
    empty = form(jane, f"/staff/live/{handoff_id}/send", text="   ")
    assert empty.status_code == 302 and len(poll(visitor, "visitor-a").json["events"]) == 2


def test_transcript_and_export_mark_staff_turns(jane, live, visitor, live_app):
    make_available(jane, "Jane")
    handoff_id = queued(live, visitor)
    form(jane, f"/staff/live/{handoff_id}/claim")
    form(jane, f"/staff/live/{handoff_id}/send", text="Our deadline is in January.")
    transcript = jane.get("/staff/conversations/visitor-a").get_data(as_text=True)
    assert "Jane (staff)" in transcript and "live chat: joined" in transcript
    day = today(live_app.extensions["staff_console"].tz).isoformat()
    export = jane.get(f"/staff/export/download?kind=messages&format=csv&since={day}").get_data(as_text=True)
    rows = [row for row in csv.DictReader(io.StringIO(export)) if row["conversation_id"] == "visitor-a"]
    assert [(r["speaker"], r["staff"], r["action"]) for r in rows] == [
        ("visitor", "", ""),
        ("staff", "Jane", "joined"),
        ("staff", "Jane", "message"),
    ]
    assert rows[-1]["text"] == "Our deadline is in January."


def test_a_rasa_failure_is_shown_to_staff(jane, live, visitor, rasa):
    make_available(jane, "Jane")
    handoff_id = queued(live, visitor)
    rasa.fail_with = 500
    form(jane, f"/staff/live/{handoff_id}/claim")
    assert "Not claimed: The assistant&#39;s server answered 500" in jane.get("/staff/live").get_data(as_text=True)
    assert live.handoffs.get(handoff_id).status == "queued"
    rasa.fail_with = None
    form(jane, f"/staff/live/{handoff_id}/claim")
    rasa.fail_with = 500
    token = csrf_token(jane, "/staff/live")
    sent = jane.post(f"/staff/api/live/{handoff_id}/messages", json={"text": "hi"}, headers={"X-CSRFToken": token})
    assert sent.status_code == 502 and "did not store" in sent.json["error"]
    form(jane, f"/staff/live/{handoff_id}/end", action="closed")
    assert live.handoffs.get(handoff_id).status == "live"


def test_polling_does_not_keep_an_idle_console_logged_in(jane, live_app):
    import sqlalchemy as sa

    from console.data.database import sessions

    store = live_app.extensions["staff_console"].store
    idle_since = time.time() - 300  # the console tab has been left alone for five minutes
    with store.session_scope() as connection:
        connection.execute(sa.update(sessions).values(last_seen=idle_since))
    assert jane.get("/staff/api/live/summary").status_code == 200
    assert store.rows(sa.select(sessions.c.last_seen))[0]["last_seen"] == idle_since
    assert jane.get("/staff/live").status_code == 200  # a page view is use: it counts
    assert store.rows(sa.select(sessions.c.last_seen))[0]["last_seen"] > idle_since


def test_every_console_page_warns_while_the_assistant_is_degraded(jane, tmp_path, monkeypatch):
    """The launcher's status file says the action server is restarting: staff see why visitors get
    apologies, on every page, and the banner goes once the server runs again."""
    import json

    status = tmp_path / "status.json"
    monkeypatch.setenv("STACK_STATUS_FILE", str(status))
    status.write_text(json.dumps({"stack": "degraded", "children": {"actions": {"state": "restarting"}}}))
    for path in ("/staff/", "/staff/live", "/staff/trends"):
        page = jane.get(path).get_data(as_text=True)
        assert "The assistant is degraded: the action server is restarting" in page, path
    status.write_text(json.dumps({"stack": "ok", "children": {"actions": {"state": "running"}}}))
    assert "The assistant is degraded" not in jane.get("/staff/").get_data(as_text=True)
