"""A TCP relay to the test PostgreSQL server that can lose one reply, or one request.

:meth:`ReplyCutter.lose_next_reply` arms it: the next reply the server sends on any of
its connections (a test's store has one at a time), up to and including its
``ReadyForQuery`` (by then the server has committed what the client sent), never
reaches the client, and that connection is closed. The client sees the
connection lost after its statement committed: the one case where running the statement
again cannot tell what the first run did by itself. :meth:`ReplyCutter.lose_next_request`
drops what the client sends next instead, and closes: nothing was committed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

#: The end of a server's reply: ReadyForQuery, length 5, then the transaction status.
_READY = b"Z\x00\x00\x00\x05"


class ReplyCutter:
    """Relays connections from a loopback port to ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._armed = False
        self._request_armed = False
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: How many replies and requests were lost.
        self.cut = 0

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def lose_next_reply(self) -> None:
        self._armed = True

    def lose_next_request(self) -> None:
        self._request_armed = True

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        server_in, server_out = await asyncio.open_connection(*self._target)
        up = asyncio.create_task(self._requests(client_in, server_out))
        down = asyncio.create_task(self._replies(server_in, client_out))
        self._tasks |= {up, down}
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (up, down):
                task.cancel()
                self._tasks.discard(task)
            for writer in (client_out, server_out):
                writer.close()

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if self._request_armed:  # dropped with the connection
                self._request_armed = False
                self.cut += 1
                return
            writer.write(data)
            await writer.drain()

    async def _replies(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if not self._armed:
                writer.write(data)
                await writer.drain()
                continue
            if data[-6:-1] == _READY:  # the whole reply is in: drop it with the connection
                self._armed = False
                self.cut += 1
                return


def through(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the relay's."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@contextlib.asynccontextmanager
async def reply_cutter(url: str) -> AsyncIterator[tuple[ReplyCutter, str]]:
    """A relay to ``url``'s server, and ``url`` through it."""
    parts = urlsplit(url)
    cutter = ReplyCutter(parts.hostname or "127.0.0.1", parts.port or 5432)
    await cutter.start()
    try:
        yield cutter, through(url, cutter.port)
    finally:
        await cutter.close()
