"""Staff logins: who may open the console, and how guessing passwords is slowed down.

Two sources of accounts:

* the environment (``STAFF_USER`` with ``STAFF_PASSWORD`` or ``STAFF_PASSWORD_HASH``), for
  deployments whose secrets come from the platform;
* the ``staff_users`` table, for a machine where nothing is configured: :func:`ensure_local_user`
  creates a ``staff`` user with a random password that the launcher prints once.

Passwords are kept only as werkzeug hashes. Failed attempts are recorded in
``staff_login_failures`` (shared by all web workers) and a user name/address pair is locked out
after five failures in fifteen minutes.
"""

from __future__ import annotations

import secrets
import sys
import time
from functools import lru_cache
from typing import Any, Optional, Tuple

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from staff.config import StaffConfig, load_config
from staff.schema import create_tables
from staff.store import EventStore, create_store

LOCAL_USER = "staff"
# A single address may try several user names; this bounds that too.
MAX_FAILURES_PER_ADDRESS = 20


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked against when the user is unknown, so the response time does not reveal user names."""
    return generate_password_hash(secrets.token_hex(16))


def normalise_username(username: Any) -> str:
    return str(username or "").strip().lower()[:64]


class Authenticator:
    def __init__(self, store: EventStore, config: StaffConfig) -> None:
        self.store = store
        self.config = config
        self._env_hash = config.password_hash or (hash_password(config.password) if config.password else "")

    def _stored_hash(self, username: str) -> Optional[str]:
        if self.config.user and username == normalise_username(self.config.user) and self._env_hash:
            return self._env_hash
        with self.store.connect() as connection:
            return connection.execute(
                sa.text("SELECT password_hash FROM staff_users WHERE username = :u"), {"u": username}
            ).scalar()

    def check(self, username: str, password: str) -> bool:
        """Whether the password is right; always does the same hashing work."""
        stored = self._stored_hash(normalise_username(username))
        valid = check_password_hash(stored or _dummy_hash(), password or "")
        return bool(stored) and valid

    # -- rate limit -----------------------------------------------------------------------------
    def _window_start(self) -> float:
        return time.time() - self.config.failed_login_window_seconds

    def locked_out(self, username: str, address: str) -> bool:
        with self.store.connect() as connection:
            per_user = connection.execute(
                sa.text(
                    "SELECT count(*) FROM staff_login_failures WHERE username = :u AND address = :a"
                    " AND failed_at >= :since"
                ),
                {"u": normalise_username(username), "a": address[:64], "since": self._window_start()},
            ).scalar()
            per_address = connection.execute(
                sa.text("SELECT count(*) FROM staff_login_failures WHERE address = :a AND failed_at >= :since"),
                {"a": address[:64], "since": self._window_start()},
            ).scalar()
        return per_user >= self.config.max_failed_logins or per_address >= MAX_FAILURES_PER_ADDRESS

    def record_failure(self, username: str, address: str) -> None:
        with self.store.begin() as connection:
            connection.execute(
                sa.text("DELETE FROM staff_login_failures WHERE failed_at < :old"),
                {"old": self._window_start() - 3600},
            )
            connection.execute(
                sa.text("INSERT INTO staff_login_failures (username, address, failed_at) VALUES (:u, :a, :now)"),
                {"u": normalise_username(username), "a": address[:64], "now": time.time()},
            )

    def clear_failures(self, username: str, address: str) -> None:
        with self.store.begin() as connection:
            connection.execute(
                sa.text("DELETE FROM staff_login_failures WHERE username = :u AND address = :a"),
                {"u": normalise_username(username), "a": address[:64]},
            )

    # -- local users ----------------------------------------------------------------------------
    def set_password(self, username: str, password: str) -> None:
        """Create the local user or replace its password."""
        with self.store.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO staff_users (username, password_hash, created_at) VALUES (:u, :h, :now)"
                    " ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash"
                ),
                {"u": normalise_username(username), "h": hash_password(password), "now": time.time()},
            )

    def local_users(self) -> list:
        with self.store.connect() as connection:
            return [row[0] for row in connection.execute(sa.text("SELECT username FROM staff_users ORDER BY username"))]


def ensure_local_user(settings: Any, config: Optional[StaffConfig] = None) -> Tuple[str, Optional[str]]:
    """Make sure someone can log in; return ``(user name, new password or None)``.

    With credentials in the environment nothing is created and the password is ``None``. Otherwise
    the first call creates the local user ``staff`` with a random password and returns it so the
    launcher can print it once; later calls return ``None`` because only the hash is stored (reset
    it with ``admissions-logs set-password staff``).
    """
    config = config or load_config()
    if config.env_user_configured:
        return config.user, None
    store = create_store(settings.database_url)
    try:
        create_tables(store)
        auth = Authenticator(store, config)
        users = auth.local_users()
        if users:
            return users[0], None
        password = secrets.token_urlsafe(12)
        auth.set_password(LOCAL_USER, password)
        return LOCAL_USER, password
    finally:
        store.dispose()


if __name__ == "__main__":  # python -m staff.auth hash  -> prints a hash for STAFF_PASSWORD_HASH
    import getpass

    if sys.argv[1:] != ["hash"]:
        sys.exit("usage: python -m staff.auth hash")
    print(hash_password(getpass.getpass("Password: ")))
