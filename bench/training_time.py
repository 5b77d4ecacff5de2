"""How long ``rasa train`` takes, from an empty vector cache (a fresh clone, CI) and then warm with
three new examples (a console training: Rasa's own cache cannot skip the NLU), per component, as the
training log times them.

Each run trains this checkout's ``config.yml``, ``domain.yml`` and ``data/`` into a temporary folder
with a temporary ``RASA_CACHE_DIRECTORY``: the project's model and cache are left as they are.
With ``--baseline-tree`` an older checkout (with its own ``.venv`` or a link to this one) is timed
the same way in the same run, one after the other.

    .venv/bin/python bench/training_time.py
    .venv/bin/python bench/training_time.py --baseline-tree /tmp/base
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
HOOK = re.compile(
    r"^(\S+ \S+) INFO\s+rasa\.engine\.training\.hooks\s+- (Starting to train|Finished training) component '(\w+)'"
)


def component_seconds(log: str) -> Dict[str, float]:
    """Seconds per trained component, from the training hooks' log lines."""
    started: Dict[str, float] = {}
    seconds: Dict[str, float] = {}
    for line in log.splitlines():
        match = HOOK.match(line)
        if not match:
            continue
        stamp = time.mktime(time.strptime(match.group(1).split(",")[0], "%Y-%m-%d %H:%M:%S"))
        if match.group(2).startswith("Starting"):
            started[match.group(3)] = stamp
        elif match.group(3) in started:
            seconds[match.group(3)] = stamp - started[match.group(3)]
    return seconds


NEW_EXAMPLES = """version: "3.1"
nlu:
- intent: ask_deferral
  examples: |
    - gap year before starting, allowed?
    - keep my seat till the following fall?
    - any chance to start a year later than planned
"""


def train(tree: Path, cache: Path, out: Path, data: Path) -> Tuple[float, Dict[str, float]]:
    """One ``rasa train`` of ``tree`` on ``data``: the wall time and each component's seconds."""
    environment = {**os.environ, "RASA_CACHE_DIRECTORY": str(cache)}
    command = [str(tree / ".venv" / "bin" / "rasa"), "train", "--data", str(data), "--out", str(out)]
    command += ["--fixed-model-name", "timed"]
    began = time.monotonic()
    result = subprocess.run(command, cwd=tree, env=environment, capture_output=True, text=True)
    wall = time.monotonic() - began
    if result.returncode != 0:
        raise SystemExit(f"training {tree} failed:\n{(result.stderr or result.stdout)[-2000:]}")
    return wall, component_seconds(result.stdout + result.stderr)


def report(name: str, runs: List[Tuple[str, float, Dict[str, float]]]) -> None:
    for label, wall, components in runs:
        slowest = sorted(components.items(), key=lambda item: -item[1])[:3]
        parts = ", ".join(f"{component} {seconds:.0f} s" for component, seconds in slowest)
        print(f"{name:10s} {label:24s} {wall:6.0f} s   ({parts})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-tree", type=Path, help="an older checkout, timed the same way")
    args = parser.parse_args()
    trees = [("baseline", args.baseline_tree.resolve())] if args.baseline_tree else []
    for name, tree in [*trees, ("this", ROOT)]:
        with tempfile.TemporaryDirectory(prefix="training-time-") as folder:
            cache, data, runs = Path(folder) / "cache", Path(folder) / "data", []
            shutil.copytree(tree / "data", data)
            wall, components = train(tree, cache, Path(folder) / "models", data)
            runs.append(("empty vector cache", wall, components))
            (data / "nlu" / "staff_examples.yml").write_text(NEW_EXAMPLES, encoding="utf-8")
            wall, components = train(tree, cache, Path(folder) / "models", data)
            runs.append(("warm, 3 new examples", wall, components))
            report(name, runs)


if __name__ == "__main__":
    main()
