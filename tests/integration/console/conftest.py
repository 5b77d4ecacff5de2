"""Fixtures for the staff console tests: both databases, Rasa-written conversations, a logged-in client.

``db_url`` is parametrised over SQLite and PostgreSQL, so every test that uses it runs on both.
PostgreSQL is the shared server, through the one ``postgres_database`` fixture of tests/conftest.py
(a throw-away database, emptied before each test here; skipped locally and failing in CI when the
server is unreachable).
"""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from tests.support.console_client import STAFF_PASSWORD, log_in
from tests.support.console_events import seed


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        tables = [
            row[0]
            for row in connection.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
        ]
        for table in tables:
            connection.execute(sa.text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        connection.execute(sa.text("DROP SEQUENCE IF EXISTS events_seq"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """An empty database of each kind (fresh file / emptied PostgreSQL database) per test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'conversations.db'}"
    url = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def seeded(db_url) -> str:
    return seed(db_url)


@pytest.fixture
def settings(db_url):
    from core.settings import Settings

    return dataclasses.replace(Settings(), database_url=db_url, secret_key="test-secret", retention_days=365)


@pytest.fixture
def staff_env(monkeypatch):
    monkeypatch.setenv("STAFF_USER", "admissions")
    monkeypatch.setenv("STAFF_PASSWORD", STAFF_PASSWORD)
    monkeypatch.setenv("STAFF_TIMEZONE", "America/New_York")
    monkeypatch.delenv("STAFF_PASSWORD_HASH", raising=False)


@pytest.fixture
def console(settings, staff_env, seeded):
    from console.console import Console

    staff_console = Console(settings)
    staff_console.refresh(force=True)
    yield staff_console
    staff_console.close()


@pytest.fixture
def app(settings, staff_env, seeded):
    from website import create_app

    flask_app = create_app(settings)
    flask_app.config["TESTING"] = True
    yield flask_app
    flask_app.extensions["staff_console"].close()


@pytest.fixture
def client(app):
    test_client = app.test_client()
    response = log_in(test_client)
    assert response.status_code == 302, response.get_data(as_text=True)
    return test_client


@pytest.fixture
def live_console(tmp_path, monkeypatch):
    """The console served on a free port by werkzeug in a thread, over Rasa-written conversations, for
    the browser tests (the editor ``admissions`` from the environment)."""
    import threading

    from werkzeug.serving import make_server

    from core.settings import Settings
    from website import create_app

    monkeypatch.setenv("STAFF_USER", "admissions")
    monkeypatch.setenv("STAFF_PASSWORD", STAFF_PASSWORD)
    url = seed(f"sqlite:///{tmp_path / 'conversations.db'}")
    app = create_app(dataclasses.replace(Settings(), database_url=url, secret_key="browser-test"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", url
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["staff_console"].close()
