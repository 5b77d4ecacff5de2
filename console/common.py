"""What every console page uses: the console of the current app, safe redirects, numbers from the
query string, the conversation a URL names, and the helpers every template gets."""

from __future__ import annotations

from typing import Any, Dict, Optional
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    g,
    request,
    url_for,
)

from console.console import Console
from console.data.dates import format_time
from console.data.privacy import clean_text, display_id, url_id
from console.data.queries import CONVERSATION_STATUSES, MESSAGE_STATUSES
from console.data.review import ReviewError
from core.stack_status import degraded_parts, read_stack_status

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


def safe_next(target: Optional[str], default: str) -> str:
    """Only redirect back into the console (never to another site, never a broken header)."""
    if not target or len(target) > 2000 or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return default
    parts = urlsplit(target)
    prefix = url_for("staff.conversations.conversations")
    if parts.scheme or parts.netloc or not parts.path.startswith(prefix) or target.startswith("//"):
        return default
    return target


def chosen_topic(status: str, intent: Optional[str]) -> Optional[str]:
    """The label of the topic staff picked; only the list's topics (or out of scope) may be assigned."""
    if status != "assigned":
        return None
    label = console().vocabulary.topic_choices().get(intent or "")
    if label is None:
        raise ReviewError("Pick the topic from the list (or “None of these / out of scope”).")
    return label


def client_address() -> str:
    return request.remote_addr or "unknown"


def sender_id(key: str) -> str:
    """The conversation a URL or form names: by its reference (``c-...``, for private ids) or its id.

    A key that is not clean text (NUL, control characters) names no conversation: 404, before it
    reaches the database (PostgreSQL refuses NUL even as a parameter).
    """
    if not key or clean_text(key, 255) != key:
        abort(404)
    return console().conversation_queries.resolve(key) or key


def template_helpers() -> Dict[str, Any]:
    staff_console = current_app.extensions.get(EXTENSION)
    tz = staff_console.tz if staff_console else None

    def fmt_time(timestamp: Optional[float], seconds: bool = False) -> str:
        return format_time(timestamp, tz, seconds) if tz else ""

    def url_with(endpoint: str, args: Dict[str, str], **changes: Any) -> str:
        merged = {**args, **{k: v for k, v in changes.items() if v not in (None, "")}}
        for key, value in changes.items():
            if value in (None, ""):
                merged.pop(key, None)
        return url_for(endpoint, **merged)

    vocabulary = staff_console.vocabulary if staff_console else None
    return {
        "fmt_time": fmt_time,
        "topic_label": vocabulary.topic_label if vocabulary else str,
        # What staff picked for a missed question, by its label (never the intent name).
        "assigned_label": (lambda intent: vocabulary.topic_choices().get(intent) or vocabulary.topic_label(intent))
        if vocabulary
        else str,
        "program_label": vocabulary.program_label if vocabulary else str,
        "display_id": display_id,
        "url_id": url_id,
        "pct": lambda v: "–" if v is None else f"{v * 100:.0f}%",
        "conf": lambda v: "–" if v is None else f"{v:.2f}",
        "url_with": url_with,
        "conversation_statuses": CONVERSATION_STATUSES,
        "message_statuses": MESSAGE_STATUSES,
        "staff_user": g.get("staff_user"),
        "can_edit": g.get("staff_role") == "editor",
        "sync": g.get("sync"),
        "timezone_name": staff_console.config.timezone_name if staff_console else "",
        "threshold": staff_console.threshold if staff_console else None,
        # The launcher's view of the other servers: a banner while visitors are affected.
        "stack_problems": degraded_parts(read_stack_status()),
    }
