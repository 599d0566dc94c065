"""A whole system of machines from one manifest (``statemachine-project.yaml``).

:func:`load_manifest` reads and checks a manifest into a frozen :class:`Manifest`:
the store, the environment, the UI, the log files, the hooks and every machine with its
config, instances, restart policy, process group and dependencies.
"""

from ..config._manifest import (
    DEFAULT_MANIFEST,
    LogSpec,
    MachineSpec,
    Manifest,
    RestartPolicy,
    UiSpec,
)
from ..config._manifest_reader import load_manifest, manifest_from_text

__all__ = [
    "DEFAULT_MANIFEST",
    "LogSpec",
    "MachineSpec",
    "Manifest",
    "RestartPolicy",
    "UiSpec",
    "load_manifest",
    "manifest_from_text",
]
