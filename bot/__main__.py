"""``python -m bot [rasa run options]``: start the Rasa server, the same way locally and in production.

``make run`` (ops/launcher.py) and the production units (ops/systemd/) both start the Rasa server
with this entry point. Before Rasa starts it:

- takes the HTTP API token from ``RASA_TOKEN`` in the environment (readable only by the owner, in
  ``/proc/<pid>/environ``) and hands it to Rasa's command-line code inside the process, so it never
  appears on a command line, where ``ps`` shows it to every local user;
- refuses endpoints whose stores cannot keep the project's guarantees: the guarded tracker store
  reports database failures and installs the patches (bot/rasa_patches/install.py), and one of the
  guarded lock stores refuses a turn while the database is down;
- refuses a knowledge file that does not load, and caps the request size of the whole server
  (Sanic reads ``SANIC_REQUEST_MAX_SIZE``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, List, Optional

import yaml

from core.knowledge import KnowledgeError, KnowledgeSource
from core.settings import load_settings

TRACKER_STORE = "bot.stores.tracker_store.GuardedSQLTrackerStore"
LOCK_STORES = ("bot.stores.lock_store.SafeRedisLockStore", "bot.stores.lock_store.GuardedInMemoryLockStore")


def rasa_arguments(argv: List[str], token: str) -> List[str]:
    """The ``rasa`` argument list: ``run`` with the given options and the token from the environment."""
    if any(arg == "--auth-token" or arg.startswith("--auth-token=") for arg in argv):
        raise SystemExit("Pass the Rasa token in RASA_TOKEN, not on the command line (it would show in `ps`).")
    return ["run", *argv, *([f"--auth-token={token}"] if token else [])]


def endpoints_path(argv: List[str]) -> Path:
    """The endpoints file ``rasa run`` would read: ``--endpoints`` or Rasa's default ``endpoints.yml``."""
    for index, arg in enumerate(argv):
        if arg.startswith("--endpoints="):
            return Path(arg.split("=", 1)[1])
        if arg == "--endpoints" and index + 1 < len(argv):
            return Path(argv[index + 1])
    return Path("endpoints.yml")


def store_problem(path: Path) -> Optional[str]:
    """Why these endpoints would serve turns the project cannot guard (one line), or None."""
    try:
        endpoints: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        return f"cannot read the endpoints file {path}: {error}"
    if not isinstance(endpoints, dict):
        return f"the endpoints file {path} is not a mapping"
    tracker = (endpoints.get("tracker_store") or {}).get("type")
    lock = (endpoints.get("lock_store") or {}).get("type")
    if tracker != TRACKER_STORE:
        return (
            f"{path}: tracker_store type is {tracker!r}; it must be {TRACKER_STORE} "
            "(Rasa's own stores keep conversations in memory, silently, when the database fails)"
        )
    if lock not in LOCK_STORES:
        return f"{path}: lock_store type is {lock!r}; it must be one of {', '.join(LOCK_STORES)}"
    return None


def main(argv: Optional[List[str]] = None) -> None:
    os.umask(0o077)  # the SQLite tracker store and log files Rasa creates: owner only
    argv = sys.argv[1:] if argv is None else argv
    settings = load_settings()
    os.environ.setdefault("SANIC_REQUEST_MAX_SIZE", str(settings.max_request_bytes))
    try:
        KnowledgeSource()
    except KnowledgeError as error:
        sys.exit(f"Rasa server not started: {error}")
    problem = store_problem(endpoints_path(argv))
    if problem:
        sys.exit(f"Rasa server not started: {problem}")
    arguments = rasa_arguments(argv, os.environ.get("RASA_TOKEN", ""))
    from rasa.__main__ import main as rasa_main

    # Rasa parses sys.argv; changing it here does not change the process's command line (/proc/*/cmdline).
    sys.argv = ["rasa", *arguments]
    rasa_main()


if __name__ == "__main__":
    main()
