"""A busy system like an operator's, started from the real CLIs in a temporary directory.

Used by ``ui_screenshots.py``: a dispatcher queueing about 3 ``render`` jobs a second
(some fail and go dead, their command's output kept), three render workers, two video
renderers (one to be SIGKILLed mid-job), an indexer with a ``max_time`` it overstays
(stuck), 200 crawler instances, ``upload`` jobs nobody takes, and ``statemachine-ui
--allow-control`` on a free port. Every process it starts goes in a session of its own
so that :meth:`BusySystem.stop` can end each group, and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

DISPATCHER = """\
# Queues a render job about every 0.3 s, for a frame picked at random.
name: Dispatcher
initial_state: picking
metadata: {machine_name: dispatcher}
states:
  # === DISPATCH ===
  - picking
  - queueing
  - resting
  # === END ===
  - stopped
events: [stop]
transitions:
  - {from: picking, to: queueing, event: picked}
  - {from: queueing, to: resting, event: job_added}
  - {from: resting, to: picking, event: timeout(250ms)}
  - {from: "*", to: stopped, event: stop}
actions:
  picking:
    - {type: bash, command: "echo $((RANDOM % 1000))", success: picked, log_output: false}
  queueing:
    - {type: add_job, job_type: render, data: {frame: "{stdout}"}, max_attempts: 2}
"""

WORKER = """\
# Renders frames: frames divisible by 11 always fail (disk full), those divisible
# by 7 fail half the time (and are retried).
name: Render worker
initial_state: waiting
template: true
metadata: {machine_name: worker}
states:
  # === IDLE ===
  - waiting
  # === WORK ===
  - rendering
  - finishing
  - failing
  # === END ===
  - stopped
events: [stop]
transitions:
  - {from: waiting, to: rendering, event: new_job}
  - {from: waiting, to: waiting, event: no_jobs}
  - {from: rendering, to: finishing, event: job_done}
  - {from: rendering, to: failing, event: error}
  - {from: finishing, to: waiting, event: success}
  - {from: failing, to: waiting, event: job_failed}
  - {from: "*", to: stopped, event: stop}
actions:
  waiting:
    - {type: check_database_queue, job_type: render, wait: 10}
  rendering:
    - type: bash
      command: |
        echo "rendering frame {frame} at 1920x1080"
        if (( {frame} % 11 == 0 )); then
          echo "wrote 0 of 6220800 bytes"; echo "disk full on /var/render/{frame}.png" >&2; exit 3
        fi
        if (( {frame} % 7 == 0 && RANDOM % 2 )); then
          echo "connection reset by peer while fetching textures" >&2; exit 4
        fi
        sleep 0.$((RANDOM % 5 + 2))
        echo "frame {frame} done"
  finishing:
    - {type: complete_job}
  failing:
    - {type: fail_job, reason: "{stderr}"}
"""

RENDERER = """\
# Encodes video clips, a few seconds each.
name: Video renderer
initial_state: waiting
template: true
metadata: {machine_name: renderer}
states:
  # === IDLE ===
  - waiting
  # === WORK ===
  - encoding
  - finishing
  # === END ===
  - stopped
events: [stop]
transitions:
  - {from: waiting, to: encoding, event: new_job}
  - {from: waiting, to: waiting, event: no_jobs}
  - {from: encoding, to: finishing, event: job_done}
  - {from: finishing, to: waiting, event: success}
  - {from: "*", to: stopped, event: stop}
actions:
  waiting:
    - {type: check_database_queue, job_type: video, wait: 10}
  encoding:
    - {type: bash, command: "echo encoding {clip}; sleep 5; echo encoded {clip}"}
  finishing:
    - {type: complete_job}
"""

INDEXER = """\
# Merges index segments; a merge should take seconds, this one waits for a lock.
name: Indexer
initial_state: idle
metadata: {machine_name: indexer}
states:
  # === IDLE ===
  - idle
  # === WORK ===
  - merging
  # === END ===
  - stopped
events: [stop]
max_time: {merging: 20s}
transitions:
  - {from: idle, to: merging, event: timeout(2s)}
  - {from: merging, to: idle, event: timeout(1h)}
  - {from: "*", to: stopped, event: stop}
actions:
  merging:
    - {type: log, level: warning, message: "merging segments: waiting for index.lock"}
"""

CRAWLER = """\
# One crawl after another: fetch a page, parse it, store it. Each instance starts after
# a random pause, so that 200 instances started together do not move in step.
name: Crawler
initial_state: starting
template: true
metadata: {machine_name: crawler}
states:
  # === WAITING ===
  - starting
  - pausing
  - queued
  # === WORKING ===
  - fetching
  - parsing
  # === STORING ===
  - storing
transitions:
  - {from: starting, to: pausing, event: picked}
  - {from: pausing, to: queued, event: wake_up}
  - {from: queued, to: fetching, event: timeout(2s)}
  - {from: fetching, to: parsing, event: timeout(3s)}
  - {from: parsing, to: storing, event: timeout(1s)}
  - {from: storing, to: queued, event: timeout(2s)}
actions:
  starting:
    - {type: bash, command: "echo $((RANDOM % 8)).$((RANDOM % 10))", success: picked}
  pausing:
    - {type: sleep, duration: "{stdout}"}
