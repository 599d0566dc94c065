"""The config linter and dry run (``statemachine-validate``, alias ``statemachine-lint``).

:mod:`.checks` holds one pure function per rule of :data:`.findings.RULES`;
:mod:`.linter` loads configs and runs them; :mod:`.simulate` walks a config through
events; :mod:`.report` formats; :mod:`.cli` is the command.
"""

from __future__ import annotations

from .checks import run_checks
from .context import LintContext
from .findings import Finding, Rule
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
