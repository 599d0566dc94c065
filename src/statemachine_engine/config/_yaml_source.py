"""YAML text -> plain Python data, with the position of every node and the state groups.

PyYAML forgets where things were written and drops comments; configs need both:
errors point at ``file:line``, and ``# === GROUP ===`` comments inside ``states:``
group the states below them. This module composes the YAML node graph, builds the
data itself while recording each node's position, and reads the group comments
from the source lines. It performs no I/O.

The loader is safe (no Python tags) and follows YAML 1.2 for booleans: only
``true``/``false`` are booleans, so states named ``on``, ``off``, ``yes`` or ``no``
stay strings. Duplicate mapping keys are errors rather than silent overwrites.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any, NamedTuple

import yaml

from ..errors import ConfigError

YamlPath = tuple[str | int, ...]

#: Largest config file read, in bytes (10 MiB).
MAX_YAML_BYTES = 10 * 1024 * 1024
#: Deepest nesting of mappings and sequences in a config.
MAX_YAML_DEPTH = 100
#: Most nodes that aliases (``*name``) may produce in all: a few copies of shared
#: action lists are far below it, an alias bomb ("billion laughs") is stopped at it.
MAX_ALIAS_NODES = 50_000

_BOOL_TAG = "tag:yaml.org,2002:bool"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"})
_GROUP_COMMENT = re.compile(r"^\s*#\s*={2,}\s*(?P<name>.*?)\s*={2,}\s*$")

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader whose only booleans are true/false (YAML 1.2 core schema)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class YamlDocument(NamedTuple):
    """A parsed document: its data, node positions (1-based line, column) by path."""

    data: Any
    positions: dict[YamlPath, tuple[int, int]]
    source_lines: tuple[str, ...]
    #: Paths of nodes that an alias (``*name``) refers to elsewhere.
    aliased: frozenset[YamlPath] = frozenset()

    def line_of(self, path: YamlPath) -> int | None:
        """Line of the node at ``path``, or of its nearest recorded ancestor."""
        while True:
            if path in self.positions:
                return self.positions[path][0]
            if not path:
                return None
            path = path[:-1]

    def column_of(self, path: YamlPath) -> int | None:
        found = self.positions.get(path)
        return found[1] if found else None


def parse_yaml(text: str, path: str | None = None) -> YamlDocument:
    """Parse one YAML document, recording where every node was written.

    Raises:
        ConfigError: unparsable YAML, unsafe tags, duplicate keys, recursive aliases,
            or a document beyond the bounds (:data:`MAX_YAML_BYTES`,
            :data:`MAX_YAML_DEPTH`, :data:`MAX_ALIAS_NODES`).
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_YAML_BYTES:
        raise ConfigError(
            f"the config is too large: {size} bytes (limit {MAX_YAML_BYTES})", path=path, line=1
        )
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        positions: dict[YamlPath, tuple[int, int]] = {}
        builder = _Builder(loader, positions, path)
        data = builder.build(root, ()) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot parse"
        # libyaml (PyYAML >= 6.0.4's C parser) stops at 1,000 levels, before our bound
        # of MAX_YAML_DEPTH is reached while building: say it the same way.
        deep = "maximum nesting depth" in problem
        raise ConfigError(
            f"YAML nested more than {MAX_YAML_DEPTH} levels deep"
            if deep
            else f"invalid YAML: {problem}",
            path=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=path) from exc
    finally:
        loader.dispose()
    aliased = frozenset(builder.aliased) if root is not None else frozenset()
    return YamlDocument(data, positions, tuple(text.splitlines()), aliased)


