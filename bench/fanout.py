"""Monitoring fan-out: realtime events to many WebSocket clients, delivery latency.

The bench plays the machines: it sends realtime event datagrams to the event socket of
a real `statemachine-ui` process at a steady rate, each stamped with its send time,
while client processes hold WebSocket connections to `/ws/events` and note when each
event reaches them. Latency is receive time minus send time (one host, one clock).

    python bench/fanout.py [--clients 100] [--rate 1000] [--seconds 5] [--client-procs 4]
                           [--per-event]

Clients ask for batched messages (``?batch=1``), as the web UI does; ``--per-event``
measures clients that take one WebSocket message per event instead.

The clients share the server's two cores, where real ones would not, so each is a
minimal WebSocket client (a frame reader over asyncio's protocol, no library between):
``--probes`` of them (20) note when each frame is complete, parse it and time every
event in it; the others read every frame but only count the events in it, so that their
CPU does not stand in for the server's. The CPU figures cover the sending only (not the
server's start-up or the clients' connecting).

Bar (issue 15; DESIGN.md's was 50 ms): 100 clients receive 1,000 events/s with p99
delivery < 20 ms, the server's CPU printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.append(sys.path.pop(0))

from _report import figure, header
from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.settings import resolve_db_path, store_namespace

UI = [sys.executable, "-m", "statemachine_engine.ui.cli"]
CLIENT_CODE = r"""
import asyncio, gc, json, os, re, sys, time
from base64 import b64encode
from urllib.parse import urlsplit

# Each client is a minimal WebSocket client that reads every frame the server sends.
# Probes note the time a frame is complete, parse it whole and time each event in it;
# the others only count the events in it by a substring, so that the clients' own CPU
# (on the server's two cores) does not stand in for the server's.
SENT = b'"sent": '
DROPPED = re.compile(rb'"kind": "dropped", "count": (\d+)')

def unpack(received):
    return received["messages"] if received["kind"] == "batch" else [received]

def masked(opcode, payload):
    # What a client sends is masked (RFC 6455 5.3); payloads here are < 126 bytes.
    mask = os.urandom(4)
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(
        b ^ mask[i % 4] for i, b in enumerate(payload))

