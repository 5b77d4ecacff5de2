"""The web server: the public demo page with the chat widget (``/``) and the staff console (``/staff/``).

One small Flask app so that ``make run`` starts a single web process. The page is rendered from
``web/index.html`` with the Rasa server URL filled in; the widget itself is static (``web/static``).
"""

from __future__ import annotations

from typing import Optional

from flask import Flask, render_template

from core.settings import PROJECT_ROOT, Settings, load_settings

WEB_DIR = PROJECT_ROOT / "web"


def create_app(settings: Optional[Settings] = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(
        __name__,
        static_folder=str(WEB_DIR / "static"),
        static_url_path="/static",
        template_folder=str(WEB_DIR),
    )
    app.config["SETTINGS"] = settings
    app.config["SECRET_KEY"] = settings.secret_key

    @app.get("/")
    def index() -> str:
        return render_template("index.html", rasa_url=settings.public_rasa_url)

    @app.get("/healthz")
    def healthz() -> dict:
        # 200 while this web server answers; "stack" and "children" report the launcher's view of
        # the other servers (a child it is restarting makes the stack "degraded").
        from webapp.launcher import read_stack_status

        return {"status": "ok", **read_stack_status()}

    _register_staff_console(app, settings)
    return app


def _register_staff_console(app: Flask, settings: Settings) -> None:
    from staff import create_blueprint

    app.register_blueprint(create_blueprint(settings), url_prefix="/staff")
