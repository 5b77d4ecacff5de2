"""Start, watch and stop the whole stack: action server, Rasa server and web server.

``make run`` uses ``main()``; the end-to-end and browser tests use ``Stack`` directly (on free
ports, with their own database), so what the tests exercise is exactly what a newcomer runs.

A child that dies is started again after a growing pause (``RESTART_DELAYS``) instead of taking the
stack down; its state and restarts go to a status file that the web server's ``/healthz`` reports.
Every file the stack creates (logs, the SQLite database, the status file) is readable by the owner
only: the children run with umask 077. Secrets travel in environments only, never on a command line,
and each child gets only those it uses: the Rasa token reaches Rasa and the web server (which stores
staff messages through Rasa's HTTP API); the hand-off token (``HANDOFF_TOKEN``, generated when unset)
reaches the web server, which checks it, and the action server, which shows it when it queues a
visitor for a live chat.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import yaml
from sqlalchemy.engine import make_url

from core.settings import PROJECT_ROOT, Settings, load_settings
from core.stack_status import STATUS_FILE_ENV

VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_MODEL = PROJECT_ROOT / "models" / "heinz.tar.gz"
PYTHON = sys.executable
UMASK = 0o077  # files the stack creates: 0600, directories 0700
# Seconds before restarting a child that died, by how often it died in a row; a child that stayed
# up for STABLE_AFTER seconds starts again from the first delay.
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
STABLE_AFTER = 120.0
# Secrets a child gets only when it uses them (see Stack._env), never inherited wholesale.
_CHILD_SECRETS = ("RASA_TOKEN", "HANDOFF_TOKEN")
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def free_port() -> int:
    """A port the system has just found free, for a child server that must be told its port.

    An in-process server binds port 0 itself instead (tests/support/widget_harness.py); a child
    (Rasa, the action server, waitress) cannot, so the launcher picks, and a clash makes the child
    fail to start, which the launcher reports.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_on_free_ports(database_url: str, redis_url: str = "") -> Settings:
    """Settings for a private stack (tests, benchmarks): free ports, its own database, CORS for its page."""
    web_port, rasa_port = free_port(), free_port()
    return Settings(
        web_port=web_port,
        rasa_port=rasa_port,
        action_port=free_port(),
        public_rasa_url=f"http://127.0.0.1:{rasa_port}",
        database_url=database_url,
        redis_url=redis_url,
        cors_origins=[f"http://127.0.0.1:{web_port}", f"http://localhost:{web_port}"],
    )


def tracker_store_config(database_url: str) -> Dict[str, object]:
    """Rasa's SQL tracker store settings for a database URL (SQLite file or PostgreSQL).

    The password is not written to disk: Rasa substitutes ``${DB_PASSWORD}`` from the environment.
    """
    url = make_url(database_url)
    # Rasa's SQL store, reporting failures instead of falling back to memory silently (bot/stores/tracker_store.py).
    store = "bot.stores.tracker_store.GuardedSQLTrackerStore"
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or VAR_DIR / "conversations.db")
        path.parent.mkdir(parents=True, exist_ok=True)
        return {"type": store, "dialect": "sqlite", "db": str(path.resolve())}
    config: Dict[str, object] = {
        "type": store,
        "dialect": url.get_backend_name(),
        "url": url.host or "127.0.0.1",
        "db": url.database,
        "username": url.username,
    }
    if url.port:
        config["port"] = url.port
    if url.password:
        config["password"] = "${DB_PASSWORD}"
    return config


def lock_store_config(redis_url: str) -> Optional[Dict[str, object]]:
    """Redis lock store settings; Rasa's own RedisLockStore races across servers (bot/stores/lock_store.py)."""
    if not redis_url:
        return None
    url = make_url(redis_url)
    config: Dict[str, object] = {
        "type": "bot.stores.lock_store.SafeRedisLockStore",
        "url": url.host or "127.0.0.1",
        "port": url.port or 6379,
        "db": int(url.database or 0),
    }
    if url.password:
        config["password"] = "${REDIS_PASSWORD}"
    return config


