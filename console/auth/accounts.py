"""Staff logins: who may open the console, and how guessing passwords is slowed down.

Two sources of accounts:

* the environment (``STAFF_USER`` with ``STAFF_PASSWORD`` or ``STAFF_PASSWORD_HASH``), for
  deployments whose secrets come from the platform;
* the ``staff_users`` table, for a machine where nothing is configured: :func:`ensure_local_user`
  creates a ``staff`` user with a random password that the launcher prints once.

Passwords are kept only as werkzeug hashes. Failed attempts are recorded in
``staff_login_failures`` (shared by all web workers) and a user name/address pair is locked out
after five failures in fifteen minutes.

A login is a row in ``staff_sessions``; the signed cookie carries only its random id. Logging out
deletes the row, so a cookie copied before logout is refused afterwards, and a session unused for
``STAFF_IDLE_MINUTES`` (or older than ``STAFF_SESSION_HOURS``) ends on the server too.
"""

from __future__ import annotations

import secrets
import sys
import time
from functools import lru_cache
from typing import Any, List, Optional, Tuple

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from console.config import StaffConfig, load_config
from console.data.database import ROLES, ConsoleDatabase, login_failures, sessions, upsert, users
from console.data.privacy import clean_text
from core.settings import Settings

LOCAL_USER = "staff"
# A single address may try several user names; this bounds that too.
MAX_FAILURES_PER_ADDRESS = 20
# A session's last use is written at most this often (not on every page view).
TOUCH_SECONDS = 60


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked against when the user is unknown, so the response time does not reveal user names."""
    return generate_password_hash(secrets.token_hex(16))


def normalise_username(username: Any) -> str:
    """User names as stored and compared: sanitised (no NUL reaches the database), trimmed, lower case."""
    return clean_text(username, 64).strip().lower()


class Authenticator:
    def __init__(self, store: ConsoleDatabase, config: StaffConfig) -> None:
        self.store = store
        self.config = config
        self._env_hash = config.password_hash or (hash_password(config.password) if config.password else "")

    def _stored_hash(self, username: str) -> Optional[str]:
        if self.config.user and username == normalise_username(self.config.user) and self._env_hash:
            return self._env_hash
        with self.store.connect() as connection:
            return connection.execute(sa.select(users.c.password_hash).where(users.c.username == username)).scalar()

    def check(self, username: str, password: str) -> bool:
        """Whether the password is right; always does the same hashing work."""
        stored = self._stored_hash(normalise_username(username))
        valid = check_password_hash(stored or _dummy_hash(), password or "")
        return bool(stored) and valid

    def role(self, username: str) -> str:
        """``editor`` or ``viewer``; an unknown role (a typo in ``STAFF_ROLE``) reads only."""
        name = normalise_username(username)
        if self.config.user and name == normalise_username(self.config.user) and self._env_hash:
            role: Optional[str] = self.config.role
        else:
            with self.store.connect() as connection:
                role = connection.execute(sa.select(users.c.role).where(users.c.username == name)).scalar()
        return role if role in ROLES else "viewer"

    # -- rate limit -----------------------------------------------------------------------------
    def _window_start(self) -> float:
        return time.time() - self.config.failed_login_window_seconds

    def locked_out(self, username: str, address: str) -> bool:
        f = login_failures.c
        recent = sa.select(sa.func.count()).where(f.address == address[:64], f.failed_at >= self._window_start())
        with self.store.connect() as connection:
            per_user = connection.execute(recent.where(f.username == normalise_username(username))).scalar() or 0
            per_address = connection.execute(recent).scalar() or 0
        return per_user >= self.config.max_failed_logins or per_address >= MAX_FAILURES_PER_ADDRESS

    def record_failure(self, username: str, address: str) -> None:
        f = login_failures.c
        with self.store.session_scope() as connection:
            connection.execute(sa.delete(login_failures).where(f.failed_at < self._window_start() - 3600))
            connection.execute(
                sa.insert(login_failures).values(
                    username=normalise_username(username), address=address[:64], failed_at=time.time()
                )
            )

    def clear_failures(self, username: str, address: str) -> None:
        f = login_failures.c
        with self.store.session_scope() as connection:
            connection.execute(
                sa.delete(login_failures).where(f.username == normalise_username(username), f.address == address[:64])
            )

    # -- sessions -------------------------------------------------------------------------------
    def start_session(self, username: str) -> str:
        """Record a login; returns the id the session cookie carries. Ends expired sessions too."""
        session_id = secrets.token_urlsafe(32)
        now = time.time()
        with self.store.session_scope() as connection:
            connection.execute(sa.delete(sessions).where(self._expired(now)))
            connection.execute(
                sa.insert(sessions).values(
                    id=session_id, username=normalise_username(username), created_at=now, last_seen=now
                )
            )
        return session_id

    def _expired(self, now: float) -> Any:
        s = sessions.c
        return sa.or_(
            s.last_seen < now - self.config.idle_minutes * 60,
            s.created_at < now - self.config.session_hours * 3600,
        )

    def session_user(self, session_id: Any, touch: bool = True) -> Optional[str]:
        """The user of a live session, or ``None`` when it was ended, idle too long or too old.

        ``touch=False`` for requests a page's script makes on its own (polling): they must not keep
        an unattended console logged in forever.
        """
        if not isinstance(session_id, str) or not session_id or len(session_id) > 64:
            return None
        now = time.time()
        s = sessions.c
        with self.store.connect() as connection:
            row = connection.execute(sa.select(sessions).where(s.id == session_id)).first()
        if row is None:
            return None
        if (
            row.last_seen < now - self.config.idle_minutes * 60
            or row.created_at < now - self.config.session_hours * 3600
        ):
            self.end_session(session_id)
            return None
        if touch and now - row.last_seen > TOUCH_SECONDS:
            with self.store.session_scope() as connection:
                connection.execute(sa.update(sessions).where(s.id == session_id).values(last_seen=now))
        return str(row.username)

    def end_session(self, session_id: Any) -> None:
        if isinstance(session_id, str) and session_id:
            with self.store.session_scope() as connection:
                connection.execute(sa.delete(sessions).where(sessions.c.id == session_id))

    # -- local users ----------------------------------------------------------------------------
    def set_password(self, username: str, password: str, role: Optional[str] = None) -> None:
        """Create the local user (an editor unless ``role`` says otherwise) or replace its password
        (and its role, when given)."""
        if role is not None and role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        row = {
            "username": normalise_username(username),
            "password_hash": hash_password(password),
            "created_at": time.time(),
            "role": role or ROLES[0],
        }
        with self.store.session_scope() as connection:
            upsert(connection, users, [row], ["username"], ["password_hash", "role"] if role else ["password_hash"])

    def local_users(self) -> List[str]:
        with self.store.connect() as connection:
            return list(connection.execute(sa.select(users.c.username).order_by(users.c.username)).scalars())


def ensure_local_user(settings: Settings, config: Optional[StaffConfig] = None) -> Tuple[str, Optional[str]]:
    """Make sure someone can log in; return ``(user name, new password or None)``.

    With credentials in the environment nothing is created and the password is ``None``. Otherwise
    the first call creates the local user ``staff`` with a random password and returns it so the
    launcher can print it once; later calls return ``None`` because only the hash is stored (reset
    it with ``admissions-logs set-password staff``).
    """
    config = config or load_config()
    if config.env_user_configured:
        return config.user, None
    store = ConsoleDatabase(settings.database_url)
    try:
        store.create_schema()
        auth = Authenticator(store, config)
        users = auth.local_users()
        if users:
            return users[0], None
        password = secrets.token_urlsafe(12)
        auth.set_password(LOCAL_USER, password)
        return LOCAL_USER, password
    finally:
        store.dispose()


if __name__ == "__main__":  # python -m console.auth.accounts hash  -> prints a hash for STAFF_PASSWORD_HASH
    import getpass

    if sys.argv[1:] != ["hash"]:
        sys.exit("usage: python -m console.auth.accounts hash")
    print(hash_password(getpass.getpass("Password: ")))
