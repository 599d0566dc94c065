"""The former home of :mod:`statemachine_engine.context.interpolation`.

Kept so that imports written against it (``ShellValueError`` above all) keep working.
"""

from __future__ import annotations

from ..context.interpolation import (
    MISSING,
    Landing,
    ShellCommand,
    ShellValueError,
    interpolate,
    interpolate_text,
    placeholders,
    render_shell,
    resolve_path,
    shell_command,
    shell_landings,
    to_text,
)

__all__ = [
    "MISSING",
    "Landing",
    "ShellCommand",
    "ShellValueError",
    "interpolate",
    "interpolate_text",
    "placeholders",
    "render_shell",
    "resolve_path",
    "shell_command",
    "shell_landings",
    "to_text",
]
