"""Machine configs the server reads to know which group each state belongs to."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import StateMachineError

if TYPE_CHECKING:
    from ..config.model import MachineConfig


class ConfigCatalog:
    """Configs by file path, read once and again only when the file changes.

    A config that cannot be read is remembered as missing (the machine simply shows
    no group); it is read again once its file changes.
    """

    def __init__(self) -> None:
        self._configs: dict[str, tuple[int, MachineConfig | None]] = {}

    def get(self, path: str) -> MachineConfig | None:
        from ..config.loader import load_config

        try:
            changed = os.stat(path).st_mtime_ns
        except OSError:
            return None
        known = self._configs.get(path)
        if known is not None and known[0] == changed:
            return known[1]
        config: MachineConfig | None
        try:
            config = load_config(path, use_cache=False)
        except StateMachineError:
            config = None
        self._configs[path] = (changed, config)
        return config

    def group_of(self, path: str | None, state: str) -> str | None:
        """The group of ``state`` in the config at ``path`` (None when unknown)."""
        if not path or not state:
            return None
        config = self.get(path)
        return config.group_of(state) if config else None
