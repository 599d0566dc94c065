"""Light imports: ``statemachine --help`` loads neither asyncio nor YAML (STYLE.md #9)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

HEAVY = [
    "asyncio",
    "yaml",
    "sqlite3",
    "statemachine_engine.core.engine",
    "statemachine_engine.config.loader",
    "starlette",
    "uvicorn",
    "psycopg",
    "prometheus_client",
    "opentelemetry",
]


def modules_after(code: str) -> set[str]:
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_cli_parser_is_light() -> None:
    loaded = modules_after(
        """
        from statemachine_engine.cli import build_parser
        parser = build_parser()
        parser.format_help()
        """
    )
    assert "statemachine_engine.cli" in loaded
    assert sorted(loaded & set(HEAVY)) == []


def test_importing_the_package_is_light() -> None:
    loaded = modules_after("import statemachine_engine, statemachine_engine.core")
    assert sorted(loaded & set(HEAVY)) == []


def test_pure_core_does_not_import_the_runtime() -> None:
    loaded = modules_after(
        """
        import statemachine_engine.config.loader
        import statemachine_engine.config._transitions
        import statemachine_engine.context.interpolation
        import statemachine_engine.context._entries
        """
    )
    # PyYAML loads only when a config is actually parsed (a cached model skips it).
    assert sorted(loaded & {"asyncio", "sqlite3", "yaml", "statemachine_engine.core.engine"}) == []


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_statemachine_help_exits_zero(flag: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "statemachine_engine", flag],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: statemachine ")
    assert "--actions-dir" in result.stdout
    assert result.stderr == ""


def test_the_machine_path_compiles_few_forward_references() -> None:
    """A NamedTuple in a module with ``from __future__ import annotations`` turns each
    field's annotation into a ForwardRef, compiled at import: ~141 of them once made a
    machine's start a few milliseconds slower. The modules a machine loads evaluate
    their annotations instead (docs/performance.md)."""
    script = textwrap.dedent(
        """
        import json, sys, typing
        import statemachine_engine.cli, statemachine_engine.core._host
        import statemachine_engine.core.engine, statemachine_engine.core._preflight
        import statemachine_engine.actions.builtin.log_action
        found = []
        for name, module in list(sys.modules.items()):
            if not name.startswith("statemachine_engine"):
                continue
            for value in list(vars(module).values()):
                if not (isinstance(value, type) and hasattr(value, "_fields")):
                    continue
                for field, kind in getattr(value, "__annotations__", {}).items():
                    if isinstance(kind, typing.ForwardRef) and value.__module__ == name:
                        found.append(f"{name}.{value.__name__}.{field}")
        print(json.dumps(sorted(set(found))))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    found = json.loads(result.stdout)
    # Only names that exist for type checkers alone remain strings.
    assert len(found) <= 5, found


DEFERRED = {"ssl", "_ssl", "subprocess", "_posixsubprocess", "inspect", "ast", "dis"}


def test_asyncio_is_imported_without_ssl_subprocess_and_inspect() -> None:
    """A machine imports asyncio and dataclasses through ``_lean_imports``: OpenSSL,
    ``subprocess`` and ``inspect`` load only when something uses them
    (docs/performance.md), not for a loop, a signal handler or a dataclass."""
    loaded = modules_after(
        """
        from statemachine_engine._lean_imports import import_asyncio
        import_asyncio()
        import asyncio, asyncio.subprocess, dataclasses, signal

        @dataclasses.dataclass(frozen=True)
        class Point:
            "A documented dataclass."
            x: int

        def on_signal():
            pass

        async def main():
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, on_signal)
            await asyncio.sleep(0)

        asyncio.run(main())
        """
    )
    assert "asyncio" in loaded
    assert sorted(loaded & DEFERRED) == []


def test_a_machine_process_path_loads_no_inspect() -> None:
    """What a machine's command line imports before its loop runs leaves them out."""
    loaded = modules_after(
        """
        from statemachine_engine._lean_imports import import_asyncio
        import_asyncio()
        import statemachine_engine.cli, statemachine_engine.core._host
        import statemachine_engine.core.engine, statemachine_engine.core._preflight
        import statemachine_engine.database._sqlite, statemachine_engine.settings
        import statemachine_engine.actions.builtin.log_action
        """
    )
    assert sorted(loaded & (DEFERRED | {"difflib"})) == []


async def _a_coroutine_function() -> None:
    pass


def _a_function() -> None:
    pass


def test_the_inspect_stand_in_tells_coroutine_functions_as_inspect_does() -> None:
    import functools
    import inspect

    from statemachine_engine._lean_imports import _CO_COROUTINE, _DeferredInspect

    assert inspect.CO_COROUTINE == _CO_COROUTINE
    kinds = [
        _a_function,
        _a_coroutine_function,
        lambda: None,
        functools.partial(_a_coroutine_function),
        print,
        object(),
        _DeferredInspect.iscoroutinefunction,
    ]
    for kind in kinds:
        assert _DeferredInspect.iscoroutinefunction(kind) == inspect.iscoroutinefunction(kind)


def test_the_subprocess_stand_in_has_the_real_constants() -> None:
    """What asyncio reads from ``subprocess`` as it is imported has the real values."""
    import subprocess as real

    from statemachine_engine._lean_imports import _DeferredSubprocess

    stand_in = _DeferredSubprocess("subprocess")
    assert (stand_in.PIPE, stand_in.STDOUT, stand_in.DEVNULL) == (
        real.PIPE,
        real.STDOUT,
        real.DEVNULL,
    )
