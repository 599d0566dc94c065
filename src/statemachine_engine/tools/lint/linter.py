"""Lint several configs together: load each, learn which events they send one another,
run the checks. Loading is the only I/O; a config that does not load is one finding."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from ...core.model import MachineConfig, Position
from ...errors import ConfigError
from .checks import run_checks
from .context import LintContext, machine_name_of
from .findings import Finding, finding


class LintResult(NamedTuple):
    path: str
    config: MachineConfig | None
    findings: list[Finding]


def load_error_finding(error: ConfigError, path: str) -> Finding:
    """The finding standing for a config the loader rejected: the rule the error carries
    (SM001 unless a more precise one), at the position it gave."""
    return finding(
        error.rule, error.message, Position(error.path or path, error.line or 1, error.column)
    )


def lint_paths(
    paths: Sequence[str],
    *,
    is_known_action: Callable[[str], bool] | None = None,
    is_custom_action: Callable[[str], bool] | None = None,
) -> list[LintResult]:
    """Lint ``paths`` as one system of machines (events they send each other count as
    sent). Unreadable files raise :class:`ConfigError`; invalid ones become findings."""
    from ...core.loader import load_config

    loaded: list[tuple[str, MachineConfig | None, Finding | None]] = []
    for path in paths:
        if not Path(path).is_file():
            raise ConfigError(
                "config file not found" if not Path(path).exists() else "is not a regular file",
                path=path,
            )
        try:
            loaded.append((path, load_config(path, use_cache=False), None))
        except ConfigError as exc:
            loaded.append((path, None, load_error_finding(exc, path)))
    configs = [config for _, config, _ in loaded if config is not None]
    sent = events_sent_between(configs)
    base = LintContext()
    results = []
    for path, config, failure in loaded:
        if config is None:
            assert failure is not None
            results.append(LintResult(path, None, [failure]))
            continue
        name = machine_name_of(config)
        context = LintContext(
            is_known_action=is_known_action or base.is_known_action,
            is_custom_action=is_custom_action or base.is_custom_action,
            external_events=sent.get(name, frozenset()) if name else frozenset(),
        )
        results.append(LintResult(path, config, run_checks(config, context)))
    return results


def events_sent_between(configs: Sequence[MachineConfig]) -> Mapping[str, frozenset[str]]:
    """Machine name -> events ``send_event`` actions of these configs send it.

    A target written with a placeholder may be any of the machines.
    """
    names = [name for config in configs if (name := machine_name_of(config))]
    sent: dict[str, set[str]] = {name: set() for name in names}
    for config in configs:
        for specs in config.actions.values():
            for spec in specs:
                if spec.type != "send_event":
                    continue
                event = str(spec.options.get("event_type", "generic_event"))
                target = spec.options.get("target_machine", spec.options.get("target"))
                if target is None:
                    continue
                targets = names if "{" in str(target) else [str(target)]
                for name in targets:
                    sent.setdefault(name, set()).add(event)
    return {name: frozenset(events) for name, events in sent.items()}
