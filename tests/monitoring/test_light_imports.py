"""The server's libraries load only in the server: never in a machine, never for --help."""

from __future__ import annotations

from tests.unit.test_imports import modules_after

SERVER_LIBRARIES = {"starlette", "uvicorn", "websockets", "httpx"}


def test_machine_code_paths_never_load_the_server_libraries() -> None:
    loaded = modules_after(
        """
        import statemachine_engine.cli, statemachine_engine.core.engine
        import statemachine_engine.messaging._realtime, statemachine_engine.actions.builtin
        import statemachine_engine.database.cli, statemachine_engine.tools.events
        """
    )
    assert sorted(loaded & SERVER_LIBRARIES) == []


def test_statemachine_ui_help_does_not_load_them() -> None:
    loaded = modules_after(
        """
        from statemachine_engine.ui.cli import build_parser
        build_parser().format_help()
        """
    )
    assert sorted(loaded & SERVER_LIBRARIES) == []
