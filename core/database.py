"""Can the conversation database be reached? One answer for the launcher, /healthz and the Rasa server."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

CONNECT_TIMEOUT_SECONDS = 5


def small_engine(database_url: str) -> Engine:
    """An engine for a component's few small queries (the knowledge and model stores): SQLite waits
    for Rasa's short writes and opens the file per use; PostgreSQL keeps two pinged connections and
    gives up connecting after a few seconds, so a database that is down never holds a caller long."""
    url = make_url(database_url.replace("postgres://", "postgresql://", 1))
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        return sa.create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, poolclass=sa.pool.NullPool
        )
    return sa.create_engine(
        url, pool_size=2, max_overflow=2, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )


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
