"""``/ws/events``: a snapshot on connect, then every server message as it happens.

A client that connects with ``?batch=1`` receives what accumulated during
:data:`~._fanout.BATCH_WINDOW_SECONDS` as one ``{"kind": "batch", "messages": [...]}``
message (the same messages, in order): one frame instead of dozens when events are
frequent. The hub builds that frame once for all batching clients.

Each connection is a session with two tasks: a sender that drains the client's queue
(it may block on a client that does not read; only that client's queue fills and drops
its oldest messages) and a reader that notices the client leaving. Clients need send
nothing. The sender hands its frames straight to the server's ASGI ``send``: with a
hundred clients and a frame each every 10 ms, Starlette's checks and wrappers around
each message were a fifth of the server's CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ._fanout import dropped_notice

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from ._fanout import ClientQueue
    from ._monitor import Monitor


class _EventsEndpoint:
    """``/ws/events`` as an ASGI application (Starlette's session for the handshake)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await events_socket(WebSocket(scope, receive=receive, send=send), send)


async def events_socket(websocket: WebSocket, send: Send) -> None:
    monitor: Monitor = websocket.app.state.monitor
    await websocket.accept()
    # Subscribing and taking the snapshot without an await between them: every event
    # is either in the snapshot or in the queue, never in both or neither.
    batched = websocket.query_params.get("batch") in ("1", "true")
    queue = monitor.hub.subscribe(batched=batched)
    snapshot = monitor.snapshot()
    try:
        await websocket.send_text(snapshot)
        sender = asyncio.create_task(_send(send, queue))
        reader = asyncio.create_task(_read_until_closed(websocket))
        try:
            await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, reader):
                task.cancel()
            for task in (sender, reader):
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, OSError):
                    await task
    except (WebSocketDisconnect, OSError):
        pass
    finally:
        monitor.hub.unsubscribe(queue)


async def _send(send: Send, queue: ClientQueue) -> None:
    while True:
        dropped, frames = await queue.take()
        if dropped:
            await send({"type": "websocket.send", "text": dropped_notice(dropped)})
        for frame in frames:
            await send({"type": "websocket.send", "text": frame})


async def _read_until_closed(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


ROUTES = [WebSocketRoute("/ws/events", _EventsEndpoint())]
