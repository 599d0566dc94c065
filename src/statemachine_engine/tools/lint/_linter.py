"""Lint several configs together: load each, learn which events they send one another,
run the checks. Loading is the only I/O; a config that does not load is one finding."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ...config.model import MachineConfig, Position
from ...core._checks import Finding, LintContext, finding, machine_name_of, run_checks
from ...core._checks.context import events_sent_between
from ...errors import ConfigError

if TYPE_CHECKING:
    from ...core.action_loader import ActionLoader


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
    actions: ActionLoader | None = None,
    sent_to_all: frozenset[str] = frozenset(),
) -> list[LintResult]:
    """Lint ``paths`` as one system of machines (events they send each other count as
    sent, and ``sent_to_all``, which something outside them sends to every machine),
    with the action types ``actions`` provides (default: the builtins).
    Unreadable files raise :class:`ConfigError`; invalid ones become findings."""
    from ...config._manifest_reader import with_manifests_expanded
    from ...config.loader import load_config

    loaded: list[tuple[str, MachineConfig | None, Finding | None]] = []
    for path in with_manifests_expanded(paths):
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
    base = LintContext() if actions is None else LintContext.of(actions)
    sent = events_sent_between(configs, base.action_class)
    results = []
    for path, config, failure in loaded:
        if config is None:
            assert failure is not None
            results.append(LintResult(path, None, [failure]))
            continue
        name = machine_name_of(config)
        external = sent.get(name, frozenset()) if name else frozenset()
        context = base._replace(external_events=external | sent_to_all)
        results.append(LintResult(path, config, run_checks(config, context)))
    return results
