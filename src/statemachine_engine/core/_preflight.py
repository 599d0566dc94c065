"""The lint every config passes before its machine starts (``statemachine``, ``MachineHost``).

A lint error that would leave a machine stuck in a state refuses the start: one line
per error, ``file:line: CODE error message`` (the codes of :data:`REFUSING`). Every
other finding is logged at WARNING, one line each, as the machine starts.

Starting must stay cheap, so the verdict is kept in the config cache beside the parsed
model (keyed by the file's content and the custom action files it uses, whose classes
declare what they emit and write): a machine started again from an unchanged config
neither lints nor imports the checks.
"""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
import json
import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from ..config import _cache as config_cache
from ..config.model import WILDCARD, MachineConfig
from ..errors import ConfigRefused

if TYPE_CHECKING:
    from .action_loader import ActionLoader

logger = logging.getLogger("statemachine_engine.lint")

#: Lint codes that refuse a start: a transition target defined nowhere, most likely a
#: typo (SM101), a state nothing leads out of (SM105), a polling action whose empty
#: result leads nowhere, so the machine stops polling (SM106), an action option its
#: action does not know, most likely a typo that would be silently ignored (SM108; the
#: loader itself refuses other unknown keys), an action file that cannot be loaded
#: (SM109: the loader refuses it too, when it imports the config's actions), an action
#: option that makes the action fail every time it runs (SM110). SM105 refuses only a
#: state with no transition at all (its own, ``*`` or timeout, even back to itself): one
#: that loops on itself (a sink handling ``ping``, a periodic ``timeout(60)`` loop) still
#: does its work until a signal ends it, so it is only warned about.
REFUSING = frozenset({"SM101", "SM105", "SM106", "SM108", "SM109", "SM110"})
_ANNEX = "lint"


class Verdict(NamedTuple):
    """What the lint says about one config: lines that refuse it, lines to warn about."""

    refuse: tuple[str, ...]
    warn: tuple[str, ...]


def check_before_start(configs: Sequence[MachineConfig], loader: "ActionLoader") -> None:
    """Lint ``configs`` (started together: the events they send each other count).

    Warnings are logged at once; then, if any config has a refusing error, every such
    error is raised together.

    Raises:
        ConfigRefused: a lint error would leave a machine stuck.
    """
    verdicts = [verdict(config, configs, loader) for config in configs]
    for item in verdicts:
        for line in item.warn:
            logger.warning(line, extra={"action": "lint_finding"})
    refused = [line for item in verdicts for line in item.refuse]
    if refused:
        raise ConfigRefused(refused, path=next((c.path for c in configs if c.path), None))


def verdict(
    config: MachineConfig, together: Sequence[MachineConfig], loader: "ActionLoader"
) -> Verdict:
    """The lint verdict on ``config`` (from the cache when it is there)."""
    custom = sorted(
        {
            (spec.type, loader.source_of(spec.type), *_file_stamp(loader.source_of(spec.type)))
            for specs in config.actions.values()
            for spec in specs
            if loader.source_of(spec.type) != "builtin"
        }
    )
    others = sorted(str(c.source_hash or c.path) for c in together if c is not config)
    key = json.dumps([custom, others])
    cached = config_cache.lookup_annex(config, _ANNEX, key)
    if isinstance(cached, dict):
        return Verdict(tuple(cached["refuse"]), tuple(cached["warn"]))
    found = _lint(config, together, loader)
    config_cache.store_annex(
        config, _ANNEX, key, {"refuse": list(found.refuse), "warn": list(found.warn)}
    )
    return found


def _file_stamp(path: str) -> tuple[int, int]:
    """A custom action file's modification time and size: its traits may change with it."""
    try:
        stat = os.stat(path)
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


def _refuses(code: str, state: str | None, config: MachineConfig) -> bool:
    if code == "SM105" and state is not None:
        return not has_any_transition(config, state)
    return code in REFUSING


def has_any_transition(config: MachineConfig, state: str) -> bool:
    """Whether some transition applies in ``state`` (its own, a wildcard one or a timeout,
    even one back to ``state``): if none does, nothing can ever happen there."""
    return any(t.source in (state, WILDCARD) for t in config.transitions)


def _lint(
    config: MachineConfig, together: Sequence[MachineConfig], loader: "ActionLoader"
) -> Verdict:
    from ._checks import LintContext, events_sent_between, machine_name_of, run_checks, text_lines

    context = LintContext.of(loader)
    name = machine_name_of(config)
    if len(together) > 1 and name:
        sent = events_sent_between(together, context.action_class)
        context = context._replace(external_events=sent.get(name, frozenset()))
    findings = run_checks(config, context)
    refuse = [item for item in findings if _refuses(item.code, item.subject, config)]
    warn = [item for item in findings if item not in refuse]
    return Verdict(tuple(text_lines(refuse)), tuple(text_lines(warn)))
