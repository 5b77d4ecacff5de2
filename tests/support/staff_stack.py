"""A stack of its own for the browser tests that change what the assistant answers (knowledge,
models), with an editor from the environment and, optionally, local accounts with other roles."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Optional

from ops.launcher import Stack, settings_on_free_ports

STAFF_ENV = ("STAFF_USER", "STAFF_PASSWORD", "STAFF_ROLE")


@contextmanager
def staff_stack(
    model: Path, workdir: Path, editor: str, password: str, roles: Optional[Dict[str, str]] = None
) -> Iterator[Stack]:
    """Action server, Rasa and web server on a fresh SQLite file; ``roles``: local user -> role."""
    database_url = f"sqlite:///{workdir / 'conversations.db'}"
    saved = {name: os.environ.get(name) for name in STAFF_ENV}
    os.environ.update(STAFF_USER=editor, STAFF_PASSWORD=password, STAFF_ROLE="editor")
    if roles:
        from console.auth.accounts import Authenticator
        from console.config import load_config
        from console.data.database import ConsoleDatabase

        console_db = ConsoleDatabase(database_url)
        console_db.create_schema()
        for user, role in roles.items():
            Authenticator(console_db, load_config()).set_password(user, password, role)
        console_db.dispose()
    running = Stack(settings_on_free_ports(database_url), model=model, log_dir=workdir / "logs")
    try:
        running.start()
        yield running
    finally:
        running.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
