"""Graph extraction, the pure Mermaid renderer, metadata and Markdown."""

from __future__ import annotations

import json
import textwrap

from statemachine_engine.config.loader import config_from_text
from statemachine_engine.tools.diagrams import DiagramSet, build_diagrams
from statemachine_engine.tools.diagrams._graph import extract_graph
from statemachine_engine.tools.diagrams._mermaid import escape
from statemachine_engine.tools.diagrams.cli import output_files

CONFIG = textwrap.dedent(
    """
    name: "Tricky"
    description: "States whose names Mermaid would misread."
    initial_state: state
    states:
      - stopped
      # === IN ===
      - state
      - my-state.x
      - my_state_x
      # === OUT ===
      - constructor
      - end
    transitions:
      - {from: state, to: my-state.x, event: "a:b;c"}
      - {from: my-state.x, to: my_state_x, event: timeout(5)}
      - {from: my_state_x, to: constructor, event: "<go> & #1"}
      - {from: constructor, to: end, event: note}
      - {from: "*", to: stopped, event: stop}
    final: [end]
    actions:
      state:
        - {type: bash, command: "echo   one\\n two", description: null}
        - {type: send_event, target_machine: other, event_type: ping}
        - {type: set_context, key: n, value: 1}
        - {type: log, message: "%s"}
    """
)


def build(text: str = CONFIG) -> DiagramSet:
    return build_diagrams(config_from_text(text, path="dir/tricky.yaml"), stem="tricky")


def test_ids_are_prefixed_safe_and_unique() -> None:
    graph = extract_graph(config_from_text(CONFIG))
    assert [(node.name, node.id) for node in graph.states] == [
        ("stopped", "s_stopped"),
        ("state", "s_state"),
        ("my-state.x", "s_my_state_x_2"),
        ("my_state_x", "s_my_state_x"),
        ("constructor", "s_constructor"),
        ("end", "s_end"),
    ]
    assert [(group.name, group.id, group.states) for group in graph.groups] == [
        ("IN", "g_IN", ("state", "my-state.x", "my_state_x")),
        ("OUT", "g_OUT", ("constructor", "end")),
    ]
    assert [edge.kind for edge in graph.edges] == [
        "event",
        "timeout",
        "event",
        "event",
        "wildcard",
    ]


def test_escape_uses_entities_for_what_mermaid_would_misread() -> None:
    assert escape("a:b;c") == "a#58;b#59;c"
    assert escape('<go> & #1 "q"\n x') == "#60;go#62; #38; #35;1 #34;q#34; x"
    assert escape("timeout(5) ünï no_jobs") == "timeout(5) ünï no_jobs"
    assert escape("__proto__ *x*") == "#95;#95;proto#95;#95; #42;x#42;"


def test_main_diagram() -> None:
    main = build().main
    assert main.startswith("stateDiagram-v2\n")
    assert '    state "IN" as g_IN {\n        state "state" as s_state\n' in main
    assert "    [*] --> s_state\n" in main
    assert "    s_state --> s_my_state_x_2 : a#58;b#59;c\n" in main
    assert "    s_my_state_x_2 --> s_my_state_x : timeout(5)\n" in main
    assert '    state "any state" as any_state\n' in main
    assert "    any_state --> s_stopped : stop\n" in main
    assert "    s_stopped --> [*]\n    s_end --> [*]\n" in main
    assert "    class s_stopped,s_end terminal\n" in main
    assert "    class any_state wildcard\n" in main


def test_a_group_diagram_shows_the_transitions_entering_and_leaving_it() -> None:
    out = build().groups["OUT"]
    assert '    state "OUT" as g_OUT {' in out
    assert '    state "my_state_x" as s_my_state_x\n' in out  # a neighbour, outside
    assert "s_my_state_x --> s_constructor" in out  # entering
    assert "s_constructor --> s_end : note" in out  # inside
    assert "any_state --> s_stopped : stop" in out  # wildcards leave every state
    assert "s_state --> " not in out  # not touching the group
    assert "[*] --> " not in out  # the initial state is elsewhere
    assert "as g_IN" not in out


def test_metadata_format_1() -> None:
    metadata = build().metadata
    assert list(metadata) == [
        "format",
        "name",
        "config",
        "initial_state",
        "terminal_states",
        "states",
        "groups",
        "transitions",
        "events",
    ]
    assert metadata["format"] == 1
    assert metadata["name"] == "Tricky"
    assert metadata["config"] == "tricky"
    assert metadata["terminal_states"] == ["stopped", "end"]
    assert metadata["states"][1] == {
        "name": "state",
        "id": "s_state",
        "group": "IN",
        "terminal": False,
        "actions": [
            {"type": "bash", "summary": "echo one two"},
            {"type": "send_event", "summary": "ping -> other"},
            {"type": "set_context", "summary": "n = 1"},
            {"type": "log", "summary": "%s"},
        ],
    }
    assert metadata["states"][0]["group"] is None
    assert metadata["transitions"][-1] == {
        "from": "*",
        "to": "stopped",
        "event": "stop",
        "kind": "wildcard",
    }
    assert metadata["events"] == ["a:b;c", "timeout(5)", "<go> & #1", "note", "stop"]
    json.dumps(metadata)


def test_markdown_embeds_every_diagram_without_paths() -> None:
    diagrams = build()
    assert diagrams.markdown.count("```mermaid\n") == 3
    assert diagrams.main in diagrams.markdown
    assert "`tricky.yaml`" in diagrams.markdown
    assert "dir/" not in diagrams.markdown
    assert (
        "| `state` | IN | bash: echo one two<br>send_event: ping -&gt; other" in diagrams.markdown
    )


def test_output_file_names_are_safe_and_distinct() -> None:
    text = textwrap.dedent(
        """
        initial_state: a
        groups: {main: [a], "two words": [b], "Main": [c]}
        transitions:
          - {from: a, to: b, event: x}
          - {from: b, to: c, event: y}
        """
    )
    names = list(output_files(build(text)))
    assert names == [
        "main.mermaid",
        "main_group.mermaid",
        "two_words.mermaid",
        "Main_group_2.mermaid",
        "metadata.json",
        "tricky_fsm.md",
    ]


def test_same_input_same_bytes() -> None:
    assert output_files(build()) == output_files(build())
