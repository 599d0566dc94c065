"""The config language: YAML (bounded) -> the typed, immutable :class:`MachineConfig`.

Pure and below everything that runs machines: the engine, the linter, the diagram tools
and ``statemachine-db`` all read configs through it::

    _yaml_source.py  bounded YAML parsing that keeps line numbers and ``# ===`` groups
    model.py         MachineConfig and its parts (states, events, transitions, actions)
    _timeouts.py     ``timeout(N)`` events and their durations
    _due.py          when a delayed event falls due (``delay:``, ``at:``)
    loader.py        load_config(): file -> MachineConfig, with errors at file:line
    _cache.py        parsed configs kept on disk while the file is unchanged
"""

__all__: list[str] = []
