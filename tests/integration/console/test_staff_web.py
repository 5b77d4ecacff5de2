"""The console over HTTP: login, CSRF, rate limit, escaping, masking and streamed exports."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
import yaml
from flask import session

from console.auth.accounts import ensure_local_user
from console.config import load_config
from console.data.dates import local_day
from tests.support.console_client import STAFF_PASSWORD, csrf_token, log_in
from tests.support.console_events import DAY, INJECTION_TEXT, NOW

EXPORT = "/staff/export/download?kind={kind}&format={fmt}&since={since}"


def staff_routes(app):
    """Every console URL with sample arguments, and the methods it accepts."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff") or rule.endpoint in ("staff.auth.login", "staff.static"):
            continue
        path = re.sub(r"<[^>]+>", "visitor-missed", re.sub(r"<int:[^>]+>", "1", rule.rule))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


def test_every_route_refuses_anonymous_visitors(app):
    client = app.test_client()
    routes = list(staff_routes(app))
    assert len(routes) >= 14
    for method, path in routes:
        data = {"csrf_token": csrf_token(client)} if method == "POST" else None
        response = client.open(path, method=method, data=data)
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/staff/login"), (method, path)
        else:
            assert response.status_code in (401, 403), (method, path, response.status_code)
        assert b"PhD" not in response.data and b"tuition" not in response.data, (method, path)


def test_json_endpoints_answer_401(app):
    response = app.test_client().get("/staff/api/conversations")
    assert response.status_code == 401 and response.json == {"error": "login required"}


def test_login_sets_safe_cookie_and_logout_ends_session(app):
    client = app.test_client()
    response = log_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/staff/").status_code == 200
    logout = client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    assert logout.status_code == 302
    assert client.get("/staff/").status_code == 302


def test_wrong_password_is_refused(app):
    client = app.test_client()
    response = log_in(client, password="wrong password")
    assert response.status_code == 401 and b"Wrong user name or password" in response.data
    assert client.get("/staff/").status_code == 302


