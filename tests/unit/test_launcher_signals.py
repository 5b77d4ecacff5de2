"""The launcher's hold on stop signals while it starts a child (ops.launcher.signals_deferred)."""

from __future__ import annotations

import os
import signal
import threading
from typing import List

from ops.launcher import signals_deferred


def test_a_stop_signal_inside_the_block_is_delivered_when_it_ends_not_during_it():
    got: List[str] = []

    def handler(_signum: int, _frame: object) -> None:
        got.append("handled")

    previous = signal.signal(signal.SIGHUP, handler)
    try:
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGHUP)
            got.append("block finished")  # the child would be recorded here, before any handler runs
        assert got == ["block finished", "handled"]
        assert signal.getsignal(signal.SIGHUP) is handler, "the launcher's own handler is back after the block"
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_outside_the_main_thread_the_block_runs_and_leaves_the_handlers_alone():
    """Python runs signal handlers in the main thread only and refuses to set them elsewhere: a stack
    started from a worker thread (a test fixture, a benchmark) must still start its children."""
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    outcome: List[str] = []

    def start_a_child() -> None:
        try:
            with signals_deferred():
                outcome.append("started")
        except ValueError as error:  # "signal only works in main thread"
            outcome.append(f"refused: {error}")

    worker = threading.Thread(target=start_a_child)
    worker.start()
    worker.join(5)
    assert outcome == ["started"]
    assert {signum: signal.getsignal(signum) for signum in before} == before
