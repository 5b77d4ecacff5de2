"""Start the shipped systemd units (ops/systemd/) the way systemd would, without systemd.

The production test runs exactly what an operator installs: each unit's ``ExecStart`` with its
``%i`` instance, ``WorkingDirectory``, ``EnvironmentFile`` and ``UMask``. Only two things are
mapped: the install directory the units name (``/opt/heinz-admissions``) to this checkout, and
``/etc/heinz-admissions/<file>`` to the test's own environment files. systemd's ``Restart=always``
is the test's to play: it starts a killed unit again when it wants to.
"""

from __future__ import annotations

import configparser
import os
import shlex
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from core.settings import PROJECT_ROOT

UNITS = PROJECT_ROOT / "ops" / "systemd"
INSTALL_DIR = "/opt/heinz-admissions"
CONFIG_DIR = "/etc/heinz-admissions"


def read_unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read_string((UNITS / name).read_text(encoding="utf-8"))
    return unit


def read_environment_file(path: Path) -> Dict[str, str]:
    """systemd's ``EnvironmentFile`` format: ``KEY=value`` lines, ``#`` comments, optional quotes."""
    environment: Dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        environment[key.strip()] = value
    return environment


@dataclass
class Service:
    """One started unit instance."""

    unit: str
    instance: str
    command: List[str]
    process: subprocess.Popen

    def kill(self, signum: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signum)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """What ``systemctl stop`` does: SIGTERM to the whole group, SIGKILL after the timeout."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


def start_unit(
    name: str,
    instance: str,
    config_dir: Path,
    log_dir: Path,
    extra_paths: Optional[Mapping[str, str]] = None,
) -> Service:
    """Run the unit's ``ExecStart`` as systemd would (environment from its files only, its umask)."""
    service = read_unit(name)["Service"]
    paths = {INSTALL_DIR: str(PROJECT_ROOT), CONFIG_DIR: str(config_dir), **(extra_paths or {})}

    def resolve(text: str) -> str:
        text = text.replace("%i", instance)
        for unit_path, local in paths.items():
            text = text.replace(unit_path, local)
        return text

    environment = {"PATH": "/usr/bin:/bin", "HOME": str(log_dir), "LANG": "C.UTF-8"}
    for file in service.get("EnvironmentFile", "").split():
        environment.update(read_environment_file(Path(resolve(file.lstrip("-")))))
    cwd = resolve(service.get("WorkingDirectory", "/"))
    umask = int(service.get("UMask", "0022"), 8)
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name.replace('@.service', '').replace('.service', '')}-{instance}.log", "ab") as log:
        for pre in service.get("ExecStartPre", "").splitlines():
            if pre.strip():
                subprocess.run(
                    shlex.split(resolve(pre)), cwd=cwd, env=environment, stdout=log, stderr=log, check=True, timeout=60
                )
        command = shlex.split(resolve(service["ExecStart"]))
        process = subprocess.Popen(
            command, cwd=cwd, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, umask=umask
        )
    return Service(name, instance, command, process)
