"""Mermaid diagrams and UI metadata of machine configs (``statemachine-diagrams``).

model -> :mod:`._graph` (ids, edges) -> :mod:`._mermaid` (pure renderer) ->
:mod:`._metadata` / :mod:`._markdown`; :mod:`.cli` is the only part that writes files.
"""

from __future__ import annotations

from ._build import DiagramSet, build_diagrams

__all__ = ["DiagramSet", "build_diagrams"]
