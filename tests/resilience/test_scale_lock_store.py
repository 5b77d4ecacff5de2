"""Locks across several Rasa servers: ours serialises every turn (tests/support/lock_race.py stages it).

Rasa's stock Redis lock store races in the same staging (rasa #9213); that reproduction tests Rasa,
not this project, and may not show up on every run, so it is a benchmark: bench/lock_store_race.py.
Keys live under a random prefix and are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from rasa.core.lock_store import LockError
from rasa.utils.endpoints import EndpointConfig

from bot.stores.health import DatabaseHealth
from bot.stores.lock_store import SafeRedisLockStore
from tests.support.lock_race import ROUNDS, SERVERS, hammer
from tests.support.ports import refused_port


@pytest.fixture()
def prefix(redis_client):
    name = f"scaletest{uuid.uuid4().hex[:10]}"
    yield name
    for key in redis_client.scan_iter(f"{name}*"):
        redis_client.delete(key)


@pytest.fixture()
def health(tmp_path) -> DatabaseHealth:
    """The database health a guarded tracker store would hand over (a real SQLite database here)."""
    return DatabaseHealth(sa.create_engine(f"sqlite:///{tmp_path / 'conversations.db'}"))


def guarded(store: SafeRedisLockStore, health: DatabaseHealth) -> SafeRedisLockStore:
    store.attach_health(health)
    return store


def test_safe_lock_store_serialises_every_turn_across_servers(redis_client, prefix, health):
    outcome = hammer(
        redis_client,
        prefix,
        lambda: guarded(SafeRedisLockStore(client=redis_client, key_prefix=prefix, poll_seconds=0.002), health),
    )
    assert outcome.lock_errors == []
    assert outcome.max_holders == 1
    assert outcome.updates == SERVERS * ROUNDS
    assert not redis_client.exists(f"{prefix}:mutex:visitor-1"), "the lock must be released"


def test_safe_lock_store_only_the_holder_releases_and_a_dead_holder_expires(redis_client, prefix, health):
    store = guarded(SafeRedisLockStore(client=redis_client, key_prefix=prefix, poll_seconds=0.01), health)
    key = f"{prefix}:mutex:visitor-2"

    async def scenario() -> None:
        redis_client.set(key, "a-server-that-was-killed", px=300)  # a holder that died mid-turn
        async with store.lock("visitor-2", lock_lifetime=5):  # waits for the expiry, then proceeds
            assert redis_client.get(key) != b"a-server-that-was-killed"
            redis_client.set(key, "someone-else")  # our lock expired and another server took it
        assert redis_client.get(key) == b"someone-else"  # ... so we must not delete theirs

        redis_client.set(key, "stuck", px=10_000)
        with pytest.raises(LockError):
            async with store.lock("visitor-2", lock_lifetime=0.2):
                pass

    asyncio.run(scenario())


def test_safe_lock_store_refuses_the_turn_when_redis_is_unreachable(health):
    async def scenario(store: SafeRedisLockStore) -> None:
        with pytest.raises(LockError, match="Lock store unavailable"):
            async with store.lock("visitor-3"):
                pass

    with refused_port() as port:
        endpoint = EndpointConfig(url="127.0.0.1", port=port, socket_timeout=1)
        asyncio.run(scenario(guarded(SafeRedisLockStore(endpoint, poll_seconds=0.01), health)))
