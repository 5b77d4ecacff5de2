"""Rasa's stock Redis lock store against ours, several "servers" in one conversation at once (rasa #9213).

    .venv/bin/python bench/lock_store_race.py [--runs 5]

Prints, per run and store, how many holders were inside the lock at once, how many updates were
lost and how many turns were refused. The stock store's race does not show up on every run (it
depends on timing), which is why this is a benchmark and not a test; ours must show 1 holder and
no lost update every time (tests/resilience/test_scale_lock_store.py asserts that).
"""

from __future__ import annotations

import argparse
import functools
import sys
import uuid
from pathlib import Path

import redis
import sqlalchemy as sa
from rasa.core.lock_store import RedisLockStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.stores.health import DatabaseHealth  # noqa: E402
from bot.stores.lock_store import SafeRedisLockStore  # noqa: E402
from tests.support.lock_race import ROUNDS, SERVERS, hammer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    client = redis.Redis(host="127.0.0.1", port=6379)
    health = DatabaseHealth(
        sa.create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=sa.pool.StaticPool)
    )

    def ours(prefix: str) -> SafeRedisLockStore:
        store = SafeRedisLockStore(client=client, key_prefix=prefix, poll_seconds=0.002)
        store.attach_health(health)
        return store

    print(f"{SERVERS} servers x {ROUNDS} turns in one conversation, {args.runs} runs")
    print("store                 run  holders at once  lost updates  refused")
    for run in range(1, args.runs + 1):
        for name, make in (
            # A short lifetime: tickets orphaned by the race would otherwise stall the waiters for 30 s each.
            ("stock RedisLockStore", lambda p: RedisLockStore(host="127.0.0.1", db=0, key_prefix=p)),
            ("SafeRedisLockStore", ours),
        ):
            prefix = f"bench{uuid.uuid4().hex[:10]}"
            try:
                outcome = hammer(client, prefix, functools.partial(make, prefix), 2)
            finally:
                for key in client.scan_iter(f"{prefix}*"):
                    client.delete(key)
            lost = SERVERS * ROUNDS - len(outcome.lock_errors) - outcome.updates
            print(f"{name:21} {run:3}  {outcome.max_holders:15}  {lost:12}  {len(outcome.lock_errors):7}")


if __name__ == "__main__":
    main()
