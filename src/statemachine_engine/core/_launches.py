"""The names machines run under.

A machine is named by ``--machine-name`` (or the name a caller gives), else its config's
``metadata.machine_name``, else the config file's stem, else the config's ``name``;
``--instances N`` runs ``<name>_001`` ... ``<name>_N`` (three digits at least). A name
also names a machine's files (its control socket, its lock) and lines of text (logs,
``statemachine-db machine-state``), so it is refused if it could not do both.
"""

from __future__ import annotations

from .._input_rules import shown, usable_machine_name
from ..errors import StateMachineError

TYPE_CHECKING = False  # (the command line checks its flags with this module, before typing)
if TYPE_CHECKING:
    from ..config.model import MachineConfig

#: The most instances one process runs (about 12 KB each: docs/performance.md).
MAX_INSTANCES = 100_000


def machine_name_for(config: MachineConfig, given: str | None = None) -> str:
    """The name the machine of ``config`` runs under, checked."""
    name = given or config.default_machine_name or config_stem(config) or config.name
    check_machine_name(name)
    return name


def config_stem(config: MachineConfig) -> str | None:
    """The config file's name without its extension (None: not read from a file)."""
    if not config.path:
        return None
    name = config.path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def check_machine_name(name: str) -> None:
    """Refuse a name that cannot name a machine's files and log lines
    (:func:`~statemachine_engine._input_rules.usable_machine_name`)."""
    try:
        usable_machine_name(name)
    except ValueError as exc:
        raise StateMachineError(f"machine name {shown(name)} {exc}") from None


def instance_names(base: str, instances: int | None) -> list[str]:
    """The machines' names: ``base`` alone, or one per instance."""
    if instances is None:
        return [base]
    if instances > MAX_INSTANCES:
        raise StateMachineError(
            f"{instances} instances are more than one process runs (at most "
            f"{MAX_INSTANCES}): run several processes"
        )
    width = max(3, len(str(instances)))
    names = [f"{base}_{n:0{width}d}" for n in range(1, instances + 1)]
    check_machine_name(names[-1])
    return names