def render_endpoints(settings: Settings, path: Path) -> Path:
    endpoints: Dict[str, object] = {
        "action_endpoint": {"url": f"http://127.0.0.1:{settings.action_port}/webhook"},
        "tracker_store": tracker_store_config(settings.database_url),
    }
    endpoints["lock_store"] = lock_store_config(settings.redis_url) or {
        "type": "bot.stores.lock_store.GuardedInMemoryLockStore"
    }
    _write_private(
        path,
        "# Generated by ops/launcher.py from the environment; do not edit.\n"
        + yaml.safe_dump(endpoints, sort_keys=False),
    )
    return path


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def _secret_env(settings: Settings) -> Dict[str, str]:
    env: Dict[str, str] = {}
    db_password = make_url(settings.database_url).password
    if db_password:
        env["DB_PASSWORD"] = str(db_password)
    if settings.redis_url and make_url(settings.redis_url).password:
        env["REDIS_PASSWORD"] = str(make_url(settings.redis_url).password)
    return env


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold stop signals that arrive inside the block and deliver them once it ends."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers run in the main thread only; there is nothing to hold here
        return
    pending: List[int] = []
    previous = {signum: signal.signal(signum, lambda got, _frame: pending.append(got)) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for got in pending:
            signal.raise_signal(got)


def live_children(pid: int) -> List[int]:
    """The processes whose parent is ``pid`` and that have not exited (zombies excluded), from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command name: state, ppid, ...
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            children.append(int(stat.parent.name))
    return children


def wait_for(url: str, timeout: float, process: Optional[subprocess.Popen] = None) -> None:
    """Poll ``url`` until it answers, failing early if the process behind it has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


@dataclass
class Stack:
    """The three servers as child processes. ``start()`` returns once all of them answer."""

    settings: Settings
    model: Path = DEFAULT_MODEL
    token: str = field(default_factory=lambda: os.environ.get("RASA_TOKEN") or secrets.token_hex(16))
    handoff_token: str = field(default_factory=lambda: os.environ.get("HANDOFF_TOKEN") or secrets.token_hex(16))
    log_dir: Path = VAR_DIR / "logs"
    # Seconds on a clock that only goes forward; tests pass their own to step through the backoff.
    clock: Callable[[], float] = time.monotonic
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: Dict[str, List[str]] = field(default_factory=dict)
    # Per child: "running" / "restarting", restarts so far, last exit code, when it (re)started.
    health: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    _restart_at: Dict[str, float] = field(default_factory=dict)
    # The running Rasa server's Sanic workers: all seen alive once; since when it is being stopped
    # because one died (see _check_rasa_workers). Both start over with each new Rasa server.
    _all_workers_seen: bool = False
    _workers_stopping_since: Optional[float] = None

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.action_port}"

    @property
    def status_file(self) -> Path:
        return VAR_DIR / f"stack-{self.settings.web_port}.json"

    def _env(self, name: str) -> Dict[str, str]:
        env = {
            **{key: value for key, value in os.environ.items() if key not in _CHILD_SECRETS},
            **_secret_env(self.settings),
            "SANIC_HOST": self.settings.host,
            "WEB_PORT": str(self.settings.web_port),
            "RASA_PORT": str(self.settings.rasa_port),
            "ACTION_PORT": str(self.settings.action_port),
            "DATABASE_URL": self.settings.database_url,
            "PUBLIC_RASA_URL": self.settings.public_rasa_url,
            "SECRET_KEY": self.settings.secret_key,
            "MAX_MESSAGE_CHARS": str(self.settings.max_message_chars),
            "MAX_REQUEST_BYTES": str(self.settings.max_request_bytes),
            "ACTION_TIMEOUT": str(self.settings.action_timeout),
            STATUS_FILE_ENV: str(self.status_file),
            "PYTHONUNBUFFERED": "1",
        }
        if name == "rasa":
            env["RASA_TOKEN"] = self.token
            # Caps visitors' requests; not the action server's (Rasa sends it whole conversations).
            env["SANIC_REQUEST_MAX_SIZE"] = str(self.settings.max_request_bytes)
            env["SANIC_WORKERS"] = str(self.settings.rasa_workers)
        if name == "web":
            env["RASA_TOKEN"] = self.token  # stores staff messages through Rasa's HTTP API
            env["RASA_INTERNAL_URL"] = self.settings.rasa_internal_url
            env["HANDOFF_TOKEN"] = self.handoff_token
            env["OFFICE_HOURS"] = self.settings.office_hours
            env["HANDOFF_QUEUE_MINUTES"] = str(self.settings.handoff_queue_minutes)
        if name == "actions":
            env["HANDOFF_TOKEN"] = self.handoff_token
            env["HANDOFF_URL"] = self.settings.handoff_url
        return env

    def _spawn(self, name: str, command: List[str]) -> subprocess.Popen:
        self.log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.log_dir / f"{name}.log"
        # A stop signal that arrives between starting the child and recording it would leave the
        # child out of stop(): it waits until the child is recorded. Deferred, not blocked: a
        # blocked signal mask is inherited, and children that ignore SIGTERM stop only when killed.
        with signals_deferred():
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
                os.chmod(path, 0o600)  # also a log file left world-readable by an older version
                process = subprocess.Popen(
                    command,
                    cwd=PROJECT_ROOT,
                    env=self._env(name),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    umask=UMASK,
                )
            self.processes[name] = process
        self.commands[name] = command
        if name == "rasa":
            self._all_workers_seen, self._workers_stopping_since = False, None
        previous = self.health.get(name, {})
        self.health[name] = {**previous, "state": "running", "restarts": previous.get("restarts", 0)}
        self.health[name]["started"] = self.clock()
        self.write_status()
        return process

    def write_status(self) -> None:
        children = {
            name: {key: value for key, value in info.items() if key != "started"} for name, info in self.health.items()
        }
        down = [name for name, info in children.items() if info["state"] != "running"]
        _write_private(
            self.status_file,
            json.dumps({"stack": "degraded" if down else "ok", "children": children}, sort_keys=True),
        )

    def _check_rasa_workers(self) -> None:
        """Sanic (21.12) does not replace a worker that died: the others keep serving, at a fraction
        of the capacity, and nothing would notice. Once all workers have been seen, a missing one
        makes the launcher stop the Rasa server gracefully (the survivors finish their turns) and
        restart it like any other dead child."""
        expected = self.settings.rasa_workers
        process = self.processes.get("rasa")
        if expected <= 1 or process is None or process.poll() is not None:
            return
        if self._workers_stopping_since is not None:
            if self.clock() - self._workers_stopping_since > 30:  # the survivors did not finish
                os.killpg(process.pid, signal.SIGKILL)
            return
        alive = len(live_children(process.pid))
        if alive >= expected:
            self._all_workers_seen = True
        elif self._all_workers_seen:
            message = f"A worker of the Rasa server died ({alive} of {expected} left); restarting the Rasa server."
            print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", flush=True)
            self._workers_stopping_since = self.clock()
            os.killpg(process.pid, signal.SIGTERM)

    def supervise(self) -> None:
        """One round of watching: note children that died, restart those whose pause is over."""
        self._check_rasa_workers()
        now = self.clock()
        for name, process in list(self.processes.items()):
            if process.poll() is None or name in self._restart_at:
                continue
            info = self.health[name]
            stable = now - info.get("started", now) >= STABLE_AFTER
            in_a_row = 0 if stable else info.get("deaths_in_a_row", 0)
            delay = RESTART_DELAYS[min(in_a_row, len(RESTART_DELAYS) - 1)]
            info.update(state="restarting", last_exit=process.returncode, deaths_in_a_row=in_a_row + 1)
            self._restart_at[name] = now + delay
            message = f"The {name} server stopped (exit code {process.returncode}); restarting it in {delay:.0f} s."
            print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message} See {self.log_dir}/{name}.log", flush=True)
            self.write_status()
        for name, when in list(self._restart_at.items()):
            if now < when:
                continue
            del self._restart_at[name]
            self.health[name]["restarts"] = self.health[name].get("restarts", 0) + 1
            self._spawn(name, self.commands[name])
            restarts = self.health[name]["restarts"]
            print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} The {name} server was restarted (#{restarts}).", flush=True)

    def start_actions(self) -> None:
        process = self._spawn("actions", [PYTHON, "-m", "actions", "--port", str(self.settings.action_port)])
        wait_for(f"{self.action_url}/health", 120, process)

    @property
    def endpoints_file(self) -> Path:
        return VAR_DIR / f"endpoints-{self.settings.rasa_port}.yml"

    def start_rasa(self) -> None:
        endpoints = render_endpoints(self.settings, self.endpoints_file)
        # `python -m bot` is `rasa run` with the token taken from RASA_TOKEN (see bot/__main__.py).
        command = [
            PYTHON,
            "-m",
            "bot",
            "--model",
            str(self.model),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(PROJECT_ROOT / "credentials.yml"),
            "--port",
            str(self.settings.rasa_port),
            "--interface",
            self.settings.host,
            "--enable-api",
            "--cors",
            *self.settings.cors_origins,
        ]
        process = self._spawn("rasa", command)
        wait_for(f"{self.rasa_url}/", 300, process)

    def start_web(self) -> None:
        process = self._spawn("web", [PYTHON, "-m", "website"])
        wait_for(f"{self.web_url}/healthz", 60, process)

    def start(self) -> "Stack":
        self.start_actions()
        self.start_rasa()
        self.start_web()
        return self

    def stop_process(self, name: str) -> None:
        self._restart_at.pop(name, None)
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_rasa(self) -> None:
        self.stop_process("rasa")

    def stop(self) -> None:
        for name in ("web", "rasa", "actions"):
            self.stop_process(name)
        self.endpoints_file.unlink(missing_ok=True)
        self.status_file.unlink(missing_ok=True)


def refuse_without_database(database_url: str) -> None:
    """Exit with one clear line when the conversation database cannot be reached: starting anyway
    would let Rasa keep conversations in memory only and lose them silently."""
    from core.database import database_problem

    problem = database_problem(database_url)
    if problem:
        sys.exit(f"Not started: {problem}. Start the database or fix DATABASE_URL, then try again.")


def refuse_workers_without_redis(settings: Settings) -> None:
    """Several Sanic workers each keep their own in-memory locks, so two of them could serve one
    conversation at once and store its turns twice or out of order: they need the Redis lock store."""
    if settings.rasa_workers > 1 and not settings.redis_url:
        sys.exit(
            f"Not started: SANIC_WORKERS={settings.rasa_workers} needs REDIS_URL (the lock store that keeps "
            "each conversation's turns in order across workers). Set REDIS_URL or SANIC_WORKERS=1."
        )


def taken_ports(settings: Settings) -> List[str]:
    """The stack's ports another process already listens on, each with the setting that names it."""
    taken = []
    for name, port in (
        ("WEB_PORT", settings.web_port),
        ("RASA_PORT", settings.rasa_port),
        ("ACTION_PORT", settings.action_port),
    ):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free
            try:
                sock.bind((settings.host, port))
            except OSError:
                taken.append(f"{name}={port}")
    return taken


def refuse_taken_ports(settings: Settings) -> None:
    """Exit before starting anything when a port is in use: a second ``make run`` beside a running
    one restarted its servers forever on "Address already in use", and stopping it deleted the
    first stack's runtime files."""
    taken = taken_ports(settings)
    if taken:
        sys.exit(
            f"Not started: {', '.join(taken)} already in use, probably by another `make run` (stop it with "
            "Ctrl-C in its terminal) or another program. Set free ports, e.g. WEB_PORT=8100 RASA_PORT=5105 "
            "ACTION_PORT=5155 make run."
        )


class StopRequested(Exception):
    """SIGTERM or SIGHUP arrived while the stack was starting: stop what started, then exit."""


def _stop_now(signum: int, _frame: object) -> None:
    raise StopRequested(signal.Signals(signum).name)


def main() -> None:
    """``make run``: start everything, print where to go, stop cleanly on Ctrl-C, SIGTERM or SIGHUP.

    The handlers are in place before the first child starts: a SIGTERM during start-up (systemd,
    a container runtime, ``kill``) used to end the launcher alone and leave its children holding
    their ports.
    """
    os.umask(UMASK)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_now)
    settings = load_settings()
    refuse_without_database(settings.database_url)
    refuse_workers_without_redis(settings)
    refuse_taken_ports(settings)
    # RASA_MODEL: another trained model (the benchmark compares a console candidate with the current one).
    stack = Stack(settings, model=Path(os.environ.get("RASA_MODEL") or DEFAULT_MODEL))
    print("Starting the action server, the Rasa server (loading the model takes ~30 s) and the web server...")
    try:
        stack.start()
    except (RuntimeError, TimeoutError) as error:
        _stop_quietly(stack)
        sys.exit(f"Could not start: {error}. Logs are in {stack.log_dir}.")
    except (KeyboardInterrupt, StopRequested):
        _stop_quietly(stack)
        sys.exit("Interrupted while starting; everything is stopped.")
    _print_banner(stack)
    stop = {"now": False}
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda *_: stop.update(now=True))
    while not stop["now"]:
        stack.supervise()
        time.sleep(0.5)
    print("\nStopping...")
    stack.stop()
    print("Stopped.")


