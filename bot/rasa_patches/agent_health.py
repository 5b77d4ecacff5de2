"""Hand the tracker store's database health to the lock store when Rasa builds its agent.

Rasa creates the tracker store and the lock store separately from the endpoints and meets them
only in ``Agent``. Right after ``Agent.__init__`` this gives the lock store the health object that
the tracker store owns, and refuses a configuration that would serve unguarded turns: a guarded
tracker store with a lock store that cannot guard turns (Rasa's own, or none), or a guarding lock
store with a tracker store that reports nothing.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from rasa.core.agent import Agent

from bot.rasa_patches.patch import Patch
from bot.stores.health import DatabaseHealth


class UnguardedConfiguration(RuntimeError):
    """The endpoints combine stores so that a failed turn could pass unnoticed."""


def inner_store(tracker_store: Any) -> Any:
    """The store Rasa wraps in ``FailSafeTrackerStore`` (and ``AwaitableTrackerStore``)."""
    seen = 0
    while hasattr(tracker_store, "_tracker_store") and seen < 5:
        tracker_store = tracker_store._tracker_store
        seen += 1
    return tracker_store


def connect(tracker_store: Any, lock_store: Any) -> None:
    """Give the lock store the tracker store's health, or raise when the pair cannot guard turns."""
    health: Optional[DatabaseHealth] = getattr(inner_store(tracker_store), "health", None)
    attach = getattr(lock_store, "attach_health", None)
    if health is None and attach is None:
        return  # neither store is the project's: a plain Rasa agent (tests, tools), nothing to connect
    if health is None:
        raise UnguardedConfiguration(
            f"{type(lock_store).__name__} guards turns with the tracker store's database health, but the tracker "
            f"store is {type(inner_store(tracker_store)).__name__}: use bot.stores.tracker_store.GuardedSQLTrackerStore"
        )
    if attach is None:
        raise UnguardedConfiguration(
            f"the lock store {type(lock_store).__name__} cannot refuse a turn while the database is down: use "
            "bot.stores.lock_store.SafeRedisLockStore (several servers) or GuardedInMemoryLockStore (one)"
        )
    attach(health)


def wrap_init(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def init_and_connect(self: Agent, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        connect(self.tracker_store, self.lock_store)

    return init_and_connect


def patch() -> Patch:
    return Patch(Agent, "__init__", wrap_init(Agent.__init__))
