"""Mermaid diagrams and UI metadata of machine configs (``statemachine-diagrams``).

model -> :mod:`.graph` (ids, edges) -> :mod:`.mermaid` (pure renderer) ->
:mod:`.metadata` / :mod:`.markdown`; :mod:`.cli` is the only part that writes files.
"""

from __future__ import annotations

from .build import DiagramSet, build_diagrams

__all__ = ["DiagramSet", "build_diagrams"]
