"""Shared fixtures: the real knowledge file, the domain, the trained model and the running stack."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from core.settings import PROJECT_ROOT
from webapp.launcher import DEFAULT_MODEL, Stack, settings_on_free_ports

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip with a printed reason locally; in CI nothing may be skipped silently, so fail."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def domain_dict() -> Dict[str, Any]:
    """The domain as the action server receives it from Rasa."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(PROJECT_ROOT / "domain.yml")).as_dict()


@pytest.fixture(scope="session")
def knowledge():
    from core.knowledge import load_knowledge

    return load_knowledge()


@pytest.fixture(scope="session")
def trained_model() -> Path:
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"{DEFAULT_MODEL} is missing: run the tests with `make test`, which trains it first")
    return DEFAULT_MODEL


@pytest.fixture(scope="session")
def stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Action server + Rasa server + web server on free ports, conversations in a fresh SQLite file."""
    workdir = tmp_path_factory.mktemp("stack")
    settings = settings_on_free_ports(f"sqlite:///{workdir / 'conversations.db'}")
    running = Stack(settings, model=trained_model, log_dir=workdir / "logs")
    try:
        running.start()
    except (RuntimeError, TimeoutError) as error:
        running.stop()
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in (workdir / "logs").glob("*.log"))
        pytest.fail(f"the stack did not start: {error}\n{logs}")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if not path:
        skip_or_fail("Debian's chromium is not installed (`make test` installs it when run as root)")
    return path  # type: ignore[return-value]
