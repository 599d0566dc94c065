"""A real ``statemachine-ui`` process per test, and clients for its HTTP API and stream."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support.files import create_store
from tests.support.processes import MachineProcess, console_script

UI = console_script("statemachine-ui") or [sys.executable, "-m", "statemachine_engine.ui.cli"]
STREAM = [sys.executable, "-m", "statemachine_engine.monitoring.websocket_server"]
SERVING = r"serving http://(\S+?):(\d+)/"


@dataclass
class Server:
    """A running monitoring server."""

    process: MachineProcess
    port: int
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws/events"

    def http(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=15, **options)

    def get(self, path: str, **options: Any) -> Any:
        with self.http() as client:
            response = client.get(path, **options)
        assert response.status_code == 200, response.text
        return response.json()


StartServer = Callable[..., Server]


@pytest.fixture
def ui_server(tmp_path: Path, statemachine: Callable[..., MachineProcess]) -> StartServer:
    """``ui_server(*args, argv=UI)`` starts a server on a free port and waits until it serves."""

    def start(*args: str | Path, argv: list[str] = UI) -> Server:
        given = [str(arg) for arg in args]
        create_store(given[given.index("--db") + 1] if "--db" in given else None)
        process = statemachine("--port", "0", *args, argv=argv)
        line = process.expect(SERVING)
        found = re.search(SERVING, line)
        assert found is not None
        return Server(process, int(found.group(2)))

    return start


async def next_message(
    connection: websockets.ClientConnection,
    predicate: Callable[[dict[str, Any]], bool] = lambda message: True,
    timeout: float = 15.0,
) -> dict[str, Any]:
    """The next message (unpacking batches) that satisfies ``predicate``."""
    import asyncio

    async def wait() -> dict[str, Any]:
        while True:
            received = json.loads(await connection.recv())
            batch = received["messages"] if received["kind"] == "batch" else [received]
            for message in batch:
                if predicate(message):
                    return message  # type: ignore[no-any-return]

    return await asyncio.wait_for(wait(), timeout)


def is_event(kind: str, **payload: Any) -> Callable[[dict[str, Any]], bool]:
    """Matches an ``event`` message of type ``kind`` whose payload has these values."""

    def match(message: dict[str, Any]) -> bool:
        if message["kind"] != "event" or message["event"]["type"] != kind:
            return False
        return all(message["event"]["payload"].get(k) == v for k, v in payload.items())

    return match
