"""The processes a test started, found from /proc (children in sessions of their own included)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List


def processes_of(pids: List[int]) -> List[int]:
    """``pids`` and all their descendants, from /proc."""
    parents: Dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found = list(pids)
    for pid in found:
        found.extend(child for child, parent in parents.items() if parent == pid and child not in found)
    return found
