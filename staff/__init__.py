"""Staff console: admissions staff review the conversations the assistant stored.

The web app mounts :func:`create_blueprint` at ``/staff``; the ``admissions-logs`` command
(:mod:`staff.cli`) offers the same data on the command line. See docs/staff-console.md.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint


def create_blueprint(settings: Any) -> Blueprint:
    """The console's blueprint for ``settings`` (database URL, miss threshold, retention)."""
    from staff.views import build_blueprint

    return build_blueprint(settings)
