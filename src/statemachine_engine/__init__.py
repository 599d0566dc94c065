"""statemachine-engine: event-driven state machines declared in YAML.

The public names are imported lazily so that ``statemachine --help`` stays fast.
"""

from __future__ import annotations

from ._lazy import lazy_getattr
from ._version import __version__

# typing costs --help a tenth of its time; its names are only annotations here.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from .actions.base import BaseAction
    from .config.loader import load_config
    from .config.model import MachineConfig
    from .core._host import MachineHost
    from .core.action_loader import ActionLoader
    from .core.engine import StateMachineEngine
    from .database import Database
    from .database.models import JobModel

__all__ = [
    "ActionLoader",
    "BaseAction",
    "Database",
    "JobModel",
    "MachineConfig",
    "MachineHost",
    "StateMachineEngine",
    "__version__",
    "load_config",
]

_LAZY = {
    "ActionLoader": ".core.action_loader",
    "BaseAction": ".actions.base",
    "Database": ".database",
    "JobModel": ".database.models",
    "MachineConfig": ".config.model",
    "MachineHost": ".core._host",
    "StateMachineEngine": ".core.engine",
    "load_config": ".config.loader",
}

__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
