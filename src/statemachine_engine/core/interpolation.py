"""The former home of :mod:`statemachine_engine.context.interpolation`.

Kept so that imports written against it (``ShellValueError`` above all) keep working.
"""

from __future__ import annotations

from ..context import interpolation as _moved
from ..context.interpolation import *  # noqa: F403 - the same names, nothing of its own

__all__ = _moved.__all__
