"""The names of the machines a ``statemachine`` command line runs.

A machine is named by ``--machine-name``, else its config's ``metadata.machine_name``,
else the config file's stem; ``--instances N`` runs ``<name>_001`` ... ``<name>_N``
(three digits at least).
"""

from __future__ import annotations

from pathlib import Path

from ..config.model import MachineConfig


def machine_name(config: MachineConfig, path: str, given: str | None = None) -> str:
    """The name the machine of ``config`` (read from ``path``) runs under."""
    return given or config.default_machine_name or Path(path).stem or config.name


def instance_names(base: str, instances: int | None) -> list[str]:
    """The machines' names: ``base`` alone, or one per instance."""
    if instances is None:
        return [base]
    width = max(3, len(str(instances)))
    return [f"{base}_{n:0{width}d}" for n in range(1, instances + 1)]
