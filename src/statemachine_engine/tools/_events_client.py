"""``statemachine-events --websocket URL``: the event stream read from a running server.

The server (``statemachine-ui`` or the stream server) holds the event socket; this
client receives the same events over its WebSocket, so both can run at once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .._cli_support import EXIT_OK, run_until_terminated
from .._jsondata import STORED_MAX_DEPTH, decode
from ..errors import StateMachineError

Show = Callable[[dict[str, Any], argparse.Namespace], None]
#: The client only receives; a snapshot of many machines is still well under this.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def follow(url: str, args: argparse.Namespace, show: Show, *, token: str | None) -> int:
    """Print the server's events until ``--duration`` ends (or Ctrl-C), sending ``token``
    (``--token`` or its variable) if there is one."""
    if urlsplit(url).scheme not in ("ws", "wss"):
        raise StateMachineError(f"--websocket wants a ws:// or wss:// URL, not {url!r}")
    return run_until_terminated(lambda: _follow(url, args, show, token))


async def _follow(url: str, args: argparse.Namespace, show: Show, token: str | None) -> int:
    import websockets

    headers = {"X-Statemachine-Token": token} if token else None
    deadline = None if args.duration is None else time.monotonic() + args.duration
    try:
        connection = await websockets.connect(
            url, additional_headers=headers, max_size=MAX_MESSAGE_BYTES, compression=None
        )
    except (OSError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
        raise StateMachineError(f"cannot connect to {url}: {exc}") from exc
    print(f"statemachine-events: reading {url}", file=sys.stderr, flush=True)
    async with connection:
        while True:
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                return EXIT_OK
            try:
                text = await asyncio.wait_for(connection.recv(), timeout)
            except asyncio.TimeoutError:
                return EXIT_OK
            except websockets.ConnectionClosed as exc:
                raise StateMachineError(f"the server closed the stream: {exc}") from exc
            received = decode(text, what="a message of the stream", max_depth=STORED_MAX_DEPTH)
            if not isinstance(received, dict):
                continue  # not one of ours
            for message in _messages(received):
                _print(message, args, show)


def _messages(received: dict[str, Any]) -> list[dict[str, Any]]:
    if received.get("kind") == "batch":
        return list(received.get("messages") or [])
    return [received]


def _print(message: dict[str, Any], args: argparse.Namespace, show: Show) -> None:
    kind = message.get("kind")
    if kind == "snapshot" and args.history:
        for event in (message.get("events") or [])[-args.history :]:
            show(event, args)
    elif kind == "event":
        show(message["event"], args)
    elif kind == "dropped":
        print(
            f"statemachine-events: {message.get('count')} events dropped (reading too slowly)",
            file=sys.stderr,
            flush=True,
        )
