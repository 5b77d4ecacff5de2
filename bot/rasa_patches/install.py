"""The one step that installs every change this project makes inside Rasa, for the Rasa it was written for.

Called by ``GuardedSQLTrackerStore`` when Rasa creates it from the endpoints, so the guarantees
follow from the configuration, not from how the server was started: the action-server guard (an
apology with the contact, never silence), the health hand-over from the tracker store to the lock
store, and the measured speed-ups. Each patch replaces a Rasa 3.6 internal, so this refuses to run
on another Rasa version rather than patch code it was not checked against.
"""

from __future__ import annotations

import threading
from typing import Callable, List, Optional

import rasa

from bot.rasa_patches import action_guard, agent_health, speedups
from bot.rasa_patches.patch import Patch, apply
from core.knowledge import KnowledgeSource
from core.settings import load_settings

RASA_VERSION = "3.6.21"

_lock = threading.Lock()
_undo: Optional[Callable[[], None]] = None


class UnsupportedRasa(RuntimeError):
    """The installed Rasa is not the version these patches were written against."""


def check_version(version: str = rasa.__version__) -> None:
    if version != RASA_VERSION:
        raise UnsupportedRasa(
            f"bot.rasa_patches was written for Rasa {RASA_VERSION} and Rasa {version} is installed: "
            "check each patch against the new version, then update RASA_VERSION"
        )


def all_patches() -> List[Patch]:
    settings = load_settings()
    return [
        action_guard.patch(settings.action_timeout, KnowledgeSource()),
        agent_health.patch(),
        *speedups.patches(),
    ]


def install_patches() -> None:
    """Install every patch once per process (idempotent, thread-safe)."""
    global _undo
    with _lock:
        if _undo is None:
            check_version()
            _undo = apply(all_patches())


def installed() -> bool:
    return _undo is not None


def uninstall_patches() -> None:
    """Put Rasa back as it was (for tests, which create the guarded store in the test process)."""
    global _undo
    with _lock:
        if _undo is not None:
            _undo()
            _undo = None
