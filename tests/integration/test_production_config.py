"""The production configuration on the real services: PostgreSQL tracker store + Redis lock store.

Runs the same stack as ``make run`` with ``DATABASE_URL`` pointing at a fresh PostgreSQL database
on 127.0.0.1:5432 and ``REDIS_URL`` at the local Redis. Locally it skips (with the reason) when a
server is unreachable; in CI it must run.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.error
import uuid

import pytest

from bot.__main__ import TRACKER_STORE
from bot.channels.limits import MAX_SENDER_CHARS
from core.settings import PROJECT_ROOT, Settings
from ops.launcher import Stack, lock_store_config, render_endpoints, settings_on_free_ports, tracker_store_config
from tests.support.chat import say, texts
from tests.support.facts import MISM_LENGTH_ANSWER

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_database_url_becomes_rasa_tracker_store_settings(tmp_path):
    assert tracker_store_config("postgresql://bot:s3cret@db.internal:6543/heinz") == {
        "type": "bot.stores.tracker_store.GuardedSQLTrackerStore",
        "dialect": "postgresql",
        "url": "db.internal",
        "db": "heinz",
        "username": "bot",
        "port": 6543,
        "password": "${DB_PASSWORD}",
    }
    assert lock_store_config("redis://:pw@cache:6380/2") == {
        "type": "bot.stores.lock_store.SafeRedisLockStore",
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
        assert MISM_LENGTH_ANSWER in texts(say(stack, sender, "How long is the MISM program?"))
        assert "Application deadlines, MISM" in texts(say(stack, sender, "and the deadlines?"))
        # PostgreSQL's sender_id column holds 255 characters: a longer id used to get a reply that
        # was never stored. The edge refuses it now; the longest id it accepts is stored.
        with pytest.raises(urllib.error.HTTPError) as refused:
            say(stack, "x" * 300, "How long is the MISM program?")
        assert refused.value.code == 400
        longest = "l" * MAX_SENDER_CHARS
        assert MISM_LENGTH_ANSWER in texts(say(stack, longest, "How long is the MISM program?"))
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


PRODUCTION_ENV = {
    "ACTION_ENDPOINT_URL": "http://10.0.0.5:5055/webhook",
    "DB_HOST": "db.internal",
    "DB_PORT": "6543",
    "DB_NAME": "heinz",
    "DB_USER": "bot",
    "DB_PASSWORD": "s3cret",
    "REDIS_HOST": "cache.internal",
    "REDIS_PORT": "6380",
}


def test_production_endpoints_name_the_guarded_stores_with_values_from_the_environment(monkeypatch):
    """As shipped, the file once quoted every ${VAR} (Rasa left them as text: `rasa run` exited on
    "The port '${DB_PORT}' cannot be cast to integer") and named Rasa's `type: SQL`, which keeps
    conversations in memory, silently, when the database fails."""
    from rasa.core.utils import AvailableEndpoints

    from bot.__main__ import LOCK_STORES, TRACKER_STORE, store_problem

    for key, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(key, value)
    path = PROJECT_ROOT / "ops" / "endpoints.production.yml"
    endpoints = AvailableEndpoints.read_endpoints(str(path))
    assert endpoints.tracker_store.type == TRACKER_STORE
    assert endpoints.tracker_store.url == "db.internal"
    assert int(endpoints.tracker_store.kwargs["port"]) == 6543
    assert endpoints.tracker_store.kwargs["password"] == "s3cret"
    assert endpoints.lock_store.type == LOCK_STORES[0]
    assert int(endpoints.lock_store.kwargs["port"]) == 6380
    assert endpoints.action.url == "http://10.0.0.5:5055/webhook"
    assert store_problem(path) is None
    assert store_problem(PROJECT_ROOT / "endpoints.yml") is None


@pytest.mark.parametrize(
    "endpoints, reason",
    [
        ("tracker_store:\n  type: SQL\n  dialect: sqlite\n", "tracker_store type is 'SQL'"),
        (f"tracker_store:\n  type: {TRACKER_STORE}\n", "lock_store type is None"),
        (f"tracker_store:\n  type: {TRACKER_STORE}\nlock_store:\n  type: redis\n", "lock_store type is 'redis'"),
        ("- not a mapping\n", "is not a mapping"),
        ("tracker_store: [unclosed\n", "cannot read the endpoints file"),
    ],
)
def test_the_rasa_server_refuses_endpoints_that_cannot_guard_a_turn(tmp_path, endpoints, reason):
    path = tmp_path / "endpoints.yml"
    path.write_text(endpoints)
    started = subprocess.run(
        [sys.executable, "-m", "bot", "--endpoints", str(path), "--port", "1"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0
    assert "Rasa server not started" in started.stderr and reason in started.stderr, started.stderr[-500:]


def test_the_guarded_tracker_store_hands_its_health_to_the_lock_store_and_refuses_unguarded_pairs(tmp_path):
    from rasa.core.agent import Agent
    from rasa.core.lock_store import InMemoryLockStore, LockError
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    from bot.rasa_patches.agent_health import UnguardedConfiguration
    from bot.rasa_patches.install import installed
    from bot.stores.lock_store import GuardedInMemoryLockStore
    from bot.stores.tracker_store import GuardedSQLTrackerStore

    domain = Domain.empty()
    guarded = GuardedSQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "guarded.db"))
    assert installed(), "creating the store installs the patches, however the server was started"
    lock_store = GuardedInMemoryLockStore()
    agent = Agent(domain=domain, tracker_store=guarded, lock_store=lock_store)
    assert lock_store.health is guarded.health and agent.lock_store is lock_store

    with pytest.raises(UnguardedConfiguration, match="cannot refuse a turn"):
        Agent(domain=domain, tracker_store=guarded, lock_store=InMemoryLockStore())
    with pytest.raises(UnguardedConfiguration, match="GuardedSQLTrackerStore"):
        Agent(
            domain=domain,
            tracker_store=SQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "stock.db")),
            lock_store=GuardedInMemoryLockStore(),
        )

    async def one_turn(store) -> None:
        async with store.lock("visitor"):
            pass

    with pytest.raises(LockError, match="no database health"):
        asyncio.run(one_turn(GuardedInMemoryLockStore()))


def test_the_patches_refuse_a_rasa_they_were_not_written_for():
    from bot.rasa_patches.install import RASA_VERSION, UnsupportedRasa, check_version

    check_version(RASA_VERSION)
    with pytest.raises(UnsupportedRasa, match="3.7.0"):
        check_version("3.7.0")
