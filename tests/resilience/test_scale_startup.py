"""No silent loss at start: with its database unreachable the stack refuses to start, in one line."""

from __future__ import annotations

import os
import subprocess
import sys

from core.database import database_problem
from core.settings import PROJECT_ROOT
from ops.launcher import free_port
from tests.support.ports import refused_port


def launch_refused(**env_overrides: str) -> str:
    """Run ``python -m ops.launcher`` as ``make run`` does; it must refuse and start nothing. Its one line."""
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "SANIC_WORKERS")}
    env.update(WEB_PORT=str(free_port()), RASA_PORT=str(free_port()), ACTION_PORT=str(free_port()), **env_overrides)
    result = subprocess.run(
        [sys.executable, "-m", "ops.launcher"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "Starting the action server" not in result.stdout  # nothing was started
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0] + result.stdout


def test_launcher_refuses_to_start_when_the_database_is_unreachable():
    with refused_port() as port:
        line = launch_refused(DATABASE_URL=f"postgresql://bot:secret-pw@127.0.0.1:{port}/heinz")
    assert line.startswith(f"Not started: the conversation database (postgresql at 127.0.0.1:{port}/heinz)")
    assert "unreachable" in line and "DATABASE_URL" in line
    assert "secret-pw" not in line


def test_launcher_refuses_several_workers_without_the_redis_lock_store(tmp_path):
    line = launch_refused(DATABASE_URL=f"sqlite:///{tmp_path / 'conversations.db'}", SANIC_WORKERS="2")
    assert line.startswith("Not started: SANIC_WORKERS=2 needs REDIS_URL"), line


def test_database_check_accepts_a_working_database_and_names_a_broken_sqlite_path(tmp_path):
    assert database_problem(f"sqlite:///{tmp_path / 'conversations.db'}") is None
    problem = database_problem(f"sqlite:///{tmp_path / 'missing-dir' / 'conversations.db'}")
    assert problem is not None and "missing-dir" in problem and "unreachable" in problem


def test_rendered_endpoints_load_the_guarded_stores(tmp_path):
    """Rasa falls back to an in-memory tracker store when a custom class cannot be imported: make
    sure the endpoints ``make run`` writes load ours."""
    from rasa.core.lock_store import LockStore
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import read_endpoint_config

    from bot.stores.lock_store import GuardedInMemoryLockStore, SafeRedisLockStore
    from bot.stores.tracker_store import GuardedSQLTrackerStore
    from core.settings import Settings
    from ops.launcher import render_endpoints

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'conversations.db'}")
    path = str(render_endpoints(settings, tmp_path / "endpoints.yml"))
    store = TrackerStore.create(read_endpoint_config(path, "tracker_store"), Domain.empty())
    assert isinstance(store, GuardedSQLTrackerStore)
    assert isinstance(LockStore.create(read_endpoint_config(path, "lock_store")), GuardedInMemoryLockStore)

    with_redis = Settings(database_url=settings.database_url, redis_url="redis://127.0.0.1:6379/0")
    path = str(render_endpoints(with_redis, tmp_path / "endpoints-redis.yml"))
    assert isinstance(LockStore.create(read_endpoint_config(path, "lock_store")), SafeRedisLockStore)
