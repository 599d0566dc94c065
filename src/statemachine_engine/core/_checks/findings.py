"""What the linter reports: findings with stable codes, and the table of those codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

from ...config.model import Position

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


class Rule(NamedTuple):
    code: str
    severity: Severity
    title: str


#: Every code the linter can report. Codes never change meaning; retired codes stay
#: retired. 0xx: the config cannot be read; 1xx: errors; 2xx: warnings.
RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule("SM001", ERROR, "the config cannot be loaded"),
        Rule("SM101", ERROR, "a transition names an undefined state"),
        Rule("SM102", ERROR, "unknown action type"),
        Rule("SM103", ERROR, "malformed timeout"),
        Rule("SM104", ERROR, "conflicting transitions (same source and event)"),
        Rule("SM105", ERROR, "non-terminal state with no way out"),
        Rule("SM106", ERROR, "polling action whose empty result leads nowhere"),
        Rule("SM107", ERROR, "an if: guard that cannot be compiled"),
        Rule("SM108", ERROR, "unknown key"),
        Rule("SM109", ERROR, "an action file that cannot be loaded"),
        Rule("SM110", ERROR, "an action option that makes the action fail every time it runs"),
        Rule("SM201", WARNING, "unreachable state"),
        Rule("SM202", WARNING, "event that nothing emits"),
        Rule("SM203", WARNING, "success:/error: event with no transition"),
        Rule("SM204", WARNING, "duplicate transition"),
        Rule("SM205", WARNING, "placeholder that no context key can fill"),
        Rule("SM206", WARNING, "placeholder from outside the config in a bash arithmetic context"),
        Rule("SM207", WARNING, "an if: guard reads a key that nothing sets"),
    )
}


class Finding(NamedTuple):
    """One problem found in a config (``subject``: the state it is about, if one)."""

    code: str
    message: str
    position: Position
    subject: str | None = None

    @property
    def severity(self) -> Severity:
        return RULES[self.code].severity

    def fails(self, *, strict: bool) -> bool:
        """Whether this finding makes the run fail (warnings only with ``--strict``)."""
        return self.severity == ERROR or strict

    def sort_key(self) -> tuple[str, int, int, str, str]:
        path, line, column = self.position
        return (path or "", line or 0, column or 0, self.code, self.message)


def finding(code: str, message: str, position: Position, subject: str | None = None) -> Finding:
    """A :class:`Finding`; ``code`` must be one of :data:`RULES`."""
    if code not in RULES:
        raise ValueError(f"unknown lint code {code!r}")
    return Finding(code, message, position, subject)


def text_lines(findings: Sequence[Finding]) -> list[str]:
    """One line per finding: ``file:line: CODE severity message``."""
    return [
        f"{item.position.path or '<config>'}:{item.position.line or 1}: "
        f"{item.code} {item.severity} {item.message}"
        for item in findings
    ]
