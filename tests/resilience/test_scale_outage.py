"""A 30-second database outage mid-traffic: no visitor is told a turn was kept when it was not.

The stack (action server + Rasa, PostgreSQL tracker store in a throw-away database) reaches
PostgreSQL through a TCP proxy this test starts; the outage is the proxy dropping every connection
and refusing new ones for 30 seconds (the shared PostgreSQL server itself is never touched). The
choice documented in README "Beyond one machine": during the outage each turn is refused (the REST
channel answers 503 with a plain reason and no reply, which the widget shows as "not sent" with a
Retry button) and the database is reported unavailable; afterwards conversations carry on with
their context. The same holds when the database fails in the middle of a turn, as the turn's events
are being saved: the reply the bot had ready is withdrawn (REST: 503; socket.io: the reason instead).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Iterator, List, Tuple

import pytest

from bot.stores.health import NOT_SAVED_REASON
from core.database import database_problem
from ops.launcher import Stack, settings_on_free_ports
from tests.support.chat import socketio_exchange, texts
from tests.support.facts import MISM_LENGTH_ANSWER
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

OUTAGE_SECONDS = 30


@pytest.fixture()
def proxied_stack(trained_model, tmp_path, postgres_url) -> Iterator[Tuple[Stack, TcpProxy, str]]:
    proxy = TcpProxy(5432).start()
    name = postgres_url.rsplit("/", 1)[1]
    database_url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{name}"
    stack = Stack(settings_on_free_ports(database_url), model=trained_model, log_dir=tmp_path / "logs")
    try:
        stack.start_actions()
        stack.start_rasa()
        yield stack, proxy, postgres_url
    finally:
        stack.stop()
        proxy.stop()


def stored_user_texts(direct_url: str, sender: str) -> List[str]:
    import psycopg2

    name = direct_url.rsplit("/", 1)[1]
    with psycopg2.connect(f"host=127.0.0.1 user=postgres dbname={name}") as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id", (sender,))
            return [json.loads(row[0])["text"] for row in cursor.fetchall()]


def test_database_outage_refuses_turns_plainly_and_loses_no_answered_turn(proxied_stack):
    stack, proxy, direct_url = proxied_stack
    sender, newcomer = f"outage-{uuid.uuid4().hex[:8]}", f"outage-new-{uuid.uuid4().hex[:8]}"
    answered: List[Tuple[str, str]] = []

    def turn(who: str, text: str) -> list:
        status, replies = post_status(stack, who, text)
        if status == 200:
            answered.append((who, text))
            return replies
        return [(status, replies)]

    assert MISM_LENGTH_ANSWER in texts(turn(sender, "How long is the MISM program?"))

    proxy.cut()
    started = time.monotonic()
    during: List[list] = []
    while time.monotonic() - started < OUTAGE_SECONDS:
        during.append(turn(sender, "is it stem designated?"))
        during.append(turn(newcomer, "hi"))
        assert database_problem(stack.settings.database_url, timeout=2) is not None
        time.sleep(2)
    refused = [(503, {"error": NOT_SAVED_REASON})]
    assert during and all(replies == refused for replies in during), "a turn was answered while it could not be kept"
    proxy.restore()

    # The conversation carries on with what it established before the outage (MISM).
    assert "Application deadlines, MISM" in texts(turn(sender, "and what are its deadlines?"))
    assert "MISM" in texts(turn(newcomer, "hi"))
    assert database_problem(stack.settings.database_url) is None

    for who in (sender, newcomer):
        stored = stored_user_texts(direct_url, who)
        believed = [text for w, text in answered if w == who]
        assert stored == believed, f"{who}: answered {believed} but stored {stored}"


# What SQLAlchemy sends when Rasa's SQL tracker store saves a turn's events: cutting the database
# there means the turn was read and processed, and the bot had its reply ready, but nothing was kept.
SAVE = b"INSERT INTO events"


def post_status(stack: Stack, sender: str, text: str) -> Tuple[int, object]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_turn_whose_save_fails_gets_a_503_and_no_reply(proxied_stack):
    stack, proxy, direct_url = proxied_stack
    sender = f"midturn-{uuid.uuid4().hex[:8]}"
    status, replies = post_status(stack, sender, "How long is the MISM program?")
    assert status == 200 and MISM_LENGTH_ANSWER in texts(replies)

    proxy.cut_on(SAVE)
    status, body = post_status(stack, sender, "what are its deadlines?")
    assert status == 503, f"the visitor was answered ({status}: {body}) although the turn was not saved"
    assert body == {"error": NOT_SAVED_REASON}
    proxy.restore()

    status, replies = post_status(stack, sender, "is it stem designated?")
    assert status == 200 and "STEM" in texts(replies)
    assert stored_user_texts(direct_url, sender) == ["How long is the MISM program?", "is it stem designated?"]


def test_a_socketio_turn_whose_save_fails_gets_the_notice_instead_of_the_reply(proxied_stack):
    stack, proxy, direct_url = proxied_stack
    proxy.cut_on(SAVE)
    sid, replies = socketio_exchange(stack, ("user_uttered", {"message": "How long is the MISM program?"}))
    proxy.restore()
    assert [r.get("text") for r in replies] == [NOT_SAVED_REASON]
    assert stored_user_texts(direct_url, sid) == []
