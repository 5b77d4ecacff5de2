"""``/healthz`` reports an unreachable conversation database as a degraded stack (503)."""

from __future__ import annotations

import dataclasses
import socket

from core.settings import Settings
from website import create_app


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_healthz_reports_a_reachable_database(tmp_path):
    settings = dataclasses.replace(Settings(), database_url=f"sqlite:///{tmp_path / 'conversations.db'}")
    response = create_app(settings).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"


def test_healthz_reports_an_unreachable_database_as_degraded():
    url = f"postgresql://nobody@127.0.0.1:{closed_port()}/heinz"
    response = create_app(dataclasses.replace(Settings(), database_url=url)).test_client().get("/healthz")
    assert response.status_code == 503
    report = response.get_json()
    assert report["database"] == "unavailable" and report["stack"] == "degraded"
    assert "unreachable" in report["database_error"] and "nobody" not in report["database_error"]
