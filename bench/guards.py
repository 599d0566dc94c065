"""What an ``if:`` guard costs: a lookup through guarded transitions against a plain one,
compiling a guard, and loading the expression language.

    python bench/guards.py [--lookups N]

No bar in DESIGN.md: the figures say what a guarded event adds to a transition
(compare the engine's ~0.1 ms per durable step, bench/durable.py).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from _report import figure, header
from statemachine_engine.config._guards import compile_guard
from statemachine_engine.config._transitions import GuardScope, TransitionTable
from statemachine_engine.config.model import Transition

ROUTES = (
    Transition("waiting", "image", "file", guard='kind == "image" && size < 10000'),
    Transition("waiting", "large", "file", guard="size >= 10000"),
    Transition("waiting", "other", "file"),
)
PLAIN = (Transition("waiting", "other", "file"),)


def per_lookup_us(table: TransitionTable, values: dict[str, object], lookups: int) -> float:
    scope = GuardScope(lambda: values, lambda transition, error: None)
    start = time.perf_counter()
    for _ in range(lookups):
        table.lookup("waiting", "file", scope)
    return (time.perf_counter() - start) / lookups * 1e6


def first_compile_ms() -> float:
    """A fresh process: import cel-python, build its parser, compile one guard."""
    code = (
        "import time; t = time.perf_counter();"
        "from statemachine_engine.config._guards import compile_guard;"
        "compile_guard('n > 3'); print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=5_000)
    args = parser.parse_args()
    header("guards")
    plain = TransitionTable.build(PLAIN)
    guarded = TransitionTable.build(ROUTES)
    figure("lookup, no guard", per_lookup_us(plain, {}, args.lookups * 20), "us")
    image = {"kind": "image", "size": 10}
    figure("lookup, first guard holds", per_lookup_us(guarded, image, args.lookups), "us")
    other = {"kind": "text", "size": 10}
    figure("lookup, two guards fail, fallback", per_lookup_us(guarded, other, args.lookups), "us")
    start = time.perf_counter()
    for n in range(200):
        compile_guard(f"n > {n}")
    figure(
        "compile a guard (parser built)", (time.perf_counter() - start) / 200 * 1000, "ms", digits=2
    )
    figure("load cel-python + first compile, new process", first_compile_ms(), "ms")


if __name__ == "__main__":
    main()
