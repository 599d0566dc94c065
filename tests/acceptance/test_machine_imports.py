"""What a machine process loads: only what a machine uses (docs/performance.md).

A real ``statemachine`` process runs a custom action that records ``sys.modules``; the
test reads the record. asyncio's ``ssl`` (OpenSSL, ~3.7 MB) in particular stays out
until a connection needs TLS, and ``subprocess`` until an action starts a process; both
still work when they are needed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.files import write
from tests.support.processes import run_cli

#: Modules a machine that runs SQLite, Unix sockets and a log action never needs.
NOT_IN_A_MACHINE = [
    "ssl",
    "_ssl",
    "_hashlib",  # OpenSSL's libcrypto too, by way of hashlib
    "subprocess",  # only once an action starts a process (bash, start_fsm)
    "difflib",  # the "did you mean" of a config error
    "inspect",  # with ast and dis: asyncio's debug descriptions, dataclasses' undocumented
    "starlette",
    "uvicorn",
    "websockets",
    "psycopg",
    "prometheus_client",
    "opentelemetry",  # tracing: only with OTEL_TRACES_EXPORTER set
    "statemachine_engine.monitoring",
    "statemachine_engine.tools",
    "celpy",  # if: guards: only configs that have one load the expression language
    "lark",
]

RECORDER = """
    import gc
    import json
    import sys

    from statemachine_engine.actions.base import BaseAction


    class RecordModulesAction(BaseAction):
        async def execute(self, context):
            with open(self.get_config_value("to"), "w") as out:
                json.dump(sorted(sys.modules), out)
            with open(self.get_config_value("to") + ".gc", "w") as out:
                json.dump([gc.isenabled(), gc.get_freeze_count()], out)
            return "recorded"
    """


def machine_modules(tmp_path: Path, run: str) -> set[str]:
    """The modules loaded by a ``statemachine`` process named ``run`` when its first
    action runs (the same config file each time, so a second run finds it cached)."""
    config = tmp_path / "recorder.yaml"
    if not config.exists():
        write(
            config,
            f"""
            initial_state: first
            transitions:
              - {{from: first, to: completed, event: recorded}}
            actions:
              first:
                - {{type: record_modules, to: "{tmp_path}/modules-{{machine_name}}.json"}}
            """,
        )
    result = run_cli(
        config, "--actions-dir", tmp_path / "actions", "--machine-name", run, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads((tmp_path / f"modules-{run}.json").read_text()))


def test_a_machine_process_loads_no_tls_and_no_servers(tmp_path: Path) -> None:
    write(tmp_path / "actions" / "record_modules_action.py", RECORDER)
    first = machine_modules(tmp_path, "first")
    assert "asyncio" in first
    assert "statemachine_engine.core.engine" in first
    assert sorted(first & set(NOT_IN_A_MACHINE)) == []
    # Started again, the config comes from the parsed-config cache: no YAML parser.
    again = machine_modules(tmp_path, "again")
    assert sorted(again & {*NOT_IN_A_MACHINE, "yaml"}) == []
    # What the start imported and loaded is out of the collector's way, which runs.
    enabled, frozen = json.loads((tmp_path / "modules-again.json.gc").read_text())
    assert enabled
    assert frozen > 10_000


TLS_CLIENT = """
    import sys

    from statemachine_engine._lean_imports import import_asyncio

    import_asyncio()
    import asyncio

    assert "ssl" not in sys.modules, "asyncio imported ssl"

    async def main():
        async def not_tls(reader, writer):
            await reader.read(1)
            writer.write(b"HTTP/1.0 400 not TLS\\r\\n\\r\\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(not_tls, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=True), 10)
        except Exception as exc:
            print(type(exc).__module__, type(exc).__name__)
        finally:
            server.close()
        holders = [sys.modules[name].ssl for name in
                   ("asyncio.base_events", "asyncio.selector_events", "asyncio.sslproto")]
        print(all(holder is sys.modules["ssl"] for holder in holders))

    asyncio.run(main())
    """


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` run by a fresh interpreter, which must succeed."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_tls_still_works_once_a_connection_needs_it() -> None:
    """A TLS handshake with a server that does not speak TLS: the client's ssl module
    runs the handshake (an ``ssl.SSLError``), and asyncio holds the real ``ssl`` after."""
    result = run_python(TLS_CLIENT)
    assert result.stdout.split() == ["ssl", "SSLError", "True"]


SUBPROCESS_CLIENT = """
    import sys

    from statemachine_engine._lean_imports import import_asyncio

    import_asyncio()
    import asyncio
    import asyncio.subprocess

    assert "subprocess" not in sys.modules, "asyncio imported subprocess"

    async def main():
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "print('from the child')",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await process.communicate()
        print(out.decode().strip(), process.returncode)
        holders = [sys.modules[name].subprocess for name in
                   ("asyncio.base_events", "asyncio.events", "asyncio.unix_events")]
        print(all(holder is sys.modules["subprocess"] for holder in holders))

    asyncio.run(main())
    """


def test_asyncio_subprocesses_still_work_once_an_action_starts_one() -> None:
    """A child started through asyncio after the deferral: it runs, its output comes
    back through the pipe, and asyncio holds the real ``subprocess`` after."""
    result = run_python(SUBPROCESS_CLIENT)
    assert result.stdout.split("\n")[:2] == ["from the child 0", "True"]
