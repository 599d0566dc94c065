"""Start-up cost: `statemachine --help`, launch -> first state entered, and the memory of
one idle machine process; ours and the earlier implementation's, measured in the same run.

"First state entered" is the moment the process reports the first action of its
initial state (a `log` action printing a marker), read from its output as it comes.
The two implementations take turns, run by run, so a machine that slows down for a
while (these VMs are noisy) slows both alike. RSS is read from /proc once the machine
has entered its first state and its start-up's tail has settled.

    python bench/startup.py [--runs N] [--rss-runs N] [--statemachine PATH] [--reference PATH]

Bars (DESIGN.md, issue 15), medians, each a ratio to the earlier implementation:
launch -> first state <= 0.6x, --help <= 0.4x, one machine process's RSS <= 0.85x.
`--reference` points at the earlier implementation's `statemachine` (installed with
`pip install statemachine-engine==1.0.91` in a separate virtual environment; default
$STATEMACHINE_REFERENCE or /tmp/refvenv/bin/statemachine). Without it the absolute
bars of the first version of this benchmark apply (--help < 80 ms, first state < 100 ms).
Where the time and the memory go: docs/performance.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _report import figure, header, is_editable, median_ms

MARKER = "FIRST_STATE_ENTERED"
CONFIG = f"""
name: startup
initial_state: first
states: [first, second, completed]
events: [go]
transitions:
  - {{from: first, to: second, event: go}}
  - {{from: second, to: completed, event: go}}
actions:
  first:
    - type: log
      message: "{MARKER}"