"""

CONFIGS = {
    "dispatcher": DISPATCHER,
    "worker": WORKER,
    "renderer": RENDERER,
    "indexer": INDEXER,
    "crawler": CRAWLER,
}
CRAWLERS = 200
VIDEO_JOBS = 40
UPLOAD_JOBS = 15
SERVING = re.compile(r"serving (http://127\.0\.0\.1:\d+/)")


def console_script(name: str) -> str:
    """The console script beside this Python (a venv's bin), else on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"error: no {name} beside {sys.executable} or on PATH")
    return found


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class BusySystem:
    """The system's processes; use as a context manager: leaving it stops them all."""

    def __init__(self, crawlers: int = CRAWLERS) -> None:
        self.crawlers = crawlers
        self.workdir = Path(tempfile.mkdtemp(prefix="ui-shots-"))
        self.db = self.workdir / "store.db"
        self.env = {
            **os.environ,
            "STATEMACHINE_DB": str(self.db),
            "STATEMACHINE_SOCKET_DIR": str(self.workdir / "sockets"),
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.killed: set[str] = set()
        self.url = ""

    def __enter__(self) -> BusySystem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def machine_count(self) -> int:
        """Machines the system runs: crawlers, 3 workers, 2 renderers, indexer, dispatcher."""
        return self.crawlers + 7

    def start(self) -> None:
        say(f"starting a busy system in {self.workdir}")
        for name, text in CONFIGS.items():
            (self.workdir / f"{name}.yaml").write_text(text)
        self.run("indexer", "indexer.yaml")
        self.wait_for(self.db.exists, "the store", 30)
        self.start_ui()
        self.run("worker", "worker.yaml", "--instances", "3")
        for number in ("001", "002"):
            self.run(f"renderer_{number}", "renderer.yaml", "--machine-name", f"renderer_{number}")
        self.run("crawler", "crawler.yaml", "--instances", str(self.crawlers))
        self.run("dispatcher", "dispatcher.yaml")
        self.add_jobs("video", [{"clip": f"clip-{n:03}.mov"} for n in range(VIDEO_JOBS)])
        self.add_jobs("upload", [{"file": f"/var/render/out-{n}.png"} for n in range(UPLOAD_JOBS)])
        self.wait_for(
            lambda: len(self.api("/api/machines")) >= self.machine_count(),
            f"{self.machine_count()} machines to register",
            120,
        )
        say(f"{self.machine_count()} machines running; the UI serves {self.url}")

    def run(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.workdir / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [console_script("statemachine"), *args],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        self.processes[name] = process
        say(f"started {name} (pid {process.pid})")
        return process

    def start_ui(self) -> None:
        ui = subprocess.Popen(
            [console_script("statemachine-ui"), "--port", "0", "--allow-control",
             "--series-interval", "2", "--project-root", str(self.workdir)],
            cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.processes["statemachine-ui"] = ui
        assert ui.stdout is not None
        said = []
        for raw in ui.stdout:
            line = raw.decode(errors="replace")
            said.append(line)
            if match := SERVING.search(line):
                self.url = match.group(1)
                break
        else:
            raise SystemExit("error: statemachine-ui ended before serving:\n" + "".join(said))
        # Keep reading its output so that it never blocks on a full pipe.
        threading.Thread(target=ui.stdout.read, daemon=True).start()
        say(f"started statemachine-ui (pid {ui.pid}) at {self.url}")

    def add_jobs(self, job_type: str, payloads: list[dict[str, Any]]) -> None:
        lines = "".join(json.dumps({"data": data}) + "\n" for data in payloads)
        subprocess.run(
            [console_script("statemachine-db"), "add-job", "--type", job_type, "--from", "-"],
            input=lines.encode(), cwd=self.workdir, env=self.env, check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        say(f"queued {len(payloads)} {job_type} jobs")

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=10) as answer:  # noqa: S310
            return json.load(answer)

    def machine(self, name: str) -> dict[str, Any] | None:
        return next((m for m in self.api("/api/machines") if m.get("name") == name), None)

    def kill(self, name: str) -> None:
        """SIGKILL a machine's process (it shows dead; its job stays claimed)."""
        self.killed.add(name)
        self.processes[name].kill()
        self.processes[name].wait()
        say(f"killed {name} with SIGKILL")

    def wait_for(self, ready: Callable[[], bool], what: str, seconds: float) -> None:
        """Poll ``ready`` until it holds; stop early should a process end unasked."""
        say(f"waiting for {what}")
        deadline = time.monotonic() + seconds
        while not ready():
            for name, process in self.processes.items():
                if process.poll() is not None and name not in self.killed:
                    log = self.workdir / f"{name}.log"
                    tail = log.read_text()[-2000:] if log.exists() else ""
                    raise SystemExit(f"error: {name} ended (exit {process.returncode}):\n{tail}")
            if time.monotonic() > deadline:
                raise SystemExit(f"error: gave up waiting for {what} after {seconds:g} s")
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM every process group started, SIGKILL what remains after 10 s.

        A group is signalled only while its leader is not reaped, so that its id cannot
        have gone to someone else's group. The machines end their commands themselves.
        """
        running = {n: p for n, p in self.processes.items() if p.poll() is None}
        if running:
            say(f"stopping {len(running)} processes")
        for process in running.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in running.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)
