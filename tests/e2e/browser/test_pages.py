"""The demo site's pages (Flask test client, no browser): a page per program, each embedding the
widget with its program and the admissions contact from the knowledge file, and the home page
linking to them.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from tests.support.widget_harness import PROJECT_ROOT, make_web_app

RASA_URL = "http://rasa.test:5005"
PROGRAM_PAGES = ["/mism", "/msit"]


class _PageParser(HTMLParser):
    """Collects the widget's script tag and every link of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.widget: Optional[Dict[str, Optional[str]]] = None
        self.links: List[Dict[str, Optional[str]]] = []

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag == "script" and (attributes.get("src") or "").endswith("/chat-widget.js"):
            assert self.widget is None, "the widget is embedded twice"
            self.widget = attributes
        if tag == "a":
            self.links.append(attributes)


def parse(html: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(html)
    assert parser.widget is not None, "the page does not embed the widget"
    return parser


@pytest.fixture
def client(monkeypatch):
    monkeypatch.delenv("KNOWLEDGE_FILE", raising=False)
    return make_web_app(RASA_URL).test_client()


@pytest.mark.parametrize("path", PROGRAM_PAGES)
def test_program_page_embeds_the_widget_with_its_program_and_contact(client, knowledge, path):
    response = client.get(path)
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    program_id = path.strip("/")
    assert page.widget["data-program"] == program_id
    assert page.widget["data-server-url"] == RASA_URL
    assert page.widget["data-contact-email"] == knowledge.contact.email
    assert page.widget["data-contact-phone"] == knowledge.contact.phone
    assert page.widget["data-contact-office"] == knowledge.contact.office
    html = response.get_data(as_text=True)
    assert f'<h1 id="hero-title">{knowledge.programs[program_id].name}</h1>' in html
    # the current page is marked in the navigation, and the way home is there
    assert {"href": path, "aria-current": "page"} in page.links
    assert any(link.get("href") == "/" for link in page.links)


def test_home_page_names_no_program_and_links_every_program_page(client, knowledge):
    response = client.get("/")
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert "data-program" not in page.widget
    assert page.widget["data-contact-email"] == knowledge.contact.email
    assert page.widget["data-contact-phone"] == knowledge.contact.phone
    assert page.widget["data-contact-office"] == knowledge.contact.office
    hrefs = {link.get("href") for link in page.links}
    assert set(PROGRAM_PAGES) <= hrefs
    # the contact section too comes from the knowledge file
    assert f"mailto:{knowledge.contact.email}" in hrefs
    assert "tel:+1" + "".join(c for c in knowledge.contact.phone if c.isdigit()) in hrefs


def test_every_program_page_is_a_program_of_the_knowledge_file(knowledge):
    pages = sorted(p.stem for p in (PROJECT_ROOT / "website" / "templates" / "programs").glob("*.html"))
    assert pages == sorted(p.strip("/") for p in PROGRAM_PAGES)
    assert set(pages) <= set(knowledge.programs), "data-program must be a program id the action server knows"


def test_unknown_program_page_is_not_found(client):
    assert client.get("/mba").status_code == 404


def test_contact_follows_an_edit_of_the_knowledge_file(monkeypatch, tmp_path: Path, knowledge):
    edited = tmp_path / "programs.yml"
    text = (PROJECT_ROOT / "knowledge" / "programs.yml").read_text(encoding="utf-8")
    edited.write_text(text.replace(f"email: {knowledge.contact.email}", "email: desk@example.edu"), encoding="utf-8")
    monkeypatch.setenv("KNOWLEDGE_FILE", str(edited))
    page = parse(make_web_app(RASA_URL).test_client().get("/msit").get_data(as_text=True))
    assert page.widget["data-contact-email"] == "desk@example.edu"
    assert page.widget["data-program"] == "msit"


def test_broken_knowledge_file_leaves_the_pages_up_without_contact(monkeypatch, tmp_path: Path):
    broken = tmp_path / "programs.yml"
    broken.write_text("contact: [unclosed\n", encoding="utf-8")
    monkeypatch.setenv("KNOWLEDGE_FILE", str(broken))
    client = make_web_app(RASA_URL).test_client()
    for path in ["/", *PROGRAM_PAGES]:
        response = client.get(path)
        assert response.status_code == 200, path
        page = parse(response.get_data(as_text=True))
        assert not any(key.startswith("data-contact-") for key in page.widget), path  # the widget's fallback
        assert "https://www.heinz.cmu.edu/admissions/" in {link.get("href") for link in page.links}
    assert parse(client.get("/mism").get_data(as_text=True)).widget["data-program"] == "mism"
