"""``python -m channels [rasa run options]``: start the Rasa server the way this project needs it.

Rasa's own ``rasa run`` takes the HTTP API token only as ``--auth-token=…``, which every local user
can read with ``ps``. This entry point takes it from ``RASA_TOKEN`` in the environment (readable
only by the owner, in ``/proc/<pid>/environ``) and hands it to Rasa's command-line code inside the
process, so it never appears on a command line. Before Rasa starts it also caps the request size of
the whole server (Sanic reads ``SANIC_REQUEST_MAX_SIZE``) and installs the action-server guard.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

from channels import action_guard
from core.knowledge import KnowledgeError, KnowledgeSource
from core.settings import load_settings


def rasa_arguments(argv: List[str], token: str) -> List[str]:
    """The ``rasa`` argument list: ``run`` with the given options and the token from the environment."""
    if any(arg == "--auth-token" or arg.startswith("--auth-token=") for arg in argv):
        raise SystemExit("Pass the Rasa token in RASA_TOKEN, not on the command line (it would show in `ps`).")
    return ["run", *argv, *([f"--auth-token={token}"] if token else [])]


def main(argv: Optional[List[str]] = None) -> None:
    os.umask(0o077)  # the SQLite tracker store and log files Rasa creates: owner only
    settings = load_settings()
    os.environ.setdefault("SANIC_REQUEST_MAX_SIZE", str(settings.max_request_bytes))
    try:
        knowledge = KnowledgeSource()
    except KnowledgeError as error:
        sys.exit(f"Rasa server not started: {error}")
    action_guard.install(settings.action_timeout, knowledge)
    arguments = rasa_arguments(sys.argv[1:] if argv is None else argv, os.environ.get("RASA_TOKEN", ""))
    from rasa.__main__ import main as rasa_main

    # Rasa parses sys.argv; changing it here does not change the process's command line (/proc/*/cmdline).
    sys.argv = ["rasa", *arguments]
    rasa_main()


if __name__ == "__main__":
    main()
