"""No import cycle between modules, nor between packages, counting every import: at the
top level, inside functions and under TYPE_CHECKING (docs/architecture.md).

The layers contract in pyproject.toml (``lint-imports``) orders the top-level packages;
this keeps the rest acyclic too, a subpackage and its parent included.
"""

from __future__ import annotations

import graphlib
from collections import defaultdict
from pathlib import Path

import grimp
import pytest

ROOT = "statemachine_engine"
#: The longest a module may grow (issue 14).
MAX_MODULE_LINES = 500


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(ROOT, cache_dir=None)


def _assert_acyclic(edges: dict[str, set[str]], what: str) -> None:
    try:
        graphlib.TopologicalSorter(edges).prepare()
    except graphlib.CycleError as exc:
        pytest.fail(f"{what} import each other: {' -> '.join(exc.args[1])}")


def test_no_module_imports_itself_back(graph: grimp.ImportGraph) -> None:
    edges = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    _assert_acyclic(edges, "modules")


def test_no_package_imports_itself_back(graph: grimp.ImportGraph) -> None:
    def is_package(module: str) -> bool:
        return module == ROOT or bool(graph.find_children(module))

    def unit(module: str) -> str:
        """The package a module belongs to; a top-level module (errors, settings...) is a
        unit of its own, as in the layers contract."""
        if is_package(module):
            return module
        parent = module.rpartition(".")[0]
        return module if parent == ROOT else parent

    edges: dict[str, set[str]] = defaultdict(set)
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            if is_package(importer) and imported.startswith(importer + "."):
                continue  # a package's __init__ re-exporting its own parts
            if unit(importer) != unit(imported):
                edges[unit(importer)].add(unit(imported))
    _assert_acyclic(edges, "packages")


def test_no_module_is_longer_than_500_lines() -> None:
    package = Path(__file__).resolve().parents[2] / "src" / ROOT
    long = {
        str(path.relative_to(package)): lines
        for path in package.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, "split these modules: one concept each (STYLE.md #1)"
