"""The knowledge page as staff use it: list, filters and flags, the preview, filling a known unknown,
a refused change, the optimistic lock, history and revert; viewers only read; the CLI's export,
import and history. Runs on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
import yaml

from console import cli
from core.knowledge import load_knowledge
from core.knowledge_store import KnowledgeStore, fingerprint, get_fact
from tests.support.console_client import STAFF_PASSWORD, log_in

TOEFL = "topics.english_tests.fact"
SOURCE = "https://www.heinz.cmu.edu/admissions/checklist/test-example"


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def form_of(html: str) -> dict:
    """The hidden fields of the edit form (CSRF token, the fingerprint of the fact it opened)."""
    return dict(re.findall(r'<input type="hidden" name="(csrf_token|opened)" value="([^"]*)"', html))


def fill(client, path: str, **fields):
    hidden = form_of(page(client, f"/staff/knowledge/edit?path={quote(path)}"))
    data = {**hidden, "action": "save", **fields}
    return client.post(f"/staff/knowledge/edit?path={quote(path)}", data=data)


def rows(html: str) -> list:
    return re.findall(r'<th scope="row">([^<]+)</th>\s*<td>([^<]+)</td>', html)


def test_the_list_shows_every_topic_with_flags_and_filters(client, knowledge):
    html = page(client, "/staff/knowledge")
    for topic in knowledge.topics.values():
        assert f'<th scope="row">{topic.label}</th>' in html
    unknown = rows(page(client, "/staff/knowledge?flag=unknown&program=msit"))
    assert ("English tests", "MSIT") in unknown and all(place == "MSIT" for _, place in unknown)
    assert {label for label, _ in unknown} == {knowledge.topics[t].label for t in knowledge.known_unknowns()}, (
        "every known unknown, and only those"
    )
    heinz_wide = rows(page(client, "/staff/knowledge?program=all"))
    assert heinz_wide and all(place == "All programs" for _, place in heinz_wide)


def test_the_fact_page_previews_the_answer_on_each_page_as_the_bot_says_it(client, knowledge):
    html = page(client, "/staff/knowledge/fact?path=programs.msit.facts.deadlines")
    assert [name for name in re.findall(r"<h3>([^<]+)</h3>", html)] == ["Home page", "MISM page", "MSIT page"]
    texts = [t.replace("&#39;", "'") for t in re.findall(r'data-bot-text="([^"]*)"', html)]
    assert all("MSIT" in text for text in texts[::2]), "the home and MSIT pages answer for MSIT"
    assert "answer-preview.js" in html


def test_an_editor_fills_a_known_unknown_and_sees_it_with_its_history(client, db_url):
    response = fill(client, TOEFL, text="The test's TOEFL minimum is 101.", source=SOURCE, note="office confirmed")
    assert response.status_code == 302 and "knowledge/fact" in response.headers["Location"]
    html = page(client, response.headers["Location"])
    assert "Saved as version 2" in html and "The test&#39;s TOEFL minimum is 101." in html
    assert "Why: office confirmed" in html and "+text: The test&#39;s TOEFL minimum is 101." in html
    previews = re.findall(r'data-bot-text="([^"]*)"', html)
    assert previews and all("TOEFL minimum is 101" in text for text in previews)
    recent = rows(page(client, "/staff/knowledge?flag=recent"))
    assert recent == [("English tests", "All programs")]
    store = KnowledgeStore(db_url)
    assert get_fact(store.current()[1], TOEFL) == {"text": "The test's TOEFL minimum is 101.", "source": SOURCE}
    store.dispose()


@pytest.mark.parametrize(
    "fields, message",
    [
        (
            {"source": "https://www.gradcafe.example/toefl"},
            "<strong>source</strong>: https://www.gradcafe.example/toefl is not an official page",
        ),
        ({"note": ""}, "<strong>note</strong>: say why"),
        ({"as_of": "2026-02-30"}, "<strong>as_of</strong>: &#39;2026-02-30&#39; is not a day"),
        ({"dates-0-label": "Round 1"}, "<strong>dates</strong>: date row 1 needs both a label and a day"),
        ({"text": "x\x00y"}, "<strong>text</strong>: contains a NUL character"),
    ],
)
def test_an_invalid_change_is_refused_with_the_field_and_the_form_kept(client, db_url, fields, message):
    data = {"text": "The test's TOEFL minimum is 101.", "source": SOURCE, "note": "n", **fields}
    response = fill(client, TOEFL, **data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html
    assert "The test&#39;s TOEFL minimum is 101." in html or "x" in html, "what staff typed is still there"
    store = KnowledgeStore(db_url)
    assert store.current()[0].id == 1, "nothing saved"
    store.dispose()


def test_preview_shows_a_draft_without_saving_it(client, db_url):
    response = fill(client, TOEFL, text="Draft minimum 99.", source=SOURCE, note="n", action="preview")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Preview of this draft (not saved)" in html
    assert "Draft minimum 99." in html
    store = KnowledgeStore(db_url)
    assert store.current()[0].id == 1
    store.dispose()


def test_a_fact_changed_since_the_form_opened_is_refused(client, db_url):
    path = "programs.msit.facts.deadlines"
    html = page(client, f"/staff/knowledge/edit?path={quote(path)}")
    store = KnowledgeStore(db_url)
    fact = get_fact(store.current()[1], path)
    store.change_fact(path, {**fact, "text": "Changed meanwhile:"}, fingerprint(fact), "colleague", "meanwhile")
    data = {**form_of(html), "action": "save", "text": "My wording:", "source": str(fact["source"]), "note": "mine"}
    response = client.post(f"/staff/knowledge/edit?path={quote(path)}", data=data)
    assert response.status_code == 400
    assert "changed by colleague since you opened it" in response.get_data(as_text=True)
    assert get_fact(store.current()[1], path)["text"] == "Changed meanwhile:"
    store.dispose()


def test_a_correction_is_reverted_from_the_history(client, db_url):
    path = "programs.msit.facts.deadlines"
    store = KnowledgeStore(db_url)
    original = get_fact(store.current()[1], path)
    html = page(client, f"/staff/knowledge/edit?path={quote(path)}")
    day = re.search(r'name="dates-1-date" type="date" value="([^"]+)"', html).group(1)
    fields = dict(re.findall(r'name="(dates-\d-(?:label|date|applies_to))" (?:type="date" )?value="([^"]*)"', html))
    data = {**form_of(html), **fields, "action": "save", "text": original["text"], "source": str(original["source"])}
    data.update({f"dates-{i}-kind": "deadline" for i in range(3)}, **{"dates-1-date": "2026-11-15"})
    data.update(items="\n".join(original.get("items", [])), cycle=original["cycle"], as_of=str(original["as_of"]))
    data.update(note="spring deadline moved", link=str(original.get("link") or ""))
    response = client.post(f"/staff/knowledge/edit?path={quote(path)}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert get_fact(store.current()[1], path)["dates"][1]["date"].isoformat() == "2026-11-15" != day
    html = page(client, f"/staff/knowledge/fact?path={quote(path)}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert "Revert version 2" in html
    response = client.post("/staff/knowledge/revert", data={"csrf_token": token, "version": "2", "path": path})
    assert response.status_code == 302
    assert "Version 2 reverted (now version 3)" in page(client, response.headers["Location"])
    assert get_fact(store.current()[1], path) == original
    store.dispose()


@pytest.fixture
def viewer(app):
    from console.auth.accounts import Authenticator
    from console.config import load_config

    console = app.extensions["staff_console"]
    console.prepare()
    Authenticator(console.store, load_config()).set_password("reader", STAFF_PASSWORD, "viewer")
    test_client = app.test_client()
    assert log_in(test_client, "reader").status_code == 302
    return test_client


def test_a_viewer_reads_the_knowledge_but_cannot_change_anything(viewer, client, db_url):
    html = page(viewer, "/staff/knowledge")
    assert "English tests" in html and "knowledge/edit" not in html and "Your account reads only" in html
    assert "Revert version" not in page(viewer, "/staff/knowledge/fact?path=programs.msit.facts.deadlines")
    assert viewer.get(f"/staff/knowledge/edit?path={TOEFL}").status_code == 403
    editor_form = form_of(page(client, f"/staff/knowledge/edit?path={TOEFL}"))
    token = re.search(r'name="csrf-token" content="([^"]+)"', page(viewer, "/staff/knowledge")).group(1)
    data = {**editor_form, "csrf_token": token, "text": "t", "source": SOURCE, "note": "n", "action": "save"}
    refused = viewer.post(f"/staff/knowledge/edit?path={TOEFL}", data=data)
    assert refused.status_code == 403 and "read the console but not change it" in refused.get_data(as_text=True)
    assert viewer.post("/staff/knowledge/revert", data={"csrf_token": token, "version": "1"}).status_code == 403
    for path in ("/staff/training/start", "/staff/training/rollback", "/staff/training/1/activate", "/staff/erase/now"):
        assert viewer.post(path, data={"csrf_token": token, "confirm": "yes", "email": "a@b.c"}).status_code == 403
    assert (
        viewer.post("/staff/review/group", data={"csrf_token": token, "key": "x", "action": "reviewed"}).status_code
        == 403
    )
    store = KnowledgeStore(db_url)
    assert store.current()[0].id == 1
    store.dispose()
    assert viewer.post("/staff/logout", data={"csrf_token": token}).status_code == 302, "a viewer may log out"


def run(db_url: str, *argv: str) -> str:
    out = io.StringIO()
    assert cli.main(["--database-url", db_url, *argv], out=out) == 0
    return out.getvalue()


def test_the_command_line_sets_roles_and_exports_imports_and_lists_the_knowledge(db_url, tmp_path, settings):
    assert "(viewer)" in run(db_url, "set-password", "reader", "--generate", "--role", "viewer")
    store = KnowledgeStore(db_url)
    store.change_fact(TOEFL, {"text": "Minimum 101.", "source": SOURCE}, "-", "ann", "filled")
    exported = run(db_url, "knowledge", "export")
    assert yaml.safe_load(exported)["topics"]["english_tests"]["fact"]["text"] == "Minimum 101."
    path = tmp_path / "reviewed.yml"
    run(db_url, "knowledge", "export", "--output", str(path))
    assert load_knowledge(path).topics["english_tests"].fact.text == "Minimum 101."
    assert "Imported as knowledge version 3" in run(db_url, "knowledge", "import", str(path), "--note", "reviewed")
    history = run(db_url, "knowledge", "history").splitlines()
    assert history[0].split("\t")[3:] == ["import", "-", "reviewed"]
    assert history[1].split("\t")[2:] == ["ann", "edit", TOEFL, "filled"]
    broken = tmp_path / "broken.yml"
    broken.write_text("topics: [\n", encoding="utf-8")
    assert cli.main(["--database-url", db_url, "knowledge", "import", str(broken)], out=io.StringIO()) == 2
    assert store.current()[0].id == 3
    store.dispose()
