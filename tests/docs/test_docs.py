"""Every fenced block of README.md, docs/ and examples/*/README.md, run as written.

One test per block, named ``file:line``. Shell blocks run in a copy of the project
(``examples/`` and the files the document defines) with the test's private store and
socket directory; Python blocks run as scripts; YAML blocks must parse; a block the
harness cannot classify fails. ``tests/docs/blocks.py`` lists the ``<!-- docs: -->``
annotations a document uses to say how a block runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.postgres import fresh_schema

from .blocks import REPO, Block, all_blocks, parse_document
from .runner import beside, given, run_console, run_python, run_shell, run_shell_background

BLOCKS = list(all_blocks())
_EXAMPLE_URL = re.compile(r"postgresql://[^\s'\"]*db\.example\.com[^\s'\"]*")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's examples/, as a reader's checkout has them."""
    root = tmp_path / "project"
    shutil.copytree(
        REPO / "examples",
        root / "examples",
        ignore=shutil.ignore_patterns("data", "__pycache__", "*.db", "*.db-*", "fsm-diagrams"),
    )
    return root


def _write_files(block: Block, project: Path) -> None:
    """The ``docs: file`` blocks of the same document that come before ``block``."""
    for earlier in parse_document(REPO / block.path):
        if earlier.line >= block.line:
            break
        if earlier.directive.file is not None and earlier.directive.skip is None:
            target = project / earlier.directive.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(earlier.source, encoding="utf-8")


@contextlib.contextmanager
def _store(block: Block) -> Iterator[str | None]:
    """A fresh PostgreSQL schema's URL for a ``docs: postgres`` block, else None."""
    if not block.directive.postgres:
        yield None
        return
    with fresh_schema() as url:
        yield url


@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_doc_block(block: Block, project: Path) -> None:
    if block.error is not None:
        pytest.fail(f"{block.id}: the docs harness cannot classify this block: {block.error}")
    if block.directive.skip is not None:
        pytest.skip(f"{block.id}: {block.directive.skip}")
    kind = block.kind
    if kind == "shown":
        return
    if kind == "yaml":
        yaml.safe_load(block.source)
        return
    if kind == "file":
        if block.directive.file and block.directive.file.endswith(".py"):
            compile(block.source, block.directive.file, "exec")
        elif block.language in ("yaml", "yml"):
            yaml.safe_load(block.source)
        return
    _write_files(block, project)
    with _store(block) as url:
        env = dict(os.environ)
        source = block.source
        if url is not None:
            env["STATEMACHINE_DB"] = url
            source = _EXAMPLE_URL.sub(url, source)
        if block.directive.continues:
            _run_before(block, project, env)
        given(block, project, env)
        with beside(block, project, env):
            _run(block, kind, source, project, env)


def _run_before(block: Block, project: Path, env: dict[str, str]) -> None:
    """The shell block before ``block`` (which ``continues`` it), in the same project."""
    before = [b for b in parse_document(REPO / block.path) if b.line < block.line]
    shells = [b for b in before if b.kind == "shell" and b.directive.skip is None]
    if not shells:
        pytest.fail(f"{block.id}: `docs: continues` but no shell block comes before it")
    _run(shells[-1], "shell", shells[-1].source, project, env)


def _shown_after(block: Block) -> Block | None:
    """The ``docs: output`` block right after ``block``, if any."""
    after = [b for b in parse_document(REPO / block.path) if b.line > block.line][:1]
    return after[0] if after and after[0].directive.output else None


def _run(block: Block, kind: str, source: str, project: Path, env: dict[str, str]) -> None:
    if kind == "shell" and block.directive.background:
        run_shell_background(block, source, project, env, _shown_after(block))
    elif kind == "shell":
        for _ in range(2 if block.directive.again else 1):
            run_shell(block, source, project, env, _shown_after(block))
    elif kind == "console":
        run_console(block, project, env)
    elif kind == "python":
        run_python(block, source, project, env)
    else:  # pragma: no cover - every kind is handled before
        pytest.fail(f"{block.id}: no runner for {kind}")
