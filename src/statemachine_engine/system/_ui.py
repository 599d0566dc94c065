"""What ``up`` does for the web UI: the diagrams it shows, drawn from every config of
the manifest, and the ``statemachine-ui`` process run beside the machines when the
manifest has ``ui:``."""

from __future__ import annotations

import logging
import re
import sys

from ..config._manifest import Manifest
from ..errors import StateMachineError
from ..tools.diagrams.cli import DEFAULT_OUTPUT_DIR, write_diagrams
from ._process import Unit

logger = logging.getLogger("statemachine_engine.system")

#: The UI's process, as ``status``, ``logs`` and its log file name it.
UI_PROCESS = "statemachine-ui"
#: The unit the supervisor runs for the UI (no machine of its own).
UI_UNIT = Unit(UI_PROCESS, ())
_SERVING = re.compile(r"serving (http://\S+?)/? ")


def draw_diagrams(manifest: Manifest) -> list[str]:
    """Write every config's diagrams under ``docs/fsm-diagrams/`` of the project, as
    ``statemachine-diagrams`` does (the UI reads them there); returns a warning per
    config that could not be drawn (the system starts all the same)."""
    warnings = []
    configs = dict.fromkeys(spec.config for spec in manifest.machines.values())
    for config in configs:
        try:
            write_diagrams(config, manifest.root / DEFAULT_OUTPUT_DIR)
        except StateMachineError as exc:
            warnings.append(f"no diagrams for {config.name}: {exc}")
    return warnings


def ui_command(manifest: Manifest) -> list[str]:
    """The ``statemachine-ui`` command line the manifest's ``ui:`` asks for."""
    ui = manifest.ui
    assert ui is not None
    argv = [sys.executable, "-m", "statemachine_engine.ui.cli"]
    argv += ["--host", ui.host, "--port", str(ui.port)]
    argv += ["--project-root", str(manifest.root), "--manifest", str(manifest.path)]
    if ui.allow_control:
        argv.append("--allow-control")
    if not ui.metrics:
        argv.append("--no-metrics")
    if manifest.store is not None:
        argv += ["--db", manifest.store]
    return argv


def served_url(line: str) -> str | None:
    """The address in the UI's ``serving http://...`` line, if ``line`` is that one."""
    match = _SERVING.search(line + " ")
    return match.group(1) + "/" if match else None
