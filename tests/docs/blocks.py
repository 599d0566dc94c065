"""The fenced blocks of the documentation, each with what the harness must do with it.

Sybil's Markdown lexer finds the blocks; this module classifies each one from its
language and from the ``<!-- docs: ... -->`` comment written right before it (only blank
lines between). Each block runs in a fresh project directory holding a copy of
``examples/`` (the docs' commands assume the repository root), with the test's private
store and socket directory. By language:

- ``bash``, ``sh``, ``shell``: one bash script, stopped at the first failing command,
  which the failure names with its exit status and the output;
- ``console``: each ``$ command`` runs; its exit status (0 unless ``exit=N``) and the
  lines shown under it are checked;
- ``python``: a script of its own (``python snippet.py``);
- ``yaml``: must parse; ``text``, ``json``, ``mermaid``, ``sql``: shown, not run;
- anything else, a block with no language, or a ``text`` block showing ``$ command``
  lines, is an error: a new kind of block cannot slip through unrun.

The annotations, visible to every reader of the Markdown source:

``<!-- docs: background [until="TEXT"]... [for=SECONDS] -->``
    Each command of the block runs forever (a server, a worker, a tail): it is started,
    left running until every ``until`` text has appeared in its output (else for
    ``for`` seconds, 2 by default), then stopped with SIGTERM; it must exit 0 without a
    traceback (a Python snippet, which has no handler, may also end by the signal). In a
    plain block, ``until`` instead says what the block's ``&`` jobs must print before
    the harness stops them.
``<!-- docs: beside="COMMAND" ready="TEXT" -->``
    The block needs another program running, as a reader would have it in a second
    terminal (a server for a client): COMMAND starts first, the block runs once COMMAND
    has printed TEXT, and COMMAND is stopped with SIGTERM afterwards; it must exit 0.
    With ``stops``, the block itself ends COMMAND (a ``stop`` event): COMMAND must then
    exit 0 by itself.
``<!-- docs: given="COMMAND" -->``
    What the reader has done before, in the prose's words ("once a machine has run..."):
    COMMAND runs first, in the same project and store, and must exit 0 (repeatable).
``<!-- docs: continues -->``
    The block is the next step of the shell block before it ("1. queue jobs; 2. start
    the worker"): that block runs first, in the same project and store.
``<!-- docs: skip REASON -->``
    Not run; the reason is the test's skip message. Only for what cannot run here.
``<!-- docs: file PATH -->``
    The block is the content of ``PATH`` (relative to the project): written before every
    later block of the same document runs. A Python file is compiled, not run.
``<!-- docs: output -->``
    On a ``text`` block right after a shell block: the lines that block prints (each must
    appear, in any order, among its output lines; ``...`` stands for any text, and a
    line of only ``...`` for lines left out).
``<!-- docs: again -->``
    The block is run a second time, in the same project and store: a script a reader will
    run again and again must work the second time too.
``<!-- docs: exit=N -->``
    The commands of a ``console`` block are expected to exit with status N.
``<!-- docs: postgres -->``
    The block needs PostgreSQL: it runs with ``STATEMACHINE_DB`` set to a fresh schema of
    the test server, and every ``postgresql://...db.example.com...`` URL in it is replaced
    by that schema's URL. Skipped without a server, failed under ``CI=true``.

Several words combine in one comment (``<!-- docs: postgres background until="..." -->``).
``pip install`` lines are never run: the package under test is already installed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sybil import Document, Region
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

REPO = Path(__file__).resolve().parents[2]

#: The Markdown files whose blocks are run, as globs under the repository root.
DOCUMENTS = ("README.md", "docs/*.md", "examples/*/README.md")

#: Shell commands, run as a bash script.
SHELL = frozenset({"bash", "sh", "shell"})
#: ``$ command`` lines followed by their expected output.
CONSOLE = frozenset({"console"})
#: Run as a script, in a process of its own.
PYTHON = frozenset({"python"})
#: Parsed (it must be valid YAML), never run.
YAML = frozenset({"yaml", "yml"})
#: Shown, never run: output, formats, diagrams, SQL for another server.
SHOWN = frozenset({"text", "json", "mermaid", "sql"})
KNOWN = SHELL | CONSOLE | PYTHON | YAML | SHOWN

_DIRECTIVE = re.compile(r"<!--\s*docs:(?P<words>.*?)-->\s*\Z", re.DOTALL)
_PIP_INSTALL = re.compile(r"^\s*(python3? -m )?pip install\b")


class Unclassified(Exception):
    """A block the harness cannot tell how to run."""


@dataclass(frozen=True)
class Directive:
    """What a ``<!-- docs: ... -->`` comment asks for."""

    background: bool = False
    output: bool = False
    again: bool = False
    continues: bool = False
    stops: bool = False
    skip: str | None = None
    file: str | None = None
    exit: int = 0
    postgres: bool = False
    until: tuple[str, ...] = ()
    seconds: float = 2.0
    beside: str | None = None
    ready: tuple[str, ...] = ()
    given: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Directive:
        first, _, reason = text.strip().partition(" ")
        if first == "skip":  # the reason is prose, quotes and all
            if not reason.strip():
                raise Unclassified("`docs: skip` needs a reason")
            return cls(skip=reason.strip())
        words = shlex.split(text)
        fields: dict[str, object] = {}
        until: list[str] = []
        given: list[str] = []
        rest = iter(words)
        for word in rest:
            key, has_value, value = word.partition("=")
            if word in ("background", "postgres", "output", "again", "continues", "stops"):
                fields[word] = True
            elif key == "until" and has_value:
                until.append(value)
            elif key == "given" and has_value:
                given.append(value)
            elif key == "beside" and has_value:
                fields["beside"] = value
            elif key == "ready" and has_value:
                fields["ready"] = (value,)
            elif key == "for" and has_value:
                fields["seconds"] = float(value)
            elif key == "exit" and has_value:
                fields["exit"] = int(value)
            elif word == "file":
                fields["file"] = next(rest, None)
                if fields["file"] is None:
                    raise Unclassified("`docs: file` needs a path")
            else:
                raise Unclassified(f"unknown word {word!r} in a `docs:` comment")
        return cls(until=tuple(until), given=tuple(given), **fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Block:
    """One fenced block of a document."""

    path: str  # relative to the repository root
    line: int  # of the opening fence, 1-based
    language: str
    source: str
    directive: Directive = field(default_factory=Directive)
    error: str | None = None  # why it cannot be classified

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def kind(self) -> str:
        """``shell``, ``console``, ``python``, ``yaml``, ``file``, ``shown`` or ``unclassified``."""
        if self.error is not None:
            return "unclassified"
        if self.directive.file is not None:
            return "file"
        for kind, languages in (
            ("shell", SHELL),
            ("console", CONSOLE),
            ("python", PYTHON),
            ("yaml", YAML),
            ("shown", SHOWN),
        ):
            if self.language in languages:
                return kind
        return "unclassified"  # pragma: no cover - _classify sets error first

    def commands(self) -> list[str]:
        """The block's commands: ``\\``-continued lines joined, comment-only lines dropped."""
        if self.kind == "console":
            return [line[2:] for line in self.source.splitlines() if line.startswith("$ ")]
        commands: list[str] = []
        pending = ""
        for line in self.source.splitlines():
            pending += line
            if pending.endswith("\\"):
                pending = pending[:-1] + " "
                continue
            if pending.strip() and not pending.lstrip().startswith("#"):
                commands.append(pending)
            pending = ""
        return commands

    def expected_output(self) -> list[str]:
        """The output lines it shows: a console block's after its commands, a text block's."""
        return [
            line
            for line in self.source.splitlines()
            if line.strip() and line.strip() != "..." and not line.startswith("$ ")
        ]


