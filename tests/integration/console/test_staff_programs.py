"""Programs come from the knowledge file: a third one appears in the filters, the trends and the CLI."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
import yaml

from console import cli
from core.knowledge import DEFAULT_KNOWLEDGE_FILE
from tests.support.console_client import log_in
from tests.support.console_events import NOW, answer, save, start, tracker_store, user

THIRD = {
    "name": "Master of Science in Public Policy and Management",
    "short_name": "MSPPM",
    "aliases": ["public policy master"],
    "url": "https://www.heinz.cmu.edu/programs/public-policy-management-master",
    "apply_url": "https://www.heinz.cmu.edu/programs/public-policy-management-master",
}


@pytest.fixture
def three_programs(tmp_path, monkeypatch):
    """The project's knowledge file plus a third program, named by ``KNOWLEDGE_FILE``."""
    knowledge = yaml.safe_load(DEFAULT_KNOWLEDGE_FILE.read_text(encoding="utf-8"))
    assert "msppm" not in knowledge["programs"]
    knowledge["programs"]["msppm"] = THIRD
    path = tmp_path / "programs.yml"
    path.write_text(yaml.safe_dump(knowledge, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("KNOWLEDGE_FILE", str(path))
    return path


def test_a_third_program_appears_in_filters_trends_and_cli(three_programs, settings, staff_env, seeded, db_url):
    from website import create_app

    store = tracker_store(db_url)
    asked = user(
        "tell me about the MSPPM", "ask_program_overview", 0.9, NOW - 50, [{"entity": "program", "value": "MSPPM"}]
    )
    save(store, "visitor-msppm", start(NOW - 60) + [asked] + answer("MSPPM is a policy program.", NOW - 40))
    store.engine.dispose()

    app = create_app(dataclasses.replace(settings))
    app.config["TESTING"] = True
    client = app.test_client()
    try:
        assert log_in(client).status_code == 302
        listing = client.get("/staff/").get_data(as_text=True)
        assert '<option value="msppm"' in listing and ">MSPPM</option>" in listing
        filtered = client.get("/staff/?program=msppm").get_data(as_text=True)
        assert "1 conversation matches" in filtered and "visitor-msppm" in filtered
        trends = client.get("/staff/trends?days=7").get_data(as_text=True)
        assert '<th scope="col">MSPPM</th>' in trends and "MSPPM conversations" in trends
        stats = client.get("/staff/api/stats").json
        assert sum(stats["last_30_days"]["programs"]["msppm"]) == 1
    finally:
        app.extensions["staff_console"].close()

    out = io.StringIO()
    code = cli.main(["--database-url", db_url, "list", "--json", "--program", "msppm"], out=out)
    assert code == 0 and [json.loads(line)["id"] for line in out.getvalue().splitlines()] == ["visitor-msppm"]
    out = io.StringIO()
    assert cli.main(["--database-url", db_url, "stats", "--days", "7"], out=out) == 0
    assert "MSPPM 1" in out.getvalue() and "MISM 1" in out.getvalue() and "MSIT 1" in out.getvalue()
