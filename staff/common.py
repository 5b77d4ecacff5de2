"""What every console page uses: the console of the current app, and numbers from the query string."""

from __future__ import annotations

from typing import Optional

from flask import current_app

from staff.console import Console

# The key under which the app keeps its console (``app.extensions``).
EXTENSION = "staff_console"


def console() -> Console:
    """The console of the app serving this request."""
    return current_app.extensions[EXTENSION]


def query_int(value: Optional[str], default: int) -> int:
    """A whole number from the query string; anything else means ``default``."""
    try:
        return int(value or default)
    except ValueError:
        return default
