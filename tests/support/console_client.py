"""Small helpers shared by the console's web and browser tests."""

from __future__ import annotations

import io
import re

STAFF_PASSWORD = "correct horse battery"


def csrf_token(client, path: str = "/staff/login") -> str:
    """The CSRF token rendered into a console page (the login page works without a session)."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def log_in(client, user: str = "admissions", password: str = STAFF_PASSWORD, **kwargs):
    token = csrf_token(client)
    return client.post("/staff/login", data={"username": user, "password": password, "csrf_token": token}, **kwargs)


def run_cli(settings, *argv: str) -> tuple:
    """``admissions-logs ARGV`` against the settings' database: (exit code, what it printed)."""
    from console import cli

    out = io.StringIO()
    code = cli.main(["--database-url", settings.database_url, *argv], out=out)
    return code, out.getvalue()
