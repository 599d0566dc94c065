"""Findings as text (``file:line: CODE severity message``) or a JSON document. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..._cli_output import count
from ...core._checks.findings import ERROR, WARNING, Finding, text_lines

__all__ = ["report_document", "summary", "text_lines"]


def summary(findings: Sequence[Finding], configs: int) -> str:
    """``2 errors, 1 warning in 3 configs``."""
    errors = sum(1 for item in findings if item.severity == ERROR)
    warnings = sum(1 for item in findings if item.severity == WARNING)
    return f"{count(errors, 'error')}, {count(warnings, 'warning')} in {count(configs, 'config')}"


def report_document(findings: Sequence[Finding], configs: int, *, strict: bool) -> dict[str, Any]:
    """The whole run as one JSON document (see docs/validate.md)."""
    return {
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
    }
