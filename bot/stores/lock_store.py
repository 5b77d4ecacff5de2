"""A Redis lock store that is safe across several Rasa servers.

Rasa 3.6's open-source ``RedisLockStore`` keeps a ticket list per conversation as one JSON value and
updates it with separate GET and SET calls (``LockStore.issue_ticket``, ``finish_serving``,
``cleanup``). Two servers handling the same conversation at the same moment can both read the same
list, both issue themselves the same ticket, and then process the conversation at the same time, or
one can delete the other's lock (rasa #9213; the fix is not in open source). Both then load the
same tracker and save it, and turns are duplicated or lost. ``tests/resilience/test_scale_lock_store.py``
reproduces this with the stock class.

This store keeps Rasa's interface (``lock()`` as an async context manager yielding a ``TicketLock``)
but takes the lock with one atomic Redis command, ``SET key token NX PX lifetime``, and releases it
with a compare-and-delete script, so only the holder can release it and a crashed holder's lock
expires after the lifetime. Waiters poll every ``poll_seconds`` (Rasa's stock lock waits a whole
second between tries). Messages that arrive at the same moment for one conversation are served one
at a time, in no guaranteed order among themselves.

Both stores here also run each turn inside the tracker store's ``DatabaseHealth.guarded_turn``
(handed over by ``attach_health`` when Rasa builds its agent): a turn is refused while the
conversation database is unreachable, and one whose tracker could not be read or saved raises
``TurnNotSaved`` (see bot/stores/health.py). A store that was never handed one refuses every turn
rather than serve turns it cannot guard. ``GuardedInMemoryLockStore`` is the one-process store
``make run`` uses without Redis.

Select it in the endpoints (``make run`` renders this when ``REDIS_URL`` is set)::

    lock_store:
      type: bot.stores.lock_store.SafeRedisLockStore
      url: 127.0.0.1
      port: 6379
      db: 0
      key_prefix: heinz        # optional, alphanumeric
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Optional, Text

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.stores.health import DatabaseHealth

# Deletes the key only while it still holds this holder's token (a lock that expired and was taken
# by another server is left alone).
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class GuardedTurns:
    """The part both lock stores share: the database health they guard each turn with."""

    health: Optional[DatabaseHealth] = None

    def attach_health(self, health: DatabaseHealth) -> None:
        self.health = health

    def guarded_turn(self, conversation_id: Text) -> Any:
        if self.health is None:
            raise LockError(
                f"{type(self).__name__} has no database health to guard conversation '{conversation_id}' with: "
                "it needs bot.stores.tracker_store.GuardedSQLTrackerStore in the same endpoints"
            )
        return self.health.guarded_turn(conversation_id)


class SafeRedisLockStore(GuardedTurns, LockStore):
    """One mutex per conversation in Redis, taken and released atomically."""

    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        client: Optional[redis.Redis] = None,
        key_prefix: Optional[str] = None,
        poll_seconds: float = 0.02,
    ) -> None:
        kwargs: dict[str, Any] = dict(endpoint_config.kwargs) if endpoint_config else {}
        if client is None:
            client = redis.Redis(
                host=(endpoint_config.url if endpoint_config else None) or "localhost",
                port=int(kwargs.get("port", 6379)),
                db=int(kwargs.get("db", 0)),
                username=kwargs.get("username"),
                password=kwargs.get("password"),
                socket_timeout=float(kwargs.get("socket_timeout", 10)),
            )
        self.red = client
        prefix = key_prefix or kwargs.get("key_prefix") or ""
        if prefix and not str(prefix).isalnum():
            raise ValueError(f"lock store key_prefix must be alphanumeric, got {prefix!r}")
        self.key_prefix = f"{prefix}:mutex:" if prefix else "mutex:"
        self.poll_seconds = poll_seconds
        self._release = self.red.register_script(_RELEASE)
        super().__init__()

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: Text,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's lock while the body runs; wait at most ``lock_lifetime`` for it.

        ``wait_time_in_seconds`` (Rasa's polling interval) is ignored in favour of ``poll_seconds``.
        A Redis failure raises ``LockError``: the message is refused visibly rather than handled
        without a lock.
        """
        key = self.key_prefix + conversation_id
        token = uuid.uuid4().hex
        deadline = time.monotonic() + lock_lifetime
        try:
            while not self.red.set(key, token, nx=True, px=max(1, int(lock_lifetime * 1000))):
                if time.monotonic() > deadline:
                    raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
                await asyncio.sleep(self.poll_seconds)
        except redis.RedisError as error:
            raise LockError(f"Lock store unavailable for conversation_id '{conversation_id}': {error}") from error
        try:
            async with self.guarded_turn(conversation_id):
                yield TicketLock(conversation_id)
        finally:
            try:
                self._release(keys=[key], args=[token])
            except redis.RedisError:
                pass  # the lock expires by itself after its lifetime

    # Rasa's ticket API, unused by this store's lock() but part of the LockStore interface.
    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return TicketLock(conversation_id) if self.red.exists(self.key_prefix + conversation_id) else None

    def delete_lock(self, conversation_id: Text) -> None:
        self.red.delete(self.key_prefix + conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        """Tickets are not stored: the mutex key is the whole state."""


class GuardedInMemoryLockStore(GuardedTurns, InMemoryLockStore):
    """Rasa's in-process lock store (one Rasa process, one Sanic worker) with the turn guard, polling
    every 20 ms instead of every second for a second message to a busy conversation."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        if int(os.environ.get("SANIC_WORKERS", "1") or 1) > 1:
            raise ValueError("an in-memory lock store cannot serve several Sanic workers: set REDIS_URL")
        super().__init__()

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: Text,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 0.02,
    ) -> AsyncGenerator[TicketLock, None]:
        async with super().lock(conversation_id, lock_lifetime, min(wait_time_in_seconds, 0.02)) as ticket_lock:
            async with self.guarded_turn(conversation_id):
                yield ticket_lock
