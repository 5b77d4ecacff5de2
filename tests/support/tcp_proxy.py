"""A TCP proxy a test puts in front of a shared server (PostgreSQL, Redis) to stage an outage.

The shared servers are never stopped or reconfigured: an outage is this proxy dropping every
connection and refusing new ones.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Optional, Set


class TcpProxy:
    """127.0.0.1:<port> -> target, in a thread of its own; ``cut()`` drops every connection and
    refuses new ones until ``restore()``. ``cut_on(b"...")`` cuts the moment a client sends those
    bytes, before they reach the server (a database failing in the middle of a turn)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0  # bound by start(): the system picks a free port
        self.cut_off = False
        self.trigger: Optional[bytes] = None
        self._writers: Set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._server: Optional[asyncio.AbstractServer] = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> "TcpProxy":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers.update({writer, upstream_writer})
        await asyncio.gather(self._pipe(reader, upstream_writer, True), self._pipe(upstream_reader, writer, False))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, from_client: bool) -> None:
        try:
            while not self.cut_off:
                data = await reader.read(65536)
                if not data:
                    break
                if from_client and self.trigger is not None and self.trigger in data:
                    self.trigger = None
                    self._drop()
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            self._writers.discard(writer)

    def _drop(self) -> None:
        self.cut_off = True
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def cut(self) -> None:
        self._loop.call_soon_threadsafe(self._drop)
        time.sleep(0.2)

    def cut_on(self, trigger: bytes) -> None:
        self.trigger = trigger

    def restore(self) -> None:
        self.cut_off = False

    def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