class Client(asyncio.Protocol):
    def __init__(self, url, expected, ready, latencies):
        self.url, self.expected, self.ready = urlsplit(url), expected, ready
        self.latencies = latencies  # None: count only
        self.buffer = bytearray()
        self.upgraded = self.snapshot = False
        self.seen = self.dropped = 0
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport
        key = b64encode(os.urandom(16)).decode()
        transport.write((
            f"GET {self.url.path}?{self.url.query} HTTP/1.1\r\nHost: {self.url.netloc}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())

    def data_received(self, data):
        now = time.time()
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in buffer[:end]:
                raise SystemExit(f"no upgrade: {bytes(buffer[:end])!r}")
            del buffer[:end + 4]
            self.upgraded = True
        start = 0
        while len(buffer) - start >= 2:
            if buffer[start] & 0x80 == 0:
                raise SystemExit("a fragmented message: not expected from this server")
            length, head = buffer[start + 1] & 0x7F, 2
            if length == 126:
                length, head = int.from_bytes(buffer[start + 2:start + 4], "big"), 4
            elif length == 127:
                length, head = int.from_bytes(buffer[start + 2:start + 10], "big"), 10
            if len(buffer) - start < head + length:
                break
            opcode = buffer[start] & 0x0F
            payload = bytes(buffer[start + head:start + head + length])
            start += head + length
            if opcode == 0x9:  # ping
                self.transport.write(masked(0xA, payload))
            elif opcode == 0x8:  # close
                self.done.set_exception(RuntimeError("the server closed the stream"))
                return
            elif not self.snapshot:
                self.snapshot = True
                self.ready.append(1)
            elif self.latencies is not None:
                self.probe(json.loads(payload), now)
            else:
                self.seen += payload.count(SENT)
                if b'"dropped"' in payload:
                    self.dropped += sum(int(n) for n in DROPPED.findall(payload))
        del buffer[:start]
        if self.seen >= self.expected and not self.done.done():
            self.done.set_result((self.seen, self.dropped))

    def probe(self, received, now):
        for message in unpack(received):
            if message["kind"] == "event" and message["event"]["machine_name"] == "bench":
                self.latencies.append(now - message["event"]["payload"]["sent"])
                self.seen += 1
            elif message["kind"] == "dropped":
                self.dropped += message["count"]

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_exception(RuntimeError(f"connection lost: {exc}"))

async def client(url, expected, ready, latencies):
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    transport, protocol = await loop.create_connection(
        lambda: Client(url, expected, ready, latencies), parts.hostname, parts.port)
    try:
        return await protocol.done
    finally:
        transport.write(masked(0x8, (1000).to_bytes(2, "big")))
        transport.close()

async def main():
    url, count, expected, probes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    latencies, ready = [], []
    tasks = [
        asyncio.create_task(client(url, expected, ready, latencies if index < probes else None))
        for index in range(count)
    ]
    while len(ready) < count:
        await asyncio.sleep(0.01)
    gc.freeze()  # a full collection of the clients' own objects would stall the probes
    print("ready", flush=True)
    results = await asyncio.gather(*tasks)
    print(json.dumps({
        "latencies": latencies,
        "received": sum(seen for seen, _ in results),
        "dropped": sum(dropped for _, dropped in results),
    }), flush=True)

asyncio.run(main())
"""


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(workdir: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen(
        [*UI, "--port", "0", "--project-root", str(workdir)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stderr is not None
    line = server.stderr.readline()
    found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not found:
        server.kill()
        raise SystemExit(f"statemachine-ui did not start: {line}{server.stderr.read()}")
    return server, int(found.group(1))


async def send_events(path: Path, rate: int, seconds: float) -> int:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    total = int(rate * seconds)
    start = time.monotonic()
    index = 0
    while index < total:
        # Every event due by now goes out (a late tick sends a few at once): the rate holds
        # even when the sender is not scheduled every millisecond.
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        while index < due:
            now = time.time()
            message = {
                "machine_name": "bench",
                "type": "state_change",
                "seq": index + 1,
                "payload": {
                    "from_state": "a",
                    "to_state": "b",
                    "event_trigger": "ping",
                    "timestamp": now,
                    "sent": now,
                    "last": index == total - 1,
                },
            }
            sock.sendto(json.dumps(message).encode(), str(path))
            index += 1
        await asyncio.sleep(0.001)
    sock.close()
    return total


async def run(args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        workdir = Path(tmp)
        env = {
            **os.environ,
            "STATEMACHINE_SOCKET_DIR": str(workdir / "s"),
            "STATEMACHINE_DB": str(workdir / "bench.db"),
        }
        await SqliteStore(workdir / "bench.db").close()  # the server shows a store, makes none
        server, port = start_server(workdir, env)
        url = f"ws://127.0.0.1:{port}/ws/events" + ("" if args.per_event else "?batch=1")
        total = int(args.rate * args.seconds)
        per_proc = [args.clients // args.client_procs] * args.client_procs
        per_proc[-1] += args.clients - sum(per_proc)
        probes_per_proc = [max(1, count * args.probes // args.clients) for count in per_proc]
        clients = [
            subprocess.Popen(  # noqa: ASYNC220 - started before anything runs on the loop
                [sys.executable, "-c", CLIENT_CODE, url, str(count), str(total), str(probes)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for count, probes in zip(per_proc, probes_per_proc, strict=True)
            if count
        ]
        try:
            for client in clients:
                assert client.stdout is not None
                assert client.stdout.readline().strip() == "ready"
            # CPU from here on only: not the server's start-up nor the clients' connecting.
            server_before = cpu_seconds(server.pid)
            clients_before = sum(cpu_seconds(client.pid) for client in clients)
            started = time.monotonic()
            namespace = store_namespace(resolve_db_path(env["STATEMACHINE_DB"]))
            events_path = workdir / "s" / namespace / "events.sock"
            sent = await send_events(events_path, args.rate, args.seconds)
            elapsed = time.monotonic() - started
            latencies: list[float] = []
            received = dropped = 0
            server_cpu = cpu_seconds(server.pid) - server_before
            clients_cpu = sum(cpu_seconds(client.pid) for client in clients) - clients_before
            for client in clients:
                out, _ = client.communicate(timeout=60 + args.seconds)
                result = json.loads(out.strip().splitlines()[-1])
                latencies += result["latencies"]
                received += result["received"]
                dropped += result["dropped"]
        finally:
            for client in clients:
                if client.poll() is None:
                    client.kill()
                    client.wait()
            server.terminate()
            server.wait(10)
    return {
        "sent": sent,
        "rate": sent / elapsed,
        "received": received,
        "samples": len(latencies),
        "expected": sent * args.clients,
        "dropped": dropped,
        "server_cpu": server_cpu / elapsed * 100,
        "clients_cpu": clients_cpu / elapsed * 100,
        "elapsed": elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "max": max(latencies) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=int, default=1000, help="events per second")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--client-procs", type=int, default=4, help="processes holding clients")
    parser.add_argument(
        "--probes", type=int, default=20, help="clients that time every event they receive"
    )
    parser.add_argument(
        "--per-event",
        action="store_true",
        help="clients take one message per event (default: batched, ?batch=1, as the UI)",
    )
    args = parser.parse_args()
    mode = "one message per event" if args.per_event else "batched (?batch=1), as the web UI"
    header(f"monitoring fan-out: {args.clients} WebSocket clients, {args.rate} events/s, {mode}")
    result = asyncio.run(run(args))
    figure("events sent", result["sent"], "events")
    figure("send rate achieved", result["rate"], "events/s")
    figure("server CPU while sending", result["server_cpu"], "% of one core")
    figure("  the clients' processes (same cores)", result["clients_cpu"], "% of one core")
    figure("deliveries (events x clients)", result["received"], "messages")
    figure("  expected", result["expected"], "messages")
    figure("  reported dropped (slow client notices)", result["dropped"], "messages")
    figure("latency samples (events x probe clients)", result["samples"], "samples")
    figure("delivery latency p50", result["p50"], "ms")
    figure("delivery latency p99", result["p99"], "ms", bar="< 20 ms", ok=result["p99"] < 20.0)
    figure("delivery latency max", result["max"], "ms")


if __name__ == "__main__":
    main()
