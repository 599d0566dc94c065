"""What a failed command printed, kept with a job's failure: the ends of its output.

A ``bash`` action that fails leaves it in the context as ``last_output``; ``fail_job``
stores it in the job's history, where the job's details show it. Only the ends are
kept, since the last lines say why it failed and a dead job's every attempt keeps one.
"""

from __future__ import annotations

from typing import Any

#: The context key a failed command's output is left under.
LAST_OUTPUT = "last_output"
#: Characters kept from the end of each stream.
TAIL_CHARS = 2000


def failure_output(stdout: str, stderr: str, exit_code: int) -> dict[str, Any]:
    """The ends of a failed command's stdout and stderr, and its exit status."""
    return {"stdout": tail(stdout), "stderr": tail(stderr), "exit_code": exit_code}


def tail(text: str, limit: int = TAIL_CHARS) -> str:
    """The last ``limit`` characters of ``text``, from a line's start where one is near,
    after a note of how much was left out."""
    if len(text) <= limit:
        return text
    kept = text[-limit:]
    newline = kept.find("\n")
    if 0 <= newline < limit // 2:
        kept = kept[newline + 1 :]
    return f"[{len(text) - len(kept)} characters before]\n{kept}"
