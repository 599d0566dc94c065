"""YAML text -> data with positions and comment groups (core/yaml_source.py)."""

from __future__ import annotations

import textwrap

import pytest

from statemachine_engine.config._yaml_source import comment_groups, parse_yaml
from statemachine_engine.errors import ConfigError


def doc(text: str, path: str | None = None):
    return parse_yaml(textwrap.dedent(text), path)


def error(text: str, path: str | None = "m.yaml") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_yaml(textwrap.dedent(text), path)
    return info.value


# --- data and positions -------------------------------------------------------------


def test_data_and_positions_are_one_based() -> None:
    parsed = doc(
        """\
        a: 1
        b:
          - x
          - {c: d}
        """
    )
    assert parsed.data == {"a": 1, "b": ["x", {"c": "d"}]}
    assert parsed.positions == {
        (): (1, 1),
        ("a",): (1, 4),
        ("b",): (3, 3),
        ("b", 0): (3, 5),
        ("b", 1): (4, 5),
        ("b", 1, "c"): (4, 9),
    }


def test_line_of_falls_back_to_nearest_ancestor() -> None:
    parsed = doc("top:\n  inner: 1\n")
    assert parsed.line_of(("top", "inner")) == 2
    assert parsed.line_of(("top", "inner", "missing", 3)) == 2
    assert parsed.line_of(("nope",)) == 1  # the document root
    assert parsed.column_of(("top", "inner")) == 10
    assert parsed.column_of(("nope",)) is None


def test_empty_document_has_no_data_and_no_positions() -> None:
    parsed = parse_yaml("")
    assert parsed.data is None
    assert parsed.positions == {}
    assert parsed.line_of(("a",)) is None


def test_source_lines_are_kept() -> None:
    assert parse_yaml("a: 1\n# c\nb: 2\n").source_lines == ("a: 1", "# c", "b: 2")


# --- YAML 1.2 booleans -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["on", "off", "yes", "no", "y", "n", "On", "OFF", "Yes", "NO"])
def test_yaml11_boolean_words_stay_strings(name: str) -> None:
    parsed = parse_yaml(f"states: [{name}]\n{name}: 1\n")
    assert parsed.data == {"states": [name], name: 1}


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False)],
)
def test_true_and_false_are_booleans(text: str, value: bool) -> None:
    assert parse_yaml(f"x: {text}\n").data == {"x": value}


def test_other_scalars_keep_their_types() -> None:
    parsed = parse_yaml("a: [1, 1.5, null, ~, '1', \"on\", 0x10]\n")
    assert parsed.data == {"a": [1, 1.5, None, None, "1", "on", 16]}


# --- rejections --------------------------------------------------------------------------


def test_duplicate_key_is_rejected_with_its_line() -> None:
    exc = error(
        """\
        initial_state: a
        transitions: []
        initial_state: b
        """
    )
    assert exc.message == "duplicate key 'initial_state' (the later one would win)"
    assert (exc.path, exc.line, exc.column) == ("m.yaml", 3, 1)
    assert str(exc) == "m.yaml:3:1: duplicate key 'initial_state' (the later one would win)"


def test_nested_duplicate_key_is_rejected() -> None:
    exc = error(
        """\
        actions:
          waiting:
            - type: log
              message: a
              message: b
        """
    )
    assert exc.message == "duplicate key 'message' (the later one would win)"
    assert (exc.line, exc.column) == (5, 7)


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['true']",
        "!!python/object:os.system {a: 1}",
        "!!python/name:os.system",
        "!!python/tuple [1, 2]",
        "!!set {a, b}",
        "!!omap [{a: 1}]",
        "!custom x",
    ],
)
def test_unsafe_and_unknown_tags_are_rejected(tag: str) -> None:
    exc = error(f"name: ok\ncmd: {tag}\n")
    assert exc.message.startswith("invalid YAML: could not determine a constructor for the tag")
    assert (exc.line, exc.column) == (2, 6)


def test_unsafe_tag_nested_in_a_block_collection_is_rejected() -> None:
    exc = error("actions:\n  a:\n    - !!python/object:os.system\n      type: log\n")
    assert exc.message == (
        "invalid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object:os.system'"
    )
    assert (exc.line, exc.column) == (3, 7)


def test_standard_collection_tags_are_accepted() -> None:
    assert parse_yaml("a: !!seq [1]\nb: !!map {c: 1}\n").data == {"a": [1], "b": {"c": 1}}


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ("a: [1,\n", "invalid YAML: did not find expected node content", 2, 1),
        ("a: 1\nb: c: d\n", "invalid YAML: mapping values are not allowed in this context", 2, 5),
        ("a:\n  b: 1\n c: 2\n", "invalid YAML: did not find expected key", 3, 2),
        ('a: "unterminated\n', "invalid YAML: found unexpected end of stream", 2, 1),
        ("--- 1\n--- 2\n", "invalid YAML: but found another document", 2, 1),
    ],
)
def test_invalid_yaml_reports_line_and_column(
    text: str, message: str, line: int, column: int
) -> None:
    exc = error(text)
    assert exc.message == message
    assert (exc.path, exc.line, exc.column) == ("m.yaml", line, column)


