"""What the UI knows of a system it runs for: the machines its manifest starts, each
with what the supervisor's state file says of its process (restarts, state, last exit).

``statemachine-ui --manifest FILE`` hands :meth:`SystemView.machines` to the server,
which adds the machines that are not running to its list (the server's layer does not
know manifests or supervisors: it calls this)."""

from __future__ import annotations

from typing import Any

from ..config._manifest import Manifest
from ..settings import Settings
from ._logview import read_log, safe_log
from ._running import RunningSystem
from ._supervisor import started_units, unit_machine_names


class SystemView:
    """The machines ``manifest`` starts, as its supervisor (up or not) sees them.

    Args:
        manifest: the system.
        settings: the process's settings (the manifest's store takes the place of theirs).
    """

    def __init__(self, manifest: Manifest, settings: Settings) -> None:
        self.name = manifest.name
        self.logs = manifest.logs
        self.running = RunningSystem(settings.with_flags(db=manifest.store), manifest.name)
        self.expected: list[tuple[str, str, str]] = []
        for unit in started_units(manifest):
            names = unit_machine_names(unit)
            configs = [spec.config.stem for spec in unit.specs] * (len(names) // len(unit.specs))
            self.expected += [(unit.name, c, n) for c, n in zip(configs, names, strict=True)]

    def machines(self) -> list[dict[str, Any]]:
        """``{name, process, config, restarts, process_state, last_exit}`` per machine
        the system starts, in start order (``process_state`` None: the system is not up)."""
        state = self.running.read() if self.running.is_up() else None
        processes = (state or {}).get("processes") or {}
        rows = []
        for process_name, config, name in self.expected:
            process = processes.get(process_name) or {}
            rows.append(
                {
                    "name": name,
                    "process": process_name,
                    "config": config,
                    "restarts": process.get("restarts", 0) if state else None,
                    "process_state": process.get("state"),
                    "last_exit": process.get("last_exit"),
                }
            )
        return rows

    def log(self, name: str, *, lines: int, cursor: str | None) -> dict[str, Any] | None:
        """The log of machine ``name``'s process (:func:`._logview.read_log`): its last
        ``lines`` lines, or those written after ``cursor``; None when ``name`` is not a
        machine of the system or its log file is not safe to read.

        Raises:
            ValueError: ``cursor`` is not one.
        """
        process = next((p for p, _, machine in self.expected if machine == name), None)
        path = safe_log(self.logs.directory, process) if process else None
        if path is None:
            return None
        return {
            "file": path.name,
            **read_log(path, lines=lines, cursor=cursor, keep=self.logs.keep),
        }
