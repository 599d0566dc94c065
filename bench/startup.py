"""Start-up cost: `statemachine --help` wall time, and launch -> first state entered.

"First state entered" is the moment the process reports the first action of its
initial state (a `log` action printing a marker), read from its output as it comes.

    python bench/startup.py [--runs N] [--statemachine PATH] [--reference PATH]

Bars (DESIGN.md): --help < 80 ms and cold start to first state < 100 ms, medians.
`--reference` points at the earlier implementation's `statemachine` (installed with
`pip install statemachine-engine==1.0.91` in a separate virtual environment; default
$STATEMACHINE_REFERENCE or /tmp/refvenv/bin/statemachine) to measure it side by side.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
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


def time_help(executable: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([executable, "--help"], check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


_names = itertools.count()


def time_first_state(executable: str, runs: int, workdir: Path, *, cache: bool = True) -> float:
    config = workdir / "startup.yaml"
    config.write_text(CONFIG)
    env = {
        **os.environ,
        "STATEMACHINE_SOCKET_DIR": str(workdir),
        "STATEMACHINE_CACHE_DIR": str(workdir / "cache") if cache else "off",
    }
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        process = subprocess.Popen(
            # Fresh names: a name used before would resume (ours is durable).
            [executable, str(config), "--machine-name", f"startup{next(_names)}"],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if MARKER in line:
                    samples.append(time.perf_counter() - start)
                    break
            else:
                raise RuntimeError(f"{executable} exited without entering its first state")
        finally:
            process.kill()
            process.wait()
    return median_ms(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
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
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        help_ms = time_help(args.statemachine, args.runs)
        ref_help = time_help(reference, args.runs) if reference else None
        figure(
            "statemachine --help, median",
            help_ms,
            "ms",
            bar="< 80 ms",
            ok=help_ms < 80,
            reference=ref_help,
        )
        first_ms = time_first_state(args.statemachine, args.runs, workdir)
        # Separate directories: each implementation keeps its own data/pipeline.db.
        ref_dir = workdir / "reference"
        ref_dir.mkdir()
        ref_first = time_first_state(reference, args.runs, ref_dir) if reference else None
        figure(
            "launch -> first state entered, median",
            first_ms,
            "ms",
            bar="< 100 ms",
            ok=first_ms < 100,
            reference=ref_first,
        )
        uncached_ms = time_first_state(args.statemachine, args.runs, workdir, cache=False)
        figure(
            "  the same, parsed-config cache off",
            uncached_ms,
            "ms",
            bar="< 100 ms",
            ok=uncached_ms < 100,
        )
    if is_editable(args.statemachine):
        print("   note: an editable install's import hook adds ~20 ms here; users get a")
        print("   regular install: python -m venv /tmp/v && /tmp/v/bin/pip install .")
        print("   then: python bench/startup.py --statemachine /tmp/v/bin/statemachine")


if __name__ == "__main__":
    main()
