"""A port that refuses connections, for tests of an unreachable service."""

from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def refused_port() -> Iterator[int]:
    """A port bound by this process but never listening, for as long as the block runs.

    A connection to it is refused at once, and no other process can start listening there meanwhile
    (a port merely picked as free and released could be taken by a parallel test's server).
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
