"""``build_diagrams``: a config model in, every generated text out (no I/O)."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any, NamedTuple

from ...config.model import MachineConfig
from ._graph import extract_graph
from ._markdown import render_markdown
from ._mermaid import render_group, render_main
from ._metadata import build_metadata


class DiagramSet(NamedTuple):
    """Everything ``statemachine-diagrams`` writes for one config.

    Attributes:
        stem: the config file's stem, e.g. ``simple_worker``.
        main: Mermaid ``stateDiagram-v2`` source of the whole machine.
        groups: group name -> Mermaid source of that group (file order).
        metadata: the ``metadata.json`` object (JSON-ready).
        markdown: the ``<stem>_fsm.md`` page.
    """

    stem: str
    main: str
    groups: dict[str, str]
    metadata: dict[str, Any]
    markdown: str


def build_diagrams(config: MachineConfig, *, stem: str) -> DiagramSet:
    """Diagrams, metadata and Markdown of ``config``; same input, same output.

    Args:
        config: a loaded config (:func:`statemachine_engine.config.loader.load_config`).
        stem: the config file's stem; names the output and fills ``metadata["config"]``.
    """
    graph = extract_graph(config)
    main = render_main(graph)
    groups = {group.name: render_group(graph, group.name) for group in graph.groups}
    metadata = build_metadata(config, graph, stem=stem)
    # The file's name only: outputs never carry the directory they were made in.
    config_file = PurePath(config.path).name if config.path else f"{stem}.yaml"
    markdown = render_markdown(
        metadata, main, groups, config_file=config_file, description=config.description
    )
    return DiagramSet(stem, main, groups, metadata, markdown)
