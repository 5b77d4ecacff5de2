"""Console-only settings read from the environment.

The shared :class:`core.settings.Settings` holds what the whole project needs (database URL, secret
key, low-confidence threshold, retention). What only the staff console needs lives here, so that the
console can grow without touching the shared settings module.

Environment variables:

``STAFF_USER`` / ``STAFF_PASSWORD``
    A staff login given in plain text (hashed in memory at start-up, never written anywhere).
``STAFF_PASSWORD_HASH``
    Alternative to ``STAFF_PASSWORD``: a werkzeug hash (``python -m console.auth.accounts hash``).
``STAFF_ROLE``
    The role of that login: ``editor`` (default: changes knowledge and training) or ``viewer``
    (reads only). Local users get theirs from ``admissions-logs set-password USER --role``.
``STAFF_TIMEZONE``
    Time zone used to display times and to cut days in filters and charts (default America/New_York,
    where the admissions office works).
``STAFF_COOKIE_SECURE``
    ``1`` to send the session cookie over HTTPS only (set it behind a TLS proxy).
``STAFF_SESSION_HOURS``
    How long a login lasts at most (default 12).
``STAFF_IDLE_MINUTES``
    A login unused for this long ends (default 60).
``STAFF_PAGE_SIZE``
    Rows per page in the conversation list (default 50).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.settings import env_flag, env_int

DEFAULT_TIMEZONE = "America/New_York"


def load_timezone(name: str) -> tzinfo:
    """The configured zone, or UTC when the name is unknown (a typo must not take the console down)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class StaffConfig:
    user: str = field(default_factory=lambda: os.environ.get("STAFF_USER", "").strip())
    password: str = field(default_factory=lambda: os.environ.get("STAFF_PASSWORD", ""))
    password_hash: str = field(default_factory=lambda: os.environ.get("STAFF_PASSWORD_HASH", "").strip())
    role: str = field(default_factory=lambda: os.environ.get("STAFF_ROLE", "").strip().lower() or "editor")
    timezone_name: str = field(default_factory=lambda: os.environ.get("STAFF_TIMEZONE", "").strip() or DEFAULT_TIMEZONE)
    cookie_secure: bool = field(default_factory=lambda: env_flag("STAFF_COOKIE_SECURE"))
    session_hours: int = field(default_factory=lambda: env_int("STAFF_SESSION_HOURS", 12))
    idle_minutes: int = field(default_factory=lambda: max(1, env_int("STAFF_IDLE_MINUTES", 60)))
    page_size: int = field(default_factory=lambda: max(10, min(env_int("STAFF_PAGE_SIZE", 50), 500)))
    # Failed logins allowed per user name and client address within the window below.
    max_failed_logins: int = 5
    failed_login_window_seconds: int = 15 * 60
    # Seconds between two catch-up passes over new tracker events triggered by page views.
    sync_interval_seconds: float = 2.0
    # Longest a page view may spend catching up; the rest is picked up by the next views.
    sync_budget_seconds: float = 3.0

    @property
    def timezone(self) -> tzinfo:
        return load_timezone(self.timezone_name)

    @property
    def env_user_configured(self) -> bool:
        return bool(self.user and (self.password or self.password_hash))


def load_config(overrides: Optional[dict] = None) -> StaffConfig:
    """Read the environment; ``overrides`` lets tests and the CLI replace single values."""
    config = StaffConfig()
    if overrides:
        from dataclasses import replace

        config = replace(config, **overrides)
    return config
