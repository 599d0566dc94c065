"""The config linter and dry run (``statemachine-validate``, alias ``statemachine-lint``).

The checks themselves live in :mod:`statemachine_engine.core.checks` (the engine runs
them before a machine starts); :mod:`.linter` loads configs and runs them;
:mod:`.simulate` walks a config through events; :mod:`.report` formats; :mod:`.cli` is
the command.
"""

from __future__ import annotations

from ...core.checks import Finding, LintContext, Rule, run_checks
from .linter import LintResult, lint_paths
from .simulate import Simulation, Step, simulate

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
]
