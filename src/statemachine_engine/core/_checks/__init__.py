"""The config lint: pure checks from a config model to findings, one per rule.

:mod:`.rules` holds one function per rule of :data:`.findings.RULES` (a few live in
:mod:`.shell`, :mod:`.action_files` and :mod:`.action_times`); :mod:`.context`
says what a check knows besides the config (the actions' classes and their traits,
events other configs send). The engine lints every config before its machine starts
(:mod:`.._preflight`); ``statemachine-validate`` (:mod:`statemachine_engine.tools.lint`)
loads files, runs the same checks and reports.
"""

from __future__ import annotations

from .context import LintContext, events_sent_between, machine_name_of
from .findings import RULES, Finding, Rule, finding, text_lines
from .rules import CHECKS, run_checks

__all__ = [
    "CHECKS",
    "RULES",
    "Finding",
    "LintContext",
    "Rule",
    "events_sent_between",
    "finding",
    "machine_name_of",
    "run_checks",
    "text_lines",
]