def _stop_quietly(stack: Stack) -> None:
    """Stop every child; a second signal meanwhile must not cut the clean-up short."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    stack.stop()


def _print_banner(stack: Stack) -> None:
    settings = stack.settings
    login = _staff_login_hint(settings)
    token_hint = "" if os.environ.get("RASA_TOKEN") else "  (generated; set RASA_TOKEN to choose one)"
    print(f"""
Heinz Admissions Assistant is running.
  Chat page (visitors):  http://localhost:{settings.web_port}/
  Staff console:         http://localhost:{settings.web_port}/staff/   {login}
  Live chat:             mark yourself available at http://localhost:{settings.web_port}/staff/live, then ask the
                         chat page "can I talk to a person?" (office hours: {settings.office_hours})
  Rasa server:           http://localhost:{settings.rasa_port}/  (REST: /webhooks/rest/webhook)
  Rasa HTTP API token:   {stack.token}{token_hint}
  Action server:         http://localhost:{settings.action_port}/health
  Conversations:         {_describe_database(settings.database_url)}
  Logs:                  {stack.log_dir}
Press Ctrl-C to stop.""")


def _describe_database(database_url: str) -> str:
    url = make_url(database_url)
    return url.database if url.get_backend_name() == "sqlite" else str(url.set(password="***") if url.password else url)


def _staff_login_hint(settings: Settings) -> str:
    try:
        from console.auth.accounts import ensure_local_user
    except ImportError:
        return ""
    username, password = ensure_local_user(settings)
    if password:
        return f"(log in as '{username}' with password '{password}'; set STAFF_USER/STAFF_PASSWORD to choose)"
    if os.environ.get("STAFF_USER"):
        return f"(log in as '{username}' with STAFF_PASSWORD)"
    return (
        f"(log in as '{username}' with the password printed on the first run; "
        f"forgot it? admissions-logs set-password {username})"
    )


if __name__ == "__main__":
    main()
