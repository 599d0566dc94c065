"""What ``statemachine-system status`` shows: each machine as the store and the
supervisor see it."""

from __future__ import annotations

import time
from typing import Any

from ..config._manifest import Manifest
from ..database import open_store
from ..database.models.machine_state import MachineStateRecord, liveness
from ..errors import StoreNotFound
from ..settings import Settings
from ._process import units_of
from ._supervisor import unit_machine_names
from ._ui import UI_PROCESS

_COLUMNS = (
    "machine",
    "status",
    "state",
    "pid",
    "uptime",
    "restarts",
    "heartbeat",
    "last exit",
    "last error",
)


async def machine_rows(
    manifest: Manifest, settings: Settings, supervisor: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """One row per machine the system starts (instances each), in start order.

    ``supervisor`` is the running supervisor's state file (None: the system is not up).
    """
    now = time.time()
    processes = (supervisor or {}).get("processes") or {}
    started = [spec for wave in manifest.start_order() for spec in wave]
    try:
        store = open_store(create=False, settings=settings)
    except StoreNotFound:
        store = None
    rows = []
    try:
        for unit in units_of(started):
            process = processes.get(unit.name) or {}
            for name in unit_machine_names(unit):
                record = await store.load_machine(name) if store is not None else None
                since = process.get("started_at")
                rows.append(
                    {
                        "machine": name,
                        "process": unit.name,
                        "status": liveness(record, now=now) if record else "not started",
                        "state": record.current_state if record else None,
                        "pid": record.pid if record else None,
                        "uptime": round(now - since, 1) if since and process.get("pid") else None,
                        "restarts": process.get("restarts"),
                        "last_exit": process.get("last_exit"),
                        "heartbeat_age": round(now - record.heartbeat_at, 1) if record else None,
                        "last_error": _last_error(record),
                    }
                )
    finally:
        if store is not None:
            await store.close()
    if manifest.ui is not None:
        rows.append(_ui_row(manifest, supervisor or {}, now))
    return rows


def _ui_row(manifest: Manifest, supervisor: dict[str, Any], now: float) -> dict[str, Any]:
    """The UI's row: its address as its state, ``running`` while its process is."""
    process = (supervisor.get("processes") or {}).get(UI_PROCESS) or {}
    since, pid = process.get("started_at"), process.get("pid")
    return {
        "machine": UI_PROCESS,
        "process": UI_PROCESS,
        "status": "running" if pid else (process.get("state") or "not started"),
        "state": supervisor.get("ui") if pid else None,
        "pid": pid,
        "uptime": round(now - since, 1) if since and pid else None,
        "restarts": process.get("restarts"),
        "last_exit": process.get("last_exit"),
        "heartbeat_age": None,
        "last_error": None,
    }


def _last_error(record: MachineStateRecord | None) -> str | None:
    """The machine's last action error (its context's ``last_error``), one line."""
    error = record.context.get("last_error") if record is not None else None
    return str(error).splitlines()[0] if error else None


def text_table(rows: list[dict[str, Any]]) -> list[str]:
    """The rows as aligned text columns."""
    cells = [
        [
            row["machine"],
            row["status"],
            row["state"] or "-",
            str(row["pid"] or "-"),
            _seconds(row["uptime"]),
            "-" if row["restarts"] is None else str(row["restarts"]),
            _seconds(row["heartbeat_age"]),
            row["last_exit"] or "-",
            _cut(row["last_error"] or "-"),
        ]
        for row in rows
    ]
    widths = [max(len(c[i]) for c in [list(_COLUMNS), *cells]) for i in range(len(_COLUMNS))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [list(_COLUMNS), *cells]
    ]


def _cut(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}s"
