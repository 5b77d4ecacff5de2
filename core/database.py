"""Can the conversation database be reached? One answer for the launcher, /healthz and the Rasa server."""

from __future__ import annotations

from typing import Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

CONNECT_TIMEOUT_SECONDS = 5


def describe(database_url: str) -> str:
    """Where the database is, without its password: for messages to operators."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"SQLite file {url.database}"
    return f"{url.get_backend_name()} at {url.host or 'localhost'}:{url.port or 5432}/{url.database}"


def database_problem(database_url: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> Optional[str]:
    """Connect once and run ``SELECT 1``; return why that failed, in one line, or None."""
    url = make_url(database_url)
    connect_args: Dict[str, object] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, int(timeout))
    elif url.get_backend_name() == "sqlite":
        connect_args["timeout"] = timeout
    try:
        engine = sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        finally:
            engine.dispose()
    except (SQLAlchemyError, OSError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return f"the conversation database ({describe(database_url)}) is unreachable: {reason}"
    return None
