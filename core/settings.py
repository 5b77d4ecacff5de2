"""Settings for the web server, the staff console and the launcher, read from the environment.

Every value has a default that works on a developer's machine with nothing configured; production
overrides them through environment variables (see README, "Configuration"). Secrets are never stored
in the repository: when ``SECRET_KEY`` is missing a random one is generated per process start.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import List

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "conversations.db"


def env_int(name: str, default: int) -> int:
    """An integer from the environment; unset or blank means ``default`` (the one copy of this helper)."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def env_flag(name: str) -> bool:
    """``1``/``true``/``yes``/``on`` (any case) mean on; anything else, or unset, means off."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str, default: List[str]) -> List[str]:
    raw = os.environ.get(name, "").strip()
    return [item.strip() for item in raw.split(",") if item.strip()] if raw else default


def fallback_threshold(config_file: Path = PROJECT_ROOT / "config.yml") -> float:
    """The lowest confidence the bot answers at (the fallback's threshold, or its ``agreed_threshold``
    when a second opinion agrees, bot/nlu/fallback.py): below it, the bot always says it is not sure.
    Read once per version of the file: every action builds ``Settings``, and parsing the YAML each
    time was most of the action server's work on a turn."""
    stat = config_file.stat()
    return _threshold_in(config_file, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _threshold_in(config_file: Path, modified_ns: int, size: int) -> float:
    """``fallback_threshold`` for one version (modification time and size) of ``config_file``."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    pipeline = (yaml.load(config_file.read_text(encoding="utf-8"), Loader=loader) or {}).get("pipeline") or []
    for component in pipeline:
        if str(component.get("name", "")).endswith("FallbackClassifier"):  # Rasa's or bot.nlu.fallback's
            threshold = float(component.get("threshold", 0.3))  # 0.3: Rasa's own default
            return min(threshold, float(component.get("agreed_threshold", threshold)))
    return 0.3


def default_database_url() -> str:
    """The embedded SQLite default: a file under ``var/`` that needs no set-up."""
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


@dataclass(frozen=True)
class Settings:
    web_port: int = field(default_factory=lambda: env_int("WEB_PORT", 8000))
    rasa_port: int = field(default_factory=lambda: env_int("RASA_PORT", 5005))
    action_port: int = field(default_factory=lambda: env_int("ACTION_PORT", 5055))
    host: str = field(default_factory=lambda: os.environ.get("BIND_HOST", "127.0.0.1"))
    # The address browsers use to reach the Rasa server (the widget's server URL); empty means
    # "derive it from rasa_port" (see __post_init__).
    public_rasa_url: str = field(default_factory=lambda: os.environ.get("PUBLIC_RASA_URL", "").strip())
    database_url: str = field(
        default_factory=lambda: os.environ.get("DATABASE_URL", "").strip() or default_database_url()
    )
    redis_url: str = field(default_factory=lambda: os.environ.get("REDIS_URL", "").strip())
    # Sanic workers of the Rasa server (one per core serves the most); more than one needs the
    # Redis lock store (REDIS_URL), which keeps a conversation's turns in order across them.
    rasa_workers: int = field(default_factory=lambda: env_int("SANIC_WORKERS", 1))
    # Origins allowed to call the Rasa server; empty means "this web server" (from web_port).
    cors_origins: List[str] = field(default_factory=lambda: _list("CORS_ORIGINS", []))
    secret_key: str = field(default_factory=lambda: os.environ.get("SECRET_KEY", "") or secrets.token_hex(32))
    # Messages the NLU classified with less confidence than this count as missed in the console;
    # by default the same threshold at which the bot itself falls back (config.yml).
    low_confidence_threshold: float = field(
        default_factory=lambda: float(os.environ.get("LOW_CONFIDENCE_THRESHOLD", "") or fallback_threshold())
    )
    retention_days: int = field(default_factory=lambda: env_int("RETENTION_DAYS", 365))
    # Bounds at the edge of the Rasa server (channels/): a chat message longer than this many
    # characters is refused before Rasa stores anything (the widget itself caps at 1,000) ...
    max_message_chars: int = field(default_factory=lambda: env_int("MAX_MESSAGE_CHARS", 4000))
    # ... and no request body to the Rasa server may be larger than this (Sanic answers 413).
    max_request_bytes: int = field(default_factory=lambda: env_int("MAX_REQUEST_BYTES", 1_000_000))
    # Seconds Rasa waits for the action server before the visitor gets the apology with the contact
    # (the widget gives up after 10 s).
    action_timeout: float = field(default_factory=lambda: float(os.environ.get("ACTION_TIMEOUT", "") or 5))
    # -- live hand-off (core/handoff.py, docs/handoff.md) --
    # Where the web server reaches Rasa's HTTP API (to store staff messages in the conversation) and
    # the token it uses; empty URL means "this machine's rasa_port". RASA_TOKEN is also Rasa's own.
    rasa_internal_url: str = field(default_factory=lambda: os.environ.get("RASA_INTERNAL_URL", "").strip())
    rasa_token: str = field(default_factory=lambda: os.environ.get("RASA_TOKEN", ""))
    # Where the action server reaches the web server's hand-off endpoints, and the token it shows;
    # empty URL means "this machine's web_port". The launcher generates a token when none is set.
    handoff_url: str = field(default_factory=lambda: os.environ.get("HANDOFF_URL", "").strip())
    handoff_token: str = field(default_factory=lambda: os.environ.get("HANDOFF_TOKEN", ""))
    # When live chat may be offered, in the console's time zone ("Mon-Fri 09:00-17:00"; "always").
    # Someone must also have marked themselves available in the console.
    office_hours: str = field(default_factory=lambda: os.environ.get("OFFICE_HOURS", "").strip() or "always")
    # A queued visitor nobody claimed within this many minutes is offered a follow-up request instead.
    handoff_queue_minutes: int = field(default_factory=lambda: env_int("HANDOFF_QUEUE_MINUTES", 10))
    # -- dates (core/clock.py, core/timeline.py) --
    # The admissions office's time zone: "today" for deadlines (a deadline day is open until its end here).
    office_timezone: str = field(
        default_factory=lambda: os.environ.get("OFFICE_TIMEZONE", "").strip() or "America/New_York"
    )
    # Preview the assistant on another day (YYYY-MM-DD); unset in production, where today is today.
    assistant_today: str = field(default_factory=lambda: os.environ.get("ASSISTANT_TODAY", "").strip())
    # A fact checked longer ago than this many days is listed as stale for staff to re-check.
    stale_after_days: int = field(default_factory=lambda: env_int("STALE_AFTER_DAYS", 120))
    # -- knowledge kept by staff (core/knowledge_store.py) --
    # How often every action server looks for a newer version of the knowledge staff saved.
    knowledge_poll_seconds: float = field(
        default_factory=lambda: float(os.environ.get("KNOWLEDGE_POLL_SECONDS", "") or 2)
    )
    # The hosts (and their subdomains) a fact's source may be on: only official pages.
    official_hosts: List[str] = field(
        default_factory=lambda: _list("OFFICIAL_SOURCE_HOSTS", ["heinz.cmu.edu", "cmu.edu"])
    )
    # A fact staff changed within this many days is flagged "recently changed" on the knowledge page.
    recent_change_days: int = field(default_factory=lambda: env_int("RECENT_CHANGE_DAYS", 14))

    def __post_init__(self) -> None:
        """Fill the defaults that derive from other settings from *those* settings, so that
        ``Settings(rasa_port=6005)`` points the widget at port 6005 rather than the environment's port."""
        if not self.public_rasa_url:
            object.__setattr__(self, "public_rasa_url", f"http://localhost:{self.rasa_port}")
        if not self.rasa_internal_url:
            object.__setattr__(self, "rasa_internal_url", f"http://127.0.0.1:{self.rasa_port}")
        if not self.handoff_url:
            object.__setattr__(self, "handoff_url", f"http://127.0.0.1:{self.web_port}")
        if not self.cors_origins:
            origins = [f"http://localhost:{self.web_port}", f"http://127.0.0.1:{self.web_port}"]
            object.__setattr__(self, "cors_origins", origins)


def load_settings() -> Settings:
    return Settings()
