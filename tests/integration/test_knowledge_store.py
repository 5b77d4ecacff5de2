"""The knowledge staff keep: versions in the database, validated changes, history, revert, readers
that never stop answering, and the file as the reviewed seed (core/knowledge_store.py).

Every test runs on SQLite and on a throw-away PostgreSQL database; the outage test cuts a TCP proxy
in front of the shared server."""

from __future__ import annotations

import datetime
import os
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from core.knowledge import DEFAULT_KNOWLEDGE_FILE, load_knowledge
from core.knowledge_store import (
    ChangeRefused,
    KnowledgeStore,
    StoredKnowledge,
    export_yaml,
    fingerprint,
    get_fact,
    versions,
)
from tests.conftest import fresh_postgres_database
from tests.support.facts import ADMISSIONS_PHONE
from tests.support.tcp_proxy import TcpProxy

TOEFL = "topics.english_tests.fact"
FILLED = {
    "text": "The test's TOEFL iBT minimum is 101.",
    "source": "https://www.heinz.cmu.edu/admissions/checklist/test-example",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'knowledge.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture
def seed_file(tmp_path) -> Path:
    """A copy of the real knowledge file, dated in the past like a checkout (imports only newer files)."""
    path = tmp_path / "programs.yml"
    path.write_text(DEFAULT_KNOWLEDGE_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    os.utime(path, (time.time() - 3600, time.time() - 3600))
    return path


@pytest.fixture
def store(database_url, seed_file):
    knowledge_store = KnowledgeStore(database_url, seed_file)
    yield knowledge_store
    knowledge_store.dispose()


def count_versions(store: KnowledgeStore) -> int:
    with store.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(versions)).scalar_one()


def test_an_empty_store_is_seeded_from_the_file_once(store, seed_file):
    version, document = store.current()
    assert (version.id, version.action, version.author) == (1, "seed", "knowledge file")
    assert document == yaml.safe_load(seed_file.read_text(encoding="utf-8"))
    assert store.current()[0].id == 1 and count_versions(store) == 1


def test_filling_a_known_unknown_is_saved_with_who_when_and_why(store):
    assert get_fact(store.current()[1], TOEFL) is None
    version = store.change_fact(TOEFL, FILLED, fingerprint(None), "ann", "the office confirmed the minimums")
    assert (version.id, version.author, version.action, version.path) == (2, "ann", "edit", TOEFL)
    assert get_fact(store.current()[1], TOEFL) == FILLED
    [change, *_] = store.history(TOEFL)
    assert change.version.note == "the office confirmed the minimums"
    assert "+text: The test's TOEFL iBT minimum is 101." in change.diff


@pytest.mark.parametrize(
    "fact, note, field, reason",
    [
        (FILLED, "  ", "note", "say why"),
        ({**FILLED, "source": "https://www.example.com/toefl"}, "n", "source", "not an official page"),
        ({**FILLED, "source": "https://heinz.cmu.edu.evil.com/x"}, "n", "source", "not an official page"),
        ({**FILLED, "link": "https://forum.example.org/"}, "n", "link", "not an official page"),
        ({"text": "No source."}, "n", "source", "needs the official page"),
        ({**FILLED, "source": "not a url"}, "n", "source", "not an official page"),
        ({**FILLED, "text": ""}, "n", "text", "must not be empty"),
        ({**FILLED, "cycle": "August 2027 start"}, "n", "", "also needs an 'as_of' date"),
        ({**FILLED, "colour": "red"}, "n", "colour", "extra fields not permitted"),
    ],
)
def test_an_invalid_change_is_refused_with_the_field_and_nothing_is_saved(store, fact, note, field, reason):
    store.current()
    with pytest.raises(ChangeRefused) as refused:
        store.change_fact(TOEFL, fact, fingerprint(None), "ann", note)
    assert refused.value.field == field and reason in refused.value.reason
    assert count_versions(store) == 1


def test_a_fact_changed_since_the_form_opened_is_refused_not_overwritten(store):
    path = "programs.msit.facts.deadlines"
    opened = fingerprint(get_fact(store.current()[1], path))
    first = {**get_fact(store.current()[1], path), "text": "First editor's wording:"}
    store.change_fact(path, first, opened, "ann", "wording")
    second = {**first, "text": "Second editor's wording:"}
    with pytest.raises(ChangeRefused, match="changed by ann since you opened it"):
        store.change_fact(path, second, opened, "bob", "my wording")
    assert get_fact(store.current()[1], path)["text"] == "First editor's wording:"
    # A change of another fact in between does not block an edit of this one.
    store.change_fact(TOEFL, FILLED, fingerprint(None), "bob", "filled")
    third = {**first, "text": "Third wording:"}
    store.change_fact(path, third, fingerprint(first), "cy", "better")
    assert get_fact(store.current()[1], path)["text"] == "Third wording:"
    assert get_fact(store.current()[1], TOEFL) == FILLED


def test_saves_of_different_facts_at_the_same_moment_all_land(store):
    store.current()
    paths = [f"programs.{program}.facts.english_tests" for program in ("mism", "msit")] + [TOEFL]
    errors = []

    def save(path: str) -> None:
        try:
            store.change_fact(path, {**FILLED, "text": f"for {path}"}, "-", "ann", "parallel")
        except Exception as error:  # noqa: BLE001 - the assertion below shows it
            errors.append(error)

    threads = [threading.Thread(target=save, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    document = store.current()[1]
    assert [get_fact(document, path)["text"] for path in paths] == [f"for {path}" for path in paths]
    assert count_versions(store) == 4


def test_a_corrected_deadline_is_reverted_from_its_history(store):
    path = "programs.msit.facts.deadlines"
    original = get_fact(store.current()[1], path)
    corrected = {**original, "dates": [dict(d) for d in original["dates"]]}
    corrected["dates"][1]["date"] = datetime.date(2026, 11, 15)
    edit = store.change_fact(path, corrected, fingerprint(original), "ann", "the page moved the spring deadline")
    assert get_fact(store.current()[1], path)["dates"][1]["date"] == datetime.date(2026, 11, 15)
    assert any("2026-11-15" in line for line in store.history(path)[0].diff)
    revert = store.revert(edit.id, "bob")
    assert (revert.action, revert.reverts, revert.author) == ("revert", edit.id, "bob")
    assert get_fact(store.current()[1], path) == original
    with pytest.raises(ChangeRefused, match="changed again"):
        store.revert(edit.id, "bob")


def test_a_deadline_out_of_order_is_refused(store):
    path = "programs.msit.facts.deadlines"
    original = get_fact(store.current()[1], path)
    wrong = {**original, "dates": [dict(d) for d in original["dates"]]}
    wrong["dates"][1]["date"] = datetime.date(2027, 12, 1)
    with pytest.raises(ChangeRefused, match="deadlines out of order"):
        store.change_fact(path, wrong, fingerprint(original), "ann", "typo")
    assert count_versions(store) == 1


def test_every_reader_gets_a_saved_change_within_seconds(store, database_url, seed_file):
    readers = [StoredKnowledge(database_url, seed_file, poll_seconds=0.5) for _ in range(2)]
    try:
        assert all(reader.get().topics["english_tests"].fact is None for reader in readers)
        store.change_fact(TOEFL, FILLED, fingerprint(None), "ann", "filled")
        saved = time.monotonic()
        while any(reader.get().topics["english_tests"].fact is None for reader in readers):
            assert time.monotonic() - saved < 10, "a reader did not get the change within 10 s"
            time.sleep(0.05)
        assert {reader.get().topics["english_tests"].fact.text for reader in readers} == {FILLED["text"]}
    finally:
        for reader in readers:
            reader.close()


def test_a_broken_version_in_the_store_leaves_the_last_good_one_answering(store, database_url, seed_file):
    reader = StoredKnowledge(database_url, seed_file, poll_seconds=60)
    try:
        good = reader.get()
        with store.engine.begin() as connection:
            connection.execute(
                sa.insert(versions).values(
                    id=2,
                    created_at=time.time(),
                    author="x",
                    action="edit",
                    note="n",
                    document="topics: [",
                    seed_hash="",
                )
            )
        assert reader.refresh() is False
        assert reader.get() is good and "not valid YAML" in reader.last_error
    finally:
        reader.close()


def test_a_store_that_cannot_be_reached_leaves_answers_up_and_recovers(seed_file):
    with fresh_postgres_database() as url:
        proxy = TcpProxy(5432).start()
        proxied = url.replace(":5432/", f":{proxy.port}/")
        writer = KnowledgeStore(url, seed_file)
        reader = StoredKnowledge(proxied, seed_file, poll_seconds=60)
        try:
            assert reader.version == 1
            proxy.cut()
            writer.change_fact(TOEFL, FILLED, fingerprint(None), "ann", "filled while the reader is cut off")
            assert reader.refresh() is False
            assert reader.last_error and reader.get().topics["english_tests"].fact is None
            proxy.restore()
            assert reader.refresh() is True
            assert reader.last_error is None and reader.get().topics["english_tests"].fact.text == FILLED["text"]
        finally:
            reader.close()
            writer.dispose()
            proxy.stop()


def test_a_reader_starts_from_the_file_when_the_store_is_down(seed_file):
    reader = StoredKnowledge("postgresql://postgres@127.0.0.1:1/nothing", seed_file, poll_seconds=60)
    try:
        assert reader.version is None and reader.last_error
        assert reader.get().contact.email == load_knowledge(seed_file).contact.email
    finally:
        reader.close()


def test_a_newer_file_is_imported_until_staff_edit_then_it_waits(store, seed_file):
    store.current()
    text = seed_file.read_text(encoding="utf-8")
    seed_file.write_text(text.replace(f"phone: {ADMISSIONS_PHONE}", "phone: 412-268-0000"), encoding="utf-8")
    imported = store.sync_file()
    assert imported is not None and imported.action == "import"
    assert store.current()[1]["contact"]["phone"] == "412-268-0000"
    store.change_fact(TOEFL, FILLED, fingerprint(None), "ann", "filled")
    seed_file.write_text(text, encoding="utf-8")
    assert store.sync_file() is None and store.file_waiting()
    assert get_fact(store.current()[1], TOEFL) == FILLED, "a file never silently undoes staff's changes"


def test_an_older_checkout_of_the_file_is_not_brought_back(store, seed_file):
    store.current()
    text = seed_file.read_text(encoding="utf-8")
    seed_file.write_text(text.replace(f"phone: {ADMISSIONS_PHONE}", "phone: 412-268-0000"), encoding="utf-8")
    store.sync_file()
    old = seed_file.parent / "old.yml"
    old.write_text(text, encoding="utf-8")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert KnowledgeStore(str(store.engine.url.render_as_string(hide_password=False)), old).sync_file() is None
    assert store.current()[1]["contact"]["phone"] == "412-268-0000"


def test_a_broken_file_is_not_imported(store, seed_file):
    store.current()
    seed_file.write_text("contact: [unclosed\n", encoding="utf-8")
    with pytest.raises(Exception, match="invalid YAML"):
        store.sync_file()
    assert count_versions(store) == 1


def test_export_writes_the_file_format_with_its_comments_and_imports_back(store, seed_file, tmp_path):
    store.change_fact(TOEFL, FILLED, fingerprint(None), "ann", "filled")
    version, document = store.current()
    exported = export_yaml(document, seed_file)
    assert exported.startswith("# Heinz Admissions Assistant — program knowledge.")
    assert yaml.safe_load(exported) == document
    path = tmp_path / "exported.yml"
    path.write_text(exported, encoding="utf-8")
    assert load_knowledge(path).topics["english_tests"].fact.text == FILLED["text"]
    unchanged = [line for line in seed_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert sum(line in exported.splitlines() for line in unchanged) == len(unchanged), "only additions"
    imported = store.import_file(path, "dev", "reviewed export")
    assert imported.action == "import" and store.current()[1] == document
