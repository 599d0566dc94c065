"""``statemachine-diagrams`` (alias ``statemachine-fsm``): write diagrams for configs.

For each config, ``<output-dir>/<stem>/`` receives ``main.mermaid``, one
``<GROUP>.mermaid`` per state group, ``metadata.json`` and ``<stem>_fsm.md``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from ..._cli_output import print_json
from ..._cli_support import (
    EXIT_ERROR,
    EXIT_OK,
    add_debug_and_version,
    add_format_option,
    run_main,
)
from ...errors import ConfigError, UsageError
from ._build import DiagramSet, build_diagrams

__all__ = ["build_parser", "fsm_main", "main"]

PROG = "statemachine-diagrams"
DEFAULT_OUTPUT_DIR = Path("docs") / "fsm-diagrams"
MAIN_FILE = "main.mermaid"
METADATA_FILE = "metadata.json"
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9_.-]")
_RESERVED_FILES = frozenset({"main", "metadata"})


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Write Mermaid state diagrams, UI metadata and a Markdown page for each "
        "machine config, into OUTPUT_DIR/<config stem>/. Same config, same bytes.",
    )
    parser.add_argument("configs", nargs="+", metavar="CONFIG", help="machine config YAML files")
    parser.add_argument(
        "--output-dir",
        "-o",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        metavar="DIR",
        help=f"root of the generated directories (default: {DEFAULT_OUTPUT_DIR})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if any generated file is missing or out of date (for CI)",
    )
    add_format_option(parser)
    add_debug_and_version(parser)
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """Entry point of ``statemachine-diagrams``; returns the exit status."""
    return run_main(build_parser(prog), argv, lambda args: _run(args, prog))


#: Entry point of the ``statemachine-fsm`` alias.
fsm_main = partial(main, prog="statemachine-fsm")


def output_files(diagrams: DiagramSet) -> dict[str, str]:
    """File name -> content of everything generated for one config."""
    files = {MAIN_FILE: diagrams.main}
    for name, source in diagrams.groups.items():
        files[_group_file_name(name, files)] = source
    files[METADATA_FILE] = json.dumps(diagrams.metadata, indent=2, ensure_ascii=False) + "\n"
    files[f"{diagrams.stem}_fsm.md"] = diagrams.markdown
    return files


def write_diagrams(config: Path, output_dir: Path = DEFAULT_OUTPUT_DIR) -> Path:
    """Write the diagrams of ``config`` into ``output_dir/<stem>/`` (as the command does);
    returns that directory.

    Raises:
        ConfigError: the config cannot be read.
        UsageError: the directory cannot be written.
    """
    from ...config.loader import load_config

    stem = config.stem
    directory = output_dir / stem
    _write(directory, output_files(build_diagrams(load_config(config, use_cache=False), stem=stem)))
    return directory


def _group_file_name(group: str, taken: dict[str, str]) -> str:
    """``<GROUP>.mermaid`` with the name made file-safe and distinct from the others."""
    base = _UNSAFE_FILE_CHARS.sub("_", group).strip(".") or "group"
    if base.lower() in _RESERVED_FILES:
        base += "_group"
    name, number = f"{base}.mermaid", 2
    lowered = {existing.lower() for existing in taken}
    while name.lower() in lowered:  # case-insensitive file systems
        name, number = f"{base}_{number}.mermaid", number + 1
    return name


def _run(args: argparse.Namespace, prog: str) -> int:
    from ...config._manifest_reader import with_manifests_expanded
    from ...config.loader import load_config

    sets: list[tuple[str, Path, DiagramSet]] = []
    stems: dict[str, str] = {}
    try:
        configs = with_manifests_expanded(args.configs)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    for raw in configs:
        stem = Path(raw).stem
        if stem in stems:
            raise UsageError(
                f"{stems[stem]} and {raw} would both be written to {args.output_dir / stem}; "
                "diagram them in separate runs with different --output-dir"
            )
        stems[stem] = raw
        try:
            config = load_config(raw, use_cache=False)
        except ConfigError as exc:
            raise UsageError(str(exc)) from exc
        sets.append((raw, args.output_dir / stem, build_diagrams(config, stem=stem)))
    stale: list[Path] = []
    report: list[dict[str, object]] = []
    for raw, directory, diagrams in sets:
        files = output_files(diagrams)
        report.append({"config": raw, "directory": str(directory), "files": sorted(files)})
        if args.check:
            stale.extend(_outdated(directory, files))
        else:
            _write(directory, files)
            if args.format == "text":
                print(f"{prog}: wrote {directory}/ ({len(files)} files)")
    if args.format == "json":
        print_json({"check": args.check, "configs": report, "stale": [str(p) for p in stale]})
    if stale:
        if args.format == "text":
            for path in stale:
                print(
                    f"{prog}: {'out of date' if path.exists() else 'missing'}: {path}",
                    file=sys.stderr,
                )
        print(f"{prog}: run {prog} without --check to regenerate", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _outdated(directory: Path, files: dict[str, str]) -> list[Path]:
    wrong = [
        directory / name
        for name, content in files.items()
        if not _has_content(directory / name, content)
    ]
    wrong.extend(sorted(path for path in _stale_diagrams(directory, files)))
    return wrong


def _has_content(path: Path, content: str) -> bool:
    try:
        return path.read_bytes() == content.encode("utf-8")
    except OSError:
        return False


def _stale_diagrams(directory: Path, files: dict[str, str]) -> list[Path]:
    """``.mermaid`` files left from groups that no longer exist."""
    if not directory.is_dir():
        return []
    return [path for path in directory.glob("*.mermaid") if path.name not in files]


def _write(directory: Path, files: dict[str, str]) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path in _stale_diagrams(directory, files):
            path.unlink()
        for name, content in files.items():
            (directory / name).write_bytes(content.encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot write {directory}: {exc.strerror}") from exc


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
