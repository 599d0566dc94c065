"""The config linter and dry run (``statemachine-validate``, alias ``statemachine-lint``).

The checks themselves live in :mod:`statemachine_engine.core._checks` (the engine runs
them before a machine starts); :mod:`._linter` loads configs and runs them;
:mod:`._simulate` walks a config through events; :mod:`._report` formats; :mod:`.cli` is
the command.
"""

from __future__ import annotations

from ...core._checks import Finding, LintContext, Rule, run_checks
from ._linter import LintResult, lint_paths
from ._report import summary, text_lines
from ._simulate import Simulation, Step, simulate

__all__ = [
    "Finding",
    "LintContext",
    "LintResult",
    "Rule",
    "Simulation",
    "Step",
    "lint_paths",
    "run_checks",
    "simulate",
    "summary",
    "text_lines",
]