class _Builder:
    def __init__(
        self, loader: Any, positions: dict[YamlPath, tuple[int, int]], path: str | None
    ) -> None:
        self._loader = loader
        self._positions = positions
        self._path = path
        self._active: set[int] = set()
        self._seen: dict[int, YamlPath] = {}
        self.aliased: set[YamlPath] = set()
        self._in_alias = 0  # how many alias expansions the node being built is inside
        self._alias_nodes = 0

    def build(self, node: yaml.Node, at: YamlPath) -> Any:
        again = id(node) in self._seen  # a node built before: reached through an alias
        if again:
            self._in_alias += 1
            self.aliased.add(self._seen[id(node)])
        else:
            self._seen[id(node)] = at
        try:
            return self._build(node, at)
        finally:
            if again:
                self._in_alias -= 1

    def _build(self, node: yaml.Node, at: YamlPath) -> Any:
        self._positions[at] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if self._in_alias:
            self._alias_nodes += 1
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise self._error(
                    f"YAML aliases expand to more than {MAX_ALIAS_NODES} nodes "
                    "(an alias bomb?); write the values out or share fewer",
                    node,
                )
        if len(at) > MAX_YAML_DEPTH:
            raise self._error(f"YAML nested more than {MAX_YAML_DEPTH} levels deep", node)
        if isinstance(node, yaml.ScalarNode):
            return self._loader.construct_object(node)
        if node.tag not in _COLLECTION_TAGS:
            # Python tags on collections would otherwise pass as plain lists and mappings.
            raise self._error(
                f"invalid YAML: could not determine a constructor for the tag {node.tag!r}", node
            )
        if id(node) in self._active:
            raise self._error("a YAML alias refers to a node that contains it", node)
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*at, i)) for i, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, at)
            raise self._error(f"unsupported YAML node {node.tag}", node)  # pragma: no cover
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, at: YamlPath) -> dict[Any, Any]:
        # Keys merged in with ``<<: *anchor`` are defaults: the mapping's own keys override
        # them and, among several merged mappings, the first listed wins. Only a key
        # written twice in the mapping itself is a duplicate.
        merged: dict[Any, tuple[Any, dict[YamlPath, tuple[int, int]]]] = {}
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self._merge(value_node, at, merged)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._error("mapping keys must be plain values", key_node)
            key = self._loader.construct_object(key_node)
            if not isinstance(key, Hashable):  # pragma: no cover - scalars always are
                raise self._error("mapping keys must be plain values", key_node)
            if key in result:
                raise self._error(f"duplicate key {key!r} (the later one would win)", key_node)
            result[key] = self.build(value_node, (*at, str(key)))
        defaults = {key: value for key, (value, _) in merged.items() if key not in result}
        for key in defaults:
            self._positions.update(merged[key][1])
        return {**defaults, **result}

    def _merge(
        self,
        node: yaml.Node,
        at: YamlPath,
        merged: dict[Any, tuple[Any, dict[YamlPath, tuple[int, int]]]],
    ) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise self._error("'<<' must merge a mapping or a list of mappings", source)
            outer, self._positions = self._positions, {}
            try:
                built = self.build(source, at)
                scratch = self._positions
            finally:
                self._positions = outer
            for key, value in built.items():
                prefix = (*at, str(key))
                where = {p: pos for p, pos in scratch.items() if p[: len(prefix)] == prefix}
                merged.setdefault(key, (value, where))

    def _error(self, message: str, node: yaml.Node) -> ConfigError:
        return ConfigError(
            message,
            path=self._path,
            line=node.start_mark.line + 1,
            column=node.start_mark.column + 1,
        )


def comment_groups(doc: YamlDocument, key: str = "states") -> dict[str, str]:
    """Groups of the items of the sequence under ``key`` from ``# === NAME ===`` comments.

    A group comment applies to every item below it until the next one. Items before
    the first group comment have no group.
    """
    items = doc.data.get(key) if isinstance(doc.data, dict) else None
    if not isinstance(items, list):
        return {}
    # Comments between the key itself and the first item count too.
    scan_from = doc.positions.get((key,), (1, 1))[0]
    key_line = _key_line(doc, key)
    if key_line is not None:
        scan_from = min(scan_from, key_line)
    groups: dict[str, str] = {}
    current: str | None = None
    for index, item in enumerate(items):
        item_line = doc.positions.get((key, index), (scan_from, 1))[0]
        for line in doc.source_lines[scan_from - 1 : item_line - 1]:
            match = _GROUP_COMMENT.match(line)
            if match and match["name"]:
                current = match["name"]
        if current is not None and isinstance(item, str):
            groups[item] = current
        scan_from = item_line
    return groups


def _key_line(doc: YamlDocument, key: str) -> int | None:
    pattern = re.compile(rf"^[\"']?{re.escape(key)}[\"']?\s*:")  # top level: column 1
    for number, line in enumerate(doc.source_lines, start=1):
        if pattern.match(line):
            return number
    return None