def test_login_rate_limit(app):
    client = app.test_client()
    for _ in range(5):
        assert log_in(client, password="guess").status_code == 401
    # Even the right password is refused while locked out...
    assert log_in(client).status_code == 429
    # ...but only for this user name and address.
    other = app.test_client()
    assert log_in(other, environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 302


def test_post_without_csrf_token_is_refused(client, app):
    response = client.post("/staff/review/conversation", data={"sender_id": "visitor-missed", "status": "reviewed"})
    assert response.status_code == 400 and b"expired" in response.data
    response = client.post(
        "/staff/review/message", data={"event_id": "1", "action": "dismissed", "csrf_token": "forged"}
    )
    assert response.status_code == 400
    anonymous = app.test_client()
    response = anonymous.post("/staff/login", data={"username": "admissions", "password": STAFF_PASSWORD})
    assert response.status_code == 400
    assert client.get("/staff/conversations/visitor-missed").data.count(b"badge-reviewed") == 0
    # Nothing was written by the refused posts.
    staff_console = app.extensions["staff_console"]
    assert staff_console.conversation_queries.conversation("visitor-missed")["review_status"] is None
    with staff_console.store.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM staff_message_reviews")).scalar() == 0


def test_open_redirect_is_refused(app):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/staff/login",
        data={
            "username": "admissions",
            "password": STAFF_PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
    )
    assert response.headers["Location"] == "/staff/"


def test_conversation_list_and_filters(client):
    page = client.get("/staff/").get_data(as_text=True)
    assert "6 conversations" in page and "When is the application deadline?" in page
    missed = client.get("/staff/?missed=1").get_data(as_text=True)
    assert "2 conversations match" in missed and "visitor-missed" in missed and "visitor-msit-buttons" not in missed
    search = client.get("/staff/", query_string={"q": INJECTION_TEXT})
    assert search.status_code == 200
    text = search.get_data(as_text=True)
    assert "1 conversation matches" in text and "visitor-injection" in text and "visitor-missed" not in text


def test_transcript_escapes_html_and_shows_predictions(client):
    page = client.get("/staff/conversations/visitor-missed").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "Missed: out of scope" in page and "Missed: fallback" in page and "Missed: low confidence" in page
    assert "nlu_fallback" in page and "0.30" in page and "action_fallback" in page
    assert "jane.doe@example.com" not in page and "[email hidden]" in page and "[phone hidden]" in page
    buttons = client.get("/staff/conversations/visitor-msit-buttons").get_data(as_text=True)
    assert "Clicked “MSIT”" in buttons and 'class="clicked"' in buttons and "program=msit" in buttons


def test_unknown_conversation_is_404(client):
    assert client.get("/staff/conversations/nobody").status_code == 404
    assert client.get("/staff/api/conversations/nobody").status_code == 404


def test_review_and_assign_from_the_transcript(client, app):
    staff_console = app.extensions["staff_console"]
    client.get("/staff/")  # the first page view reads the new events
    event_id = next(
        m["event_id"]
        for m in (
            staff_console.conversation_queries.message(e)
            for e, _ in staff_console.missed_queries.missed_event_ids(["do you offer a phd in basket weaving"])
        )
    )
    token = csrf_token(client, "/staff/")
    response = client.post(
        "/staff/review/message",
        data={"csrf_token": token, "event_id": event_id, "action": "assigned", "intent": "out_of_scope"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#e{event_id}")
    page = client.get("/staff/conversations/visitor-missed").get_data(as_text=True)
    assert "Topic assigned: None of these / out of scope" in page
    choices = re.findall(r'<option value="(?:ask_\w+|out_of_scope)"[^>]*>([^<]+)</option>', page)
    assert "Tuition and cost" in choices and "None of these / out of scope" in choices, choices
    assert not [c for c in choices if "_" in c], "staff pick topics by label, never by intent name"
    bad = client.post(
        "/staff/review/message",
        data={"csrf_token": token, "event_id": event_id, "action": "assigned", "intent": "1; DROP TABLE"},
    )
    assert bad.status_code == 302
    made_up = client.post(
        "/staff/review/message",
        data={"csrf_token": token, "event_id": event_id, "action": "assigned", "intent": "ask_made_up"},
    )
    assert "Pick the topic from the list" in client.get(made_up.headers["Location"]).get_data(as_text=True)
    nlu = client.get("/staff/export/nlu.yml")
    assert nlu.headers["Content-Disposition"].startswith("attachment")
    parsed = yaml.safe_load(nlu.get_data(as_text=True))
    assert parsed["nlu"] == [{"intent": "out_of_scope", "examples": "- Do you offer a PhD in basket weaving?\n"}]
    client.post(
        "/staff/review/conversation",
        data={"csrf_token": token, "sender_id": "visitor-missed", "status": "follow_up", "note": "Call back"},
    )
    assert "visitor-missed" in client.get("/staff/?status=follow_up").get_data(as_text=True)


def test_missed_page_groups_and_bulk_review(client):
    page = client.get("/staff/missed").get_data(as_text=True)
    assert "5 messages in 3 groups" in page and "3×" in page
    token = csrf_token(client, "/staff/missed")
    response = client.post(
        "/staff/review/group",
        data={"csrf_token": token, "key": ["whats the tuition"], "action": "dismissed", "next": "/staff/missed"},
    )
    assert response.status_code == 302
    page = client.get("/staff/missed").get_data(as_text=True)
    assert "2 messages in 2 groups" in page and "Marked 3 messages as dismissed." in page
    assert "3 messages in 1 group" in client.get("/staff/missed?status=dismissed").get_data(as_text=True)


def test_trends_page_has_accessible_charts(client):
    page = client.get("/staff/trends?days=7").get_data(as_text=True)
    assert page.count('role="img"') == 8  # 5 + answer types, containment, feedback
    assert '<title id="chart-missed-title">Share of messages missed</title>' in page
    assert "<table>" in page and "Program interest" in page
    assert '<th scope="col">MISM</th>' in page and '<th scope="col">MSIT</th>' in page


def test_trends_page_lists_the_facts_to_check_again(client, monkeypatch):
    """The same list as `admissions-logs knowledge --stale`, on the day the office clock says."""
    import datetime
    import html

    from core.knowledge import load_knowledge
    from core.timeline import stale_facts

    day = datetime.date(2027, 9, 30)
    monkeypatch.setenv("ASSISTANT_TODAY", day.isoformat())
    monkeypatch.setenv("STALE_AFTER_DAYS", "120")
    page = html.unescape(client.get("/staff/trends").get_data(as_text=True))
    expected = stale_facts(load_knowledge(), day, 120)
    assert expected, "by then some facts are stale"
    assert f"Stale facts ({len(expected)})" in page and "September 30, 2027" in page
    for item in expected:
        assert f"<code>{item.where}</code>" in page and f'href="{item.source}"' in page
        assert "; ".join(item.reasons) in page
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-11-27")
    monkeypatch.setenv("STALE_AFTER_DAYS", "100000")
    page = client.get("/staff/trends").get_data(as_text=True)
    fresh = stale_facts(load_knowledge(), datetime.date(2026, 11, 27), 100000)
    assert f"Stale facts ({len(fresh)})" in page


def test_export_is_streamed_and_masked(app, client):
    since = local_day(NOW - 30 * DAY, app.extensions["staff_console"].tz).isoformat()
    url = EXPORT.format(kind="messages", fmt="csv", since=since)
    with app.test_request_context(url):
        session["staff_session"] = app.extensions["staff_console"].auth.start_session("admissions")
        response = app.full_dispatch_request()
        assert response.is_streamed and not isinstance(response.response, (list, tuple))
        chunks = list(response.response)
    body = "".join(c.decode() if isinstance(c, bytes) else c for c in chunks)
    assert body.startswith("conversation_id,") and "[email hidden]" in body and "jane.doe" not in body
    download = client.get(url)
    assert download.headers["Content-Disposition"].startswith('attachment; filename="heinz-assistant-messages-')
    assert download.mimetype == "text/csv"
    jsonl = client.get(EXPORT.format(kind="conversations", fmt="jsonl", since=since))
    assert len(jsonl.get_data(as_text=True).splitlines()) == 5
    assert client.get("/staff/export/download?kind=everything&format=csv&since=x").status_code == 302


def test_api_endpoints(client):
    listing = client.get("/staff/api/conversations?missed=1").json
    assert [c["id"] for c in listing["conversations"]] == ["visitor-missed", "visitor-tuition-2"]
    transcript = client.get("/staff/api/conversations/visitor-missed").json
    assert any(t["missed"] == "fallback" for t in transcript["turns"])
    assert "jane.doe" not in str(transcript)
    stats = client.get("/staff/api/stats").json
    assert stats["totals"]["conversations"] == 6


def test_security_headers(client):
    response = client.get("/staff/")
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("configured", [False, True])
def test_ensure_local_user(settings, monkeypatch, configured):
    for name in ("STAFF_USER", "STAFF_PASSWORD", "STAFF_PASSWORD_HASH"):
        monkeypatch.delenv(name, raising=False)
    if configured:
        monkeypatch.setenv("STAFF_USER", "dean")
        monkeypatch.setenv("STAFF_PASSWORD_HASH", "scrypt:dummy")
        assert ensure_local_user(settings) == ("dean", None)
        return
    user, password = ensure_local_user(settings)
    assert user == "staff" and password and len(password) >= 12
    assert ensure_local_user(settings) == ("staff", None)
    from console.console import Console

    staff_console = Console(settings, load_config())
    try:
        assert staff_console.auth.check("staff", password)
        assert not staff_console.auth.check("staff", "nope")
        from sqlalchemy import text

        with staff_console.store.connect() as connection:
            stored = connection.execute(text("SELECT password_hash FROM staff_users")).scalar()
        assert password not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    finally:
        staff_console.close()


def test_assigned_questions_are_training_examples_with_who_and_when(client, app, settings):
    from console import cli

    staff_console = app.extensions["staff_console"]
    client.get("/staff/")
    [(event_id, _)] = staff_console.missed_queries.missed_event_ids(["do you offer a phd in basket weaving"])
    token = csrf_token(client, "/staff/")
    form = {"csrf_token": token, "event_id": event_id, "action": "assigned", "intent": "out_of_scope"}
    assert client.post("/staff/review/message", data=form).status_code == 302
    [example] = staff_console.reviews.examples()
    assert (example["text"], example["intent"], example["added_by"]) == (
        "Do you offer a PhD in basket weaving?",
        "out_of_scope",
        "admissions",
    )
    out = io.StringIO()
    assert cli.main(["--database-url", settings.database_url, "training", "export"], out=out) == 0
    assert yaml.safe_load(out.getvalue())["nlu"] == [
        {"intent": "out_of_scope", "examples": "- Do you offer a PhD in basket weaving?\n"}
    ]
    out = io.StringIO()
    cli.main(["--database-url", settings.database_url, "training", "list"], out=out)
    assert out.getvalue().split("\t")[1:] == ["admissions", "out_of_scope", "Do you offer a PhD in basket weaving?\n"]
    # Reopening the question withdraws the example.
    form["action"] = "open"
    client.post("/staff/review/message", data=form)
    assert staff_console.reviews.examples() == []
