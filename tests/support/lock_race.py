"""Several "Rasa servers" locking one conversation at once: the lock stores' race, staged on the real Redis.

Each "server" is a thread with its own event loop and its own lock store object, all locking the
same conversation, as several Rasa processes behind a load balancer do. Inside the lock each one
does what Rasa does with a tracker: read, work, write back (here a counter in Redis). With a
working lock no update is lost and no two holders overlap. Used by tests/resilience/test_scale_lock_store.py
and bench/lock_store_race.py.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, List

from rasa.core.lock_store import LockError, LockStore

SERVERS = 4
ROUNDS = 25


@dataclass
class Outcome:
    updates: int = 0
    max_holders: int = 0
    lock_errors: List[str] = field(default_factory=list)


def hammer(redis_client: Any, prefix: str, make_store: Callable[[], LockStore], lifetime: float = 30) -> Outcome:
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
