"""The production configuration on the real services: PostgreSQL tracker store + Redis lock store.

Runs the same stack as ``make run`` with ``DATABASE_URL`` pointing at a fresh PostgreSQL database
on 127.0.0.1:5432 and ``REDIS_URL`` at the local Redis. Locally it skips (with the reason) when a
server is unreachable; in CI it must run.
"""

from __future__ import annotations

import json
import urllib.error
import uuid

import pytest

from channels.limits import MAX_SENDER_CHARS
from core.settings import Settings
from tests.test_end_to_end import say, texts
from webapp.launcher import Stack, lock_store_config, render_endpoints, settings_on_free_ports, tracker_store_config

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_database_url_becomes_rasa_tracker_store_settings(tmp_path):
    assert tracker_store_config("postgresql://bot:s3cret@db.internal:6543/heinz") == {
        "type": "deploy.tracker_store.GuardedSQLTrackerStore",
        "dialect": "postgresql",
        "url": "db.internal",
        "db": "heinz",
        "username": "bot",
        "port": 6543,
        "password": "${DB_PASSWORD}",
    }
    assert lock_store_config("redis://:pw@cache:6380/2") == {
        "type": "deploy.lock_store.SafeRedisLockStore",
        "url": "cache",
        "port": 6380,
        "db": 2,
        "password": "${REDIS_PASSWORD}",
    }
    settings = Settings(database_url="postgresql://bot:s3cret@db.internal/heinz", redis_url="redis://cache")
    written = render_endpoints(settings, tmp_path / "endpoints.yml").read_text()
    assert "s3cret" not in written and "lock_store" in written


def lock_commands(client) -> int:
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("set", "del", "get"))


def test_conversation_is_stored_in_postgresql_with_redis_locks(trained_model, tmp_path, postgres_url, redis_client):
    import psycopg2

    settings = settings_on_free_ports(postgres_url, redis_url="redis://127.0.0.1:6379/0")
    stack = Stack(settings, model=trained_model, log_dir=tmp_path / "logs")
    before = lock_commands(redis_client)
    try:
        stack.start_actions()
        stack.start_rasa()
        sender = f"pg-{uuid.uuid4()}"
        assert "16-month Traditional Track" in texts(say(stack, sender, "How long is the MISM program?"))
        assert "Application deadlines, MISM" in texts(say(stack, sender, "and the deadlines?"))
        # PostgreSQL's sender_id column holds 255 characters: a longer id used to get a reply that
        # was never stored. The edge refuses it now; the longest id it accepts is stored.
        with pytest.raises(urllib.error.HTTPError) as refused:
            say(stack, "x" * 300, "How long is the MISM program?")
        assert refused.value.code == 400
        longest = "l" * MAX_SENDER_CHARS
        assert "16-month Traditional Track" in texts(say(stack, longest, "How long is the MISM program?"))
    finally:
        stack.stop()
    assert lock_commands(redis_client) > before, "the Redis lock store was not used"
    with psycopg2.connect(postgres_url) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id", (sender,))
            stored = [json.loads(row[0])["text"] for row in cursor.fetchall()]
    assert stored == ["How long is the MISM program?", "and the deadlines?"]
    with psycopg2.connect(postgres_url) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM events WHERE sender_id = %s AND type_name = 'user'", (longest,))
            assert cursor.fetchone()[0] == 1
            cursor.execute("SELECT COUNT(*) FROM events WHERE sender_id LIKE 'xxxxxxxxxx%%'")
            assert cursor.fetchone()[0] == 0
