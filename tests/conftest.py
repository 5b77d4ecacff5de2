"""Shared fixtures: the real knowledge file, the domain, the trained model, the running stack, and a
throw-away PostgreSQL database; plus the one CI check (nothing is skipped silently in CI)."""

from __future__ import annotations

import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from core.settings import PROJECT_ROOT
from ops.launcher import DEFAULT_MODEL, Stack, settings_on_free_ports

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip with a printed reason locally; in CI nothing may be skipped silently, so fail."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)


PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("TEST_PG_DB", "test")
REDIS_HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", "6379"))


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new database (``test_<random>``) on the shared PostgreSQL server, dropped afterwards; its URL.

    An unreachable server skips (locally) or fails (CI) via :func:`skip_or_fail`.
    """
    import psycopg2

    try:
        admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=PG_ADMIN_DB, connect_timeout=3)
    except psycopg2.Error as error:
        skip_or_fail(f"PostgreSQL at {PG_HOST}:{PG_PORT} is unreachable: {error}".strip())
    admin.autocommit = True
    name = f"test_{secrets.token_hex(6)}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """One fresh database for the whole session (the console's query tests)."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """A fresh database for one test (stacks that must start from an empty tracker store)."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture()
def redis_client() -> Any:
    """A client of the shared Redis server (tests keep to their own key prefixes)."""
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        skip_or_fail(f"Redis at {REDIS_HOST}:{REDIS_PORT} is unreachable: {error}")
    return client


@pytest.fixture(autouse=True)
def rasa_as_installed() -> Iterator[None]:
    """Each test leaves Rasa as it found it: a guarded tracker store created in a test installs the
    project's patches into this process (bot/rasa_patches/install.py); they are undone afterwards."""
    from bot.rasa_patches.install import uninstall_patches

    try:
        yield
    finally:
        uninstall_patches()


@pytest.fixture(scope="session")
def domain_dict() -> Dict[str, Any]:
    """The domain as the action server receives it from Rasa."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(PROJECT_ROOT / "domain.yml")).as_dict()


@pytest.fixture(scope="session")
def knowledge():
    from core.knowledge import load_knowledge

    return load_knowledge()


@pytest.fixture(scope="session")
def trained_model() -> Path:
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"{DEFAULT_MODEL} is missing: run the tests with `make test`, which trains it first")
    return DEFAULT_MODEL


@pytest.fixture(scope="session")
def stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Action server + Rasa server + web server on free ports, conversations in a fresh SQLite file."""
    workdir = tmp_path_factory.mktemp("stack")
    settings = settings_on_free_ports(f"sqlite:///{workdir / 'conversations.db'}")
    running = Stack(settings, model=trained_model, log_dir=workdir / "logs")
    try:
        running.start()
    except (RuntimeError, TimeoutError) as error:
        running.stop()
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in (workdir / "logs").glob("*.log"))
        pytest.fail(f"the stack did not start: {error}\n{logs}")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if not path:
        skip_or_fail("Debian's chromium is not installed (`make test` installs it when run as root)")
    return path  # type: ignore[return-value]
