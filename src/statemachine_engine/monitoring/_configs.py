"""Machine configs the server reads to know each state's group and ``max_time``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import StateMachineError

if TYPE_CHECKING:
    from ..config.model import MachineConfig


#: A file checked this recently is taken as unchanged: the machine list asks for the
#: config of every machine on each refresh, and one stat per config a second is enough.
RECHECK_SECONDS = 1.0


class ConfigCatalog:
    """Configs by file path, read once and again only when the file changes.

    A config that cannot be read is remembered as missing (the machine simply shows
    no group); it is read again once its file changes.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._configs: dict[str, tuple[int, float, MachineConfig | None]] = {}

    def get(self, path: str) -> MachineConfig | None:
        from ..config.loader import load_config

        now = self._clock()
        known = self._configs.get(path)
        if known is not None and now - known[1] < RECHECK_SECONDS:
            return known[2]
        try:
            changed = os.stat(path).st_mtime_ns
        except OSError:
            return None
        if known is not None and known[0] == changed:
            self._configs[path] = (changed, now, known[2])
            return known[2]
        config: MachineConfig | None
        try:
            config = load_config(path, use_cache=False)
        except StateMachineError:
            config = None
        self._configs[path] = (changed, now, config)
        return config

    def group_of(self, path: str | None, state: str) -> str | None:
        """The group of ``state`` in the config at ``path`` (None when unknown)."""
        if not path or not state:
            return None
        config = self.get(path)
        return config.group_of(state) if config else None

    def max_time_of(self, path: str | None, state: str) -> float | None:
        """The ``max_time`` of ``state`` in the config at ``path`` (None: none set)."""
        if not path or not state:
            return None
        config = self.get(path)
        return config.max_times.get(state) if config else None
