"""Median and p95 reply time over the REST channel, against the real stack on free ports.

    .venv/bin/python bench/rest_latency.py [--rounds 5]

Starts the action server and Rasa server with models/heinz.tar.gz (a throwaway SQLite database),
sends a fixed multi-turn conversation several times (new conversation each round) and prints the
figures. Nothing is asserted: record the output in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ops.launcher import Stack, settings_on_free_ports  # noqa: E402

CONVERSATION = [
    "hi",
    "How long is the MISM program?",
    "What about the online program?",
    "what are its deadlines?",
    "is MISM stem designated?",
    "can you give me capstone examples",
    "how do I apply",
    "what's the weather in Pittsburgh",
    "thanks, bye",
]


def send(url: str, sender: str, text: str) -> float:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        json.loads(response.read())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-rest-"))
    settings = settings_on_free_ports(f"sqlite:///{workdir / 'conversations.db'}")
    stack = Stack(settings, log_dir=workdir / "logs")
    started = time.perf_counter()
    stack.start_actions()
    stack.start_rasa()
    print(f"stack start (action server + Rasa model load): {time.perf_counter() - started:.1f} s")
    try:
        url = f"{stack.rasa_url}/webhooks/rest/webhook"
        send(url, "warm-up", "hello")
        timings = [send(url, f"bench-{uuid.uuid4()}-{r}", text) for r in range(args.rounds) for text in CONVERSATION]
    finally:
        stack.stop()
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    print(
        f"REST replies: n={len(timings)}  median {statistics.median(timings) * 1000:.0f} ms  "
        f"p95 {p95 * 1000:.0f} ms  max {timings[-1] * 1000:.0f} ms  (SQLite tracker store)"
    )


if __name__ == "__main__":
    main()