def test_invalid_yaml_error_chains_the_yaml_exception() -> None:
    import yaml

    exc = error("a: [\n")
    assert isinstance(exc.__cause__, yaml.YAMLError)


def test_recursive_alias_is_rejected() -> None:
    exc = error("x: &a [1, *a]\n")
    assert exc.message == "a YAML alias refers to a node that contains it"
    assert exc.line == 1


def test_non_scalar_key_is_rejected() -> None:
    exc = error("? [a, b]\n: 1\n")
    assert exc.message == "mapping keys must be plain values"
    assert (exc.line, exc.column) == (1, 3)


# --- anchors and merge keys ---------------------------------------------------------------


def test_aliases_are_expanded() -> None:
    parsed = doc(
        """\
        base: &base {type: log, level: info}
        copy: *base
        """
    )
    assert parsed.data["copy"] == {"type": "log", "level": "info"}


def test_merge_key_values_are_overridden_by_own_keys() -> None:
    parsed = doc(
        """\
        base: &base {type: log, level: info}
        a:
          <<: *base
          level: debug
        b:
          level: warning
          <<: *base
        """
    )
    assert parsed.data["a"] == {"type": "log", "level": "debug"}
    assert parsed.data["b"] == {"type": "log", "level": "warning"}
    assert parsed.line_of(("a", "level")) == 4
    assert parsed.line_of(("b", "level")) == 6
    assert parsed.line_of(("a", "type")) == 1  # where the merged value was written
    assert parsed.line_of(("a",)) == 3


def test_first_of_several_merged_mappings_wins() -> None:
    parsed = doc(
        """\
        one: &one {k: 1, m: 1}
        two: &two {k: 2, n: 2}
        both:
          <<: [*one, *two]
        """
    )
    assert parsed.data["both"] == {"k": 1, "m": 1, "n": 2}


def test_merge_of_a_non_mapping_is_rejected() -> None:
    exc = error("l: &l [1]\nx:\n  <<: *l\n")
    assert exc.message == "'<<' must merge a mapping or a list of mappings"
    assert exc.line == 1


def test_duplicate_own_key_beside_a_merge_is_still_rejected() -> None:
    exc = error("x:\n  <<: {k: 1}\n  k: 2\n  k: 3\n")
    assert exc.message == "duplicate key 'k' (the later one would win)"
    assert exc.line == 4


# --- comment groups ---------------------------------------------------------------------


def test_comment_groups_apply_until_the_next_group() -> None:
    parsed = doc(
        """\
        states:
          # === FIRST ===
          - a
          - b
          # === SECOND ===

          - c
          # an ordinary comment
          - d
        """
    )
    assert comment_groups(parsed) == {"a": "FIRST", "b": "FIRST", "c": "SECOND", "d": "SECOND"}


def test_items_before_the_first_group_have_none() -> None:
    parsed = doc(
        """\
        states:
          - early
          - earlier
          # === LATE ===
          - late
        """
    )
    assert comment_groups(parsed) == {"late": "LATE"}


def test_group_comment_between_key_and_first_item_counts() -> None:
    parsed = doc(
        """\
        name: x
        states:

          # ==== STARTUP ====
          - boot
        """
    )
    assert comment_groups(parsed) == {"boot": "STARTUP"}


def test_group_comment_at_column_one_and_name_spaces_are_trimmed() -> None:
    parsed = doc(
        """\
        states:
        - a
        #===   SPACED NAME   ===
        - b
        """
    )
    assert comment_groups(parsed) == {"b": "SPACED NAME"}


def test_comments_outside_the_states_list_do_not_group() -> None:
    parsed = doc(
        """\
        # === BEFORE THE KEY ===
        initial_state: a
        states:
          - a  # === TRAILING ===
          - b
        transitions:
          # === TRANSITIONS ===
          - {from: a, to: b, event: go}
        """
    )
    assert comment_groups(parsed) == {}


def test_comment_groups_of_another_key() -> None:
    parsed = doc(
        """\
        states: [a]
        events:
          # === INPUT ===
          - go
        """
    )
    assert comment_groups(parsed, "events") == {"go": "INPUT"}
    assert comment_groups(parsed) == {}


@pytest.mark.parametrize("text", ["", "- a\n", "states: a\n", "states: {a: 1}\n", "other: [a]\n"])
def test_comment_groups_without_a_states_list(text: str) -> None:
    assert comment_groups(parse_yaml(text)) == {}


def test_empty_group_name_is_ignored() -> None:
    parsed = doc(
        """\
        states:
          # === G ===
          - a
          # ======
          - b
        """
    )
    assert comment_groups(parsed) == {"a": "G", "b": "G"}
