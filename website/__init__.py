"""The web server: the public demo site with the chat widget, and the staff console (``/staff/``) mounted.

One small Flask app so that ``make run`` starts a single web process. The demo site is a home page
(``/``) and one page per program (``/mism``, ``/msit``: one for each ``templates/programs/<id>.html``),
all rendered from ``templates/base.html`` with the Rasa server URL and the admissions contact from the
knowledge file filled in; the widget itself is static (``static/``). The live hand-off's endpoints
for the widget and the action server are in :mod:`console.live.visitor`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from flask import Flask, render_template, request, url_for

from core.knowledge import Contact, Knowledge, KnowledgeError, KnowledgeSource
from core.settings import Settings, load_settings
from core.stack_status import read_stack_status
from website.health import DatabaseWatch

# A program gets a page when someone has written its content: templates/programs/<program id>.html.
PROGRAM_PAGES_DIR = Path(__file__).parent / "templates" / "programs"

logger = logging.getLogger(__name__)


def create_app(settings: Optional[Settings] = None) -> Flask:
    settings = settings or load_settings()
    # The package's own templates/ (home, program pages) and static/ (the widget, the site's CSS).
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.config["SECRET_KEY"] = settings.secret_key

    _register_site(app, settings)

    @app.get("/")
    def index() -> str:
        return render_template("index.html", rasa_url=settings.public_rasa_url)

    database = DatabaseWatch(settings.database_url)

    @app.get("/healthz")
    def healthz() -> Tuple[Dict[str, Any], int]:
        # "stack" and "children" report the launcher's view of the other servers (a child it is
        # restarting makes the stack "degraded"); an unreachable conversation database makes it
        # "degraded" and the answer 503, since no visitor's turn can be kept meanwhile.
        report: Dict[str, Any] = {"status": "ok", **read_stack_status()}
        problem = database.problem()
        report["database"] = "unavailable" if problem else "ok"
        if problem:
            report["stack"] = "degraded"
            report["database_error"] = problem
        return report, 503 if problem else 200

    _register_staff_console(app, settings)
    return app


def _register_staff_console(app: Flask, settings: Settings) -> None:
    """The console at ``/staff/`` and the live hand-off's visitor and internal endpoints at ``/handoff/``
    (they share the console's database; docs/handoff.md)."""
    from console import init_app

    init_app(app, settings)


# --------------------------------------------------------------------------------- demo site


class SiteKnowledge:
    """The knowledge file as the pages need it: re-read when it changes, never fatal.

    A missing or broken file must not take the public pages down: they then render without the
    contact attributes, and the widget falls back to "the admissions office".
    """

    def __init__(self) -> None:
        self._source: Optional[KnowledgeSource] = None

    def get(self) -> Optional[Knowledge]:
        try:
            if self._source is None:
                self._source = KnowledgeSource()
            return self._source.get()
        except (KnowledgeError, OSError) as error:
            logger.error("Demo pages rendered without the knowledge file: %s", error)
            return None


@dataclass(frozen=True)
class ProgramLink:
    program_id: str
    label: str
    href: str


def program_page_ids() -> List[str]:
    return sorted(path.stem for path in PROGRAM_PAGES_DIR.glob("*.html") if re.fullmatch(r"[a-z0-9_]+", path.stem))


def tel_href(phone: str) -> str:
    """``412-268-2164`` → ``tel:+14122682164`` (North American numbers, as the office publishes them)."""
    digits = re.sub(r"[^0-9]", "", phone)
    return "tel:+" + digits if phone.strip().startswith("+") else "tel:+1" + digits


def _register_site(app: Flask, settings: Settings) -> None:
    """The program pages, and what every page of the demo site shows: nav links and the contact."""
    site = SiteKnowledge()
    page_ids = program_page_ids()

    @app.context_processor
    def site_context() -> Dict[str, Any]:
        if request.blueprint is not None:  # the staff console has its own templates
            return {}
        knowledge = site.get()
        contact: Optional[Contact] = knowledge.contact if knowledge else None
        return {
            "site_programs": [
                ProgramLink(pid, _short_name(knowledge, pid), url_for(f"program_{pid}")) for pid in page_ids
            ],
            "site_contact": contact,
            "site_contact_tel": tel_href(contact.phone) if contact else None,
            "site_knowledge": knowledge,
        }

    for pid in page_ids:
        app.add_url_rule(f"/{pid}", endpoint=f"program_{pid}", view_func=_program_view(settings, pid), methods=["GET"])


def _program_view(settings: Settings, program_id: str) -> Callable[[], str]:
    def view() -> str:
        return render_template("program.html", rasa_url=settings.public_rasa_url, program_id=program_id)

    return view


def _short_name(knowledge: Optional[Knowledge], program_id: str) -> str:
    program = knowledge.programs.get(program_id) if knowledge else None
    return program.short_name if program else program_id.upper()
