"""Locks across several Rasa servers: Rasa's stock Redis lock store races, ours does not.

Each "server" is a thread with its own event loop and its own lock store object on the real Redis
(127.0.0.1:6379), all locking the same conversation, as several Rasa processes behind a load
balancer do. Inside the lock each one does what Rasa does with a tracker: read, work, write back
(here a counter in Redis). With a working lock no update is lost and no two holders overlap.
Keys live under a random prefix and are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, field
from typing import Callable, List

import pytest
from rasa.core.lock_store import LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.stores.lock_store import SafeRedisLockStore
from ops.launcher import free_port

SERVERS = 4
ROUNDS = 25


@pytest.fixture()
def prefix(redis_client):
    name = f"scaletest{uuid.uuid4().hex[:10]}"
    yield name
    for key in redis_client.scan_iter(f"{name}*"):
        redis_client.delete(key)


@dataclass
class Outcome:
    updates: int = 0
    max_holders: int = 0
    lock_errors: List[str] = field(default_factory=list)


def hammer(redis_client, prefix: str, make_store: Callable[[], LockStore], lifetime: float = 30) -> Outcome:
    """SERVERS threads x ROUNDS read-modify-write cycles of one conversation's state under the lock."""
    counter, holders, conversation = f"{prefix}:counter", f"{prefix}:holders", "visitor-1"
    outcome = Outcome()

    async def serve(store: LockStore) -> None:
        for _ in range(ROUNDS):
            try:
                async with store.lock(conversation, lock_lifetime=lifetime, wait_time_in_seconds=0.002):
                    outcome.max_holders = max(outcome.max_holders, int(redis_client.incr(holders)))
                    value = int(redis_client.get(counter) or 0)
                    await asyncio.sleep(0.003)  # the turn being processed
                    redis_client.set(counter, value + 1)
                    redis_client.decr(holders)
            except LockError as error:
                outcome.lock_errors.append(str(error))

    threads = [threading.Thread(target=lambda: asyncio.run(serve(make_store()))) for _ in range(SERVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    outcome.updates = int(redis_client.get(counter) or 0)
    return outcome


def test_rasa_redis_lock_store_races_across_servers(redis_client, prefix):
    """Reproduces rasa #9213: the stock store lets two servers in at once or drops a waiter's lock."""
    # A short lifetime: tickets orphaned by the race would otherwise stall the waiters for 30 s each.
    outcome = hammer(redis_client, prefix, lambda: RedisLockStore(host="127.0.0.1", db=0, key_prefix=prefix), 2)
    lost_updates = SERVERS * ROUNDS - len(outcome.lock_errors) - outcome.updates
    print(
        f"stock RedisLockStore: {outcome.max_holders} holders at once, {lost_updates} lost updates, "
        f"{len(outcome.lock_errors)} turns refused with LockError out of {SERVERS * ROUNDS}"
    )
    assert outcome.max_holders > 1 or lost_updates > 0 or outcome.lock_errors, (
        "the stock RedisLockStore serialised every turn: the race did not show up this time"
    )


def test_safe_lock_store_serialises_every_turn_across_servers(redis_client, prefix):
    outcome = hammer(
        redis_client, prefix, lambda: SafeRedisLockStore(client=redis_client, key_prefix=prefix, poll_seconds=0.002)
    )
    assert outcome.lock_errors == []
    assert outcome.max_holders == 1
    assert outcome.updates == SERVERS * ROUNDS
    assert not redis_client.exists(f"{prefix}:mutex:visitor-1"), "the lock must be released"


def test_safe_lock_store_only_the_holder_releases_and_a_dead_holder_expires(redis_client, prefix):
    store = SafeRedisLockStore(client=redis_client, key_prefix=prefix, poll_seconds=0.01)
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


def test_safe_lock_store_refuses_the_turn_when_redis_is_unreachable():
    endpoint = EndpointConfig(url="127.0.0.1", port=free_port(), socket_timeout=1)  # nothing listens there
    store = SafeRedisLockStore(endpoint, poll_seconds=0.01)

    async def scenario() -> None:
        with pytest.raises(LockError, match="Lock store unavailable"):
            async with store.lock("visitor-3"):
                pass

    asyncio.run(scenario())
