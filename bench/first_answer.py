"""The first visitor after a start: how much longer their answer takes than the next ones.

    .venv/bin/python bench/first_answer.py                 # 3 fresh starts of the make-run stack
    .venv/bin/python bench/first_answer.py --starts 5 --workers 2 --redis-url redis://127.0.0.1:6379/0

For each start of ``ops.launcher.Stack`` (action server + Rasa server on a fresh SQLite file):
one conversation per worker sends its first question as soon as the server answers ``GET /``,
then each sends five more; printed: the first answers' times and the median of the later ones.
TensorFlow traces DIET's prediction function on a process's first parse, which the Rasa server now
does itself once it is up (bot/channels/rest.py, ``warm_up_nlu``); run this in a checkout without that
to compare. Nothing is asserted: record the output in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ops.launcher import Stack, settings_on_free_ports  # noqa: E402

QUESTIONS = ["How long is the MISM program?", "what are the deadlines for MSIT", "is MISM stem designated?"]


def ask(url: str, sender: str, text: str) -> float:
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return time.perf_counter() - started


def one_start(workers: int, redis_url: str) -> tuple[List[float], List[float]]:
    directory = Path(tempfile.mkdtemp(prefix="bench-first-"))
    settings = settings_on_free_ports(f"sqlite:///{directory / 'conversations.db'}", redis_url if workers > 1 else "")
    stack = Stack(dataclasses.replace(settings, rasa_workers=workers), log_dir=directory)
    stack.start_actions()
    stack.start_rasa()
    try:
        time.sleep(1.0)  # every worker's listeners have run once one of them answers
        first: List[float] = []
        later: List[float] = []
        lock = threading.Lock()

        def visitor() -> None:
            sender = f"first-{uuid.uuid4().hex[:8]}"
            times = [ask(stack.rasa_url, sender, QUESTIONS[turn % len(QUESTIONS)]) for turn in range(6)]
            with lock:
                first.append(times[0])
                later.extend(times[1:])

        threads = [threading.Thread(target=visitor) for _ in range(workers * 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return first, later
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    for start in range(args.starts):
        first, later = one_start(args.workers, args.redis_url)
        print(
            f"start {start + 1}: first answers {', '.join(f'{t * 1000:.0f}' for t in sorted(first))} ms; "
            f"later answers median {statistics.median(later) * 1000:.0f} ms, max {max(later) * 1000:.0f} ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
