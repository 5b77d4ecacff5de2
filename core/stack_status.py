"""The launcher's report on the servers it runs, shared by the web server's ``/healthz`` and the
staff console's banner (both read it; only ``ops.launcher`` writes it).

The launcher writes a small JSON file, ``{"stack": "ok"|"degraded", "children": {name: {state,
restarts, last_exit, ...}}}``, whose path it puts in the children's environment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

STATUS_FILE_ENV = "STACK_STATUS_FILE"

# What a visitor meets while each server is down, for the console's banner.
EFFECT_ON_VISITORS = {
    "actions": "the action server is restarting: visitors get an apology with the contact instead of answers",
    "rasa": "the Rasa server is restarting: the chat cannot answer visitors",
    "web": "the web server is restarting",
}


def read_stack_status(path: Optional[str] = None) -> Dict[str, Any]:
    """What the launcher last wrote about its children; empty when not launched by it."""
    path = path or os.environ.get(STATUS_FILE_ENV, "")
    if not path:
        return {}
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"stack": "unknown"}


def degraded_parts(status: Dict[str, Any]) -> List[str]:
    """Sentences for each server that is not running (empty when all is well)."""
    children = status.get("children") or {}
    return [
        EFFECT_ON_VISITORS.get(name, f"the {name} server is not running")
        for name, info in sorted(children.items())
        if isinstance(info, dict) and info.get("state") != "running"
    ]
