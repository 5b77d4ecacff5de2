"""Staff console: admissions staff review the conversations the assistant stored, and act on them.

One package per feature (auth, conversations, missed, trends, exports, live, followups, knowledge,
training, privacy), each with its own blueprint and views, over one data layer (``console.data``).
:func:`init_app` mounts them at ``/staff`` under the parent blueprint of ``console.guard`` (login,
CSRF, security headers), and the live chat's visitor endpoints at ``/handoff``. The
``admissions-logs`` command (:mod:`console.cli`) offers the same data on the command line. See
docs/staff-console.md.
"""

from __future__ import annotations

from typing import Optional

from flask import Flask

from console.auth.views import bp as auth
from console.config import StaffConfig
from console.console import Console
from console.conversations.views import bp as conversations
from console.exports.views import bp as exports
from console.followups.views import bp as followups
from console.followups.views import template_helpers as followup_counts
from console.guard import console_blueprint
from console.knowledge.views import bp as knowledge
from console.live import visitor
from console.live.views import bp as live
from console.live.views import live_context
from console.missed.views import bp as missed
from console.privacy.views import bp as privacy
from console.training.views import bp as training
from console.trends.views import bp as trends
from core.settings import Settings

FEATURES = (auth, conversations, missed, trends, exports, live, followups, knowledge, training, privacy)


def init_app(app: Flask, settings: Settings, config: Optional[StaffConfig] = None) -> Console:
    """Mount the console at ``/staff`` and the live chat's visitor endpoints at ``/handoff``."""
    staff_console = Console(settings, config)
    parent = console_blueprint(staff_console)
    # The navigation on every console page: the live queue's and the open follow-ups' counts.
    parent.context_processor(live_context)
    parent.context_processor(followup_counts)
    for feature in FEATURES:
        parent.register_blueprint(feature)
    app.register_blueprint(parent, url_prefix="/staff")
    visitor.register(app)
    return staff_console