def _classify(block: Block) -> str | None:
    """Why the harness cannot run or show ``block``, or None."""
    if block.directive.skip is not None or block.directive.file is not None:
        return None
    if block.language not in KNOWN:
        known = ", ".join(sorted(KNOWN))
        return (
            f"a block in {block.language or 'no language'!r}: give it one of {known}, "
            "or a <!-- docs: ... --> comment (see tests/docs/blocks.py)"
        )
    first = next((line for line in block.source.splitlines() if line.strip()), "")
    if block.language in SHOWN and first.startswith("$ "):
        return f"a `{block.language}` block shows a command ({first!r}): make it `console`"
    if block.language in CONSOLE and not first.startswith("$ "):
        return "a `console` block must start with a `$ command` line"
    if block.directive.background and block.language not in SHELL | PYTHON:
        return "only shell and python blocks run in the background"
    if block.directive.output and block.language != "text":
        return "only a `text` block is a block's `output`"
    return None


def _lexer() -> RawFencedCodeBlockLexer:
    return RawFencedCodeBlockLexer(
        info_pattern=re.compile(r"(?P<language>[^\n`]*)$\n", re.MULTILINE),
    )


def parse_document(path: Path, root: Path = REPO) -> list[Block]:
    """Every fenced block of ``path``, in order."""
    document = Document(path.read_text(encoding="utf-8"), str(path))
    relative = path.relative_to(root).as_posix()
    blocks = []
    region: Region
    for region in _lexer()(document):
        language = str(region.lexemes["language"]).strip().split(" ")[0].lower()
        source = str(region.lexemes["source"])
        line = document.text.count("\n", 0, region.start) + 1
        before = document.text[: region.start].rstrip()
        # The comment ends right before the fence (a fence in a list item is indented).
        comment = before[before.rfind("<!--") :] if before.endswith("-->") else ""
        match = _DIRECTIVE.match(comment)
        error = None
        try:
            directive = Directive.parse(match.group("words")) if match else Directive()
        except (Unclassified, ValueError) as exc:
            directive, error = Directive(), f"{comment}: {exc}"
        block = Block(relative, line, language, source, directive)
        error = error or _classify(block)
        if directive.output and not error and (not blocks or blocks[-1].kind != "shell"):
            error = "a `docs: output` block must come right after the shell block it shows"
        blocks.append(Block(relative, line, language, source, directive, error))
    return blocks


def documents(root: Path = REPO) -> list[Path]:
    """The documents whose blocks are run, sorted."""
    found: set[Path] = set()
    for pattern in DOCUMENTS:
        found.update(root.glob(pattern))
    return sorted(found)


def all_blocks(root: Path = REPO) -> Iterator[Block]:
    for path in documents(root):
        yield from parse_document(path, root)


def is_pip_install(command: str) -> bool:
    """``pip install ...``: never run, the package under test is installed already."""
    return bool(_PIP_INSTALL.match(command))
