"""Findings as text (``file:line: CODE severity message``) or JSON. Pure."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .findings import ERROR, WARNING, Finding


def text_lines(findings: Sequence[Finding]) -> list[str]:
    """One line per finding: ``file:line: CODE severity message``."""
    return [
        f"{item.position.path or '<config>'}:{item.position.line or 1}: "
        f"{item.code} {item.severity} {item.message}"
        for item in findings
    ]


def summary(findings: Sequence[Finding], configs: int) -> str:
    """``2 errors, 1 warning in 3 configs``."""
    errors = sum(1 for item in findings if item.severity == ERROR)
    warnings = sum(1 for item in findings if item.severity == WARNING)
    return (
        f"{_count(errors, 'error')}, {_count(warnings, 'warning')} in {_count(configs, 'config')}"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def json_report(findings: Sequence[Finding], configs: int, *, strict: bool) -> str:
    """The whole run as one JSON object (see docs/validate.md)."""
    return json.dumps(
        {
            "ok": not any(item.fails(strict=strict) for item in findings),
            "configs": configs,
            "errors": sum(1 for item in findings if item.severity == ERROR),
            "warnings": sum(1 for item in findings if item.severity == WARNING),
            "findings": [
                {
                    "path": item.position.path,
                    "line": item.position.line,
                    "column": item.position.column,
                    "code": item.code,
                    "severity": item.severity,
                    "message": item.message,
                }
                for item in findings
            ],
        },
        indent=2,
        ensure_ascii=False,
    )
