"""Shared printing for the benchmarks: one line per figure, with its bar."""

from __future__ import annotations

import platform
import statistics
import subprocess
from collections.abc import Sequence
from pathlib import Path


def header(title: str) -> None:
    print(f"== {title} ==")
    print(f"   python {platform.python_version()} on {platform.machine()}, {platform.system()}")


def figure(
    label: str,
    value: float,
    unit: str,
    *,
    bar: str | None = None,
    ok: bool | None = None,
    reference: float | None = None,
    digits: int = 1,
) -> None:
    line = f"{label:<46} {value:>12,.{digits}f} {unit}"
    if reference is not None:
        line += f"   [earlier implementation: {reference:,.{digits}f} {unit}]"
    if bar is not None:
        verdict = "" if ok is None else ("  PASS" if ok else "  MISS")
        line += f"   bar: {bar}{verdict}"
    print(line)


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000.0


def is_editable(executable: str) -> bool:
    """Whether the `statemachine` script imports the package from a source checkout."""
    python = Path(executable).with_name("python")
    if not python.exists():
        return False
    result = subprocess.run(
        [str(python), "-c", "import statemachine_engine; print(statemachine_engine.__file__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return "site-packages" not in result.stdout