"""


def one_help(executable: str) -> float:
    return one_run([executable, "--help"])


def one_run(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


_LEAN_ASYNCIO = "from statemachine_engine._lean_imports import import_asyncio; import_asyncio()"
#: The standard library a machine process has loaded by its first state, beside asyncio
#: and what asyncio imports (read off ``python -X importtime``; Python 3.11).
STANDARD_MODULES = (
    "argparse",
    "datetime",
    "faulthandler",
    "json",
    "logging",
    "pathlib",
    "socket",
    "sqlite3",
    "zlib",
)

#: The floor under a machine's start, each run with the interpreter of ours: what no
#: change to our package can take away (docs/performance.md, "Where the time goes").
FLOORS = (
    ("python -S -c pass (no site)", ["-S", "-c", "pass"]),
    ("python -c pass", ["-c", "pass"]),
    ("python: import statemachine_engine.cli", ["-c", "import statemachine_engine.cli"]),
    (
        "python: asyncio as a machine imports it",
        ["-c", _LEAN_ASYNCIO],
    ),
    (
        "python: and the stdlib a machine loads",
        ["-c", f"{_LEAN_ASYNCIO}; import {', '.join(STANDARD_MODULES)}"],
    ),
    (
        "python: that stdlib, no asyncio",
        ["-c", f"import dataclasses, {', '.join(STANDARD_MODULES)}"],
    ),
)


def floors(statemachine: str, runs: int) -> None:
    """Print the floor figures, the interpreter beside ``statemachine`` taking turns
    (none for an install without ``_lean_imports``, older than these figures)."""
    python = Path(statemachine).with_name("python")
    if not python.exists():
        return
    try:
        one_run([str(python), "-c", _LEAN_ASYNCIO])
    except subprocess.CalledProcessError:
        return
    samples = turns(runs, *(lambda args=args: one_run([str(python), *args]) for _, args in FLOORS))
    for (label, _), kept in zip(FLOORS, samples, strict=True):
        figure(f"  floor: {label}", median_ms(kept), "ms")


_names = itertools.count()


class Bench:
    """One implementation's working directory: its own store, sockets and config cache."""

    def __init__(self, executable: str, workdir: Path, *, cache: bool = True) -> None:
        self.executable = executable
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.config = workdir / "startup.yaml"
        self.config.write_text(CONFIG)
        self.env = {
            **os.environ,
            "STATEMACHINE_SOCKET_DIR": str(workdir),
            "STATEMACHINE_CACHE_DIR": str(workdir / "cache") if cache else "off",
        }
        self.env.pop("STATEMACHINE_DB", None)

    def start(self) -> subprocess.Popen[str]:
        """A machine process, returned once its first state's first action has run."""
        process = subprocess.Popen(
            # Fresh names: a name used before would resume (ours is durable).
            [self.executable, str(self.config), "--machine-name", f"startup{next(_names)}"],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            if MARKER in line:
                return process
        process.wait()
        raise RuntimeError(f"{self.executable} exited without entering its first state")

    def first_state(self) -> float:
        """Seconds from launch to the first state's first action."""
        start = time.perf_counter()
        process = self.start()
        elapsed = time.perf_counter() - start
        stop(process)
        return elapsed

    def idle_rss(self) -> float:
        """RSS (MB) of one machine process idle in its first state."""
        process = self.start()
        try:
            settle(process.pid)
            return rss_mb(process.pid)
        finally:
            stop(process)


def stop(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def settle(pid: int, limit: float = 10.0) -> None:
    """Wait until the process has used no CPU for a while: start-up's tail is over."""
    ticks = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = ticks.read_text().rsplit(")", 1)[1].split()[11:13]
        time.sleep(0.5)
        if ticks.read_text().rsplit(")", 1)[1].split()[11:13] == before:
            return


def turns(runs: int, *measures: Callable[[], float] | None) -> list[list[float]]:
    """Each measure ``runs`` times, taking turns; a None measure gives no samples."""
    samples: list[list[float]] = [[] for _ in measures]
    for _ in range(runs):
        for measure, kept in zip(measures, samples, strict=True):
            if measure is not None:
                kept.append(measure())
    return samples


def ratio_figure(
    label: str, ours: float, theirs: float | None, unit: str, *, most: float, fallback: float
) -> bool:
    """Print ours against theirs with the bar ``ours <= most * theirs`` (without a
    reference: ``ours < fallback``); whether it passed."""
    if theirs is None:
        ok = ours < fallback
        figure(label, ours, unit, bar=f"< {fallback:g} {unit} (no reference)", ok=ok)
        return ok
    ok = ours <= most * theirs
    bar = f"<= {most:g}x ({most * theirs:.1f} {unit}), now {ours / theirs:.2f}x"
    figure(label, ours, unit, bar=bar, ok=ok, reference=theirs)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--rss-runs", type=int, default=3)
    parser.add_argument("--statemachine", default=shutil.which("statemachine"))
    parser.add_argument(
        "--reference",
        default=os.environ.get("STATEMACHINE_REFERENCE", "/tmp/refvenv/bin/statemachine"),
    )
    args = parser.parse_args()
    if not args.statemachine:
        sys.exit("statemachine is not on PATH: pip install -e . first")
    reference = args.reference if args.reference and Path(args.reference).exists() else None

    header("start-up")
    print(f"   ours: {args.statemachine}")
    print(f"   earlier implementation: {reference or 'not installed (see --reference)'}")
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        ours = Bench(args.statemachine, workdir / "ours")
        theirs = Bench(reference, workdir / "reference") if reference else None
        uncached = Bench(args.statemachine, workdir / "uncached", cache=False)
        # Once each first: our config cache and both stores exist from then on, as they
        # do for a machine started again (the common case: workers, spawned jobs).
        for bench in (ours, theirs):
            if bench is not None:
                bench.first_state()

        help_ours, help_theirs = turns(
            args.runs,
            lambda: one_help(args.statemachine),
            (lambda: one_help(reference)) if reference else None,
        )
        verdicts.append(
            ratio_figure(
                "statemachine --help, median",
                median_ms(help_ours),
                median_ms(help_theirs) if help_theirs else None,
                "ms",
                most=0.4,
                fallback=80,
            )
        )
        first_ours, first_theirs, first_uncached = turns(
            args.runs,
            ours.first_state,
            theirs.first_state if theirs else None,
            uncached.first_state,
        )
        verdicts.append(
            ratio_figure(
                "launch -> first state entered, median",
                median_ms(first_ours),
                median_ms(first_theirs) if first_theirs else None,
                "ms",
                most=0.6,
                fallback=100,
            )
        )
        figure("  the same, parsed-config cache off", median_ms(first_uncached), "ms")
        floors(args.statemachine, args.runs)
        rss_ours, rss_theirs = turns(
            args.rss_runs, ours.idle_rss, theirs.idle_rss if theirs else None
        )
        verdicts.append(
            ratio_figure(
                "one idle machine process: RSS, median",
                statistics.median(rss_ours),
                statistics.median(rss_theirs) if rss_theirs else None,
                "MB",
                most=0.85,
                fallback=25,
            )
        )
    print(f"   issue 15's start-up bars: {sum(verdicts)} of {len(verdicts)} PASS")
    if is_editable(args.statemachine):
        print("   note: an editable install's import hook adds ~20 ms and ~1 MB here; users")
        print("   get a regular install: python -m venv /tmp/v && /tmp/v/bin/pip install .")
        print("   then: python bench/startup.py --statemachine /tmp/v/bin/statemachine")


if __name__ == "__main__":
    main()
