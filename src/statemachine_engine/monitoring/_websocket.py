"""``/ws/events``: a snapshot on connect, then every server message as it happens.

A client that connects with ``?batch=1`` receives what accumulated every
:data:`BATCH_WINDOW_SECONDS` as one ``{"kind": "batch", "messages": [...]}`` message
(the same messages, in order): one frame instead of dozens when events are frequent.

Each connection is a session with two tasks: a sender that drains the client's queue
(it may block on a client that does not read; only that client's queue fills and drops
its oldest messages) and a reader that notices the client leaving. Clients need send
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    from ._fanout import ClientQueue
    from ._monitor import Monitor

#: How long a batching client's messages gather before they are sent together.
BATCH_WINDOW_SECONDS = 0.01


async def events_socket(websocket: WebSocket) -> None:
    monitor: Monitor = websocket.app.state.monitor
    await websocket.accept()
    # Subscribing and taking the snapshot without an await between them: every event
    # is either in the snapshot or in the queue, never in both or neither.
    queue = monitor.hub.subscribe()
    snapshot = monitor.snapshot()
    try:
        await websocket.send_text(snapshot)
        batch = websocket.query_params.get("batch") in ("1", "true")
        sender = asyncio.create_task(
            _send_batches(websocket, queue) if batch else _send(websocket, queue)
        )
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


async def _send(websocket: WebSocket, queue: ClientQueue) -> None:
    while True:
        dropped, messages = await queue.take()
        if dropped:
            await websocket.send_text(json.dumps({"kind": "dropped", "count": dropped}))
        for message in messages:
            await websocket.send_text(message)


async def _send_batches(websocket: WebSocket, queue: ClientQueue) -> None:
    while True:
        dropped, messages = await queue.take()
        if dropped:
            messages.insert(0, json.dumps({"kind": "dropped", "count": dropped}))
        if len(messages) == 1:
            await websocket.send_text(messages[0])
        else:
            await websocket.send_text('{"kind":"batch","messages":[' + ",".join(messages) + "]}")
        await asyncio.sleep(BATCH_WINDOW_SECONDS)


async def _read_until_closed(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


ROUTES = [WebSocketRoute("/ws/events", events_socket)]
