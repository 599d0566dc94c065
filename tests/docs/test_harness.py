"""The docs harness itself: what it runs, what it refuses, and what a failure says."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from .blocks import REPO, Block, Directive, documents, parse_document
from .runner import run_console, run_shell, run_shell_background


def blocks_of(tmp_path: Path, markdown: str) -> list[Block]:
    path = tmp_path / "doc.md"
    path.write_text(markdown, encoding="utf-8")
    return parse_document(path, root=tmp_path)


def test_every_markdown_file_of_the_repository_is_run() -> None:
    """A new document cannot escape the harness: every tracked .md file is one it runs
    (except the diagram pages the golden tests generate)."""
    tracked = subprocess.run(
        ["git", "ls-files", "*.md"], cwd=REPO, capture_output=True, text=True, check=False
    )
    if tracked.returncode != 0:
        pytest.skip(f"not a git checkout: {tracked.stderr.strip()}")
    files = {
        REPO / name
        for name in tracked.stdout.split()
        if not name.startswith("tests/golden/diagrams/")
    }
    assert files - set(documents()) == set()


@pytest.mark.parametrize(
    ("markdown", "error"),
    [
        pytest.param("```\nstatemachine x.yaml\n```\n", "no language", id="no-language"),
        pytest.param("```toml\n[a]\n```\n", "'toml'", id="unknown-language"),
        pytest.param("```text\n$ statemachine x.yaml\n```\n", "make it `console`", id="text-cmd"),
        pytest.param("```console\nstatemachine x.yaml\n```\n", "`$ command`", id="console-no-$"),
        pytest.param("<!-- docs: sometimes -->\n```bash\nls\n```\n", "unknown word", id="word"),
        pytest.param("<!-- docs: skip -->\n```bash\nls\n```\n", "needs a reason", id="no-reason"),
        pytest.param(
            "<!-- docs: background -->\n```yaml\na: 1\n```\n", "only shell", id="background-yaml"
        ),
    ],
)
def test_a_block_the_harness_cannot_classify_is_an_error(
    tmp_path: Path, markdown: str, error: str
) -> None:
    [block] = blocks_of(tmp_path, markdown)
    assert block.kind == "unclassified"
    assert block.error is not None
    assert error in block.error


def test_annotations_and_commands_are_read_as_written(tmp_path: Path) -> None:
    markdown = (
        "Intro.\n\n"
        '<!-- docs: postgres background until="serving http" for=3 given="a b" -->\n'
        "```sh\n"
        "statemachine-ui \\\n    --port 8080   # a comment stays part of the command\n"
        "# a comment line is no command\n"
        "\n"
        "statemachine-events\n"
        "```\n\n"
        "1. A list item:\n\n"
        "   <!-- docs: skip it needs a second host (and that's that) -->\n"
        "   ```bash\n   statemachine w.yaml\n   ```\n"
    )
    first, second = blocks_of(tmp_path, markdown)
    assert first.id == "doc.md:4"
    assert first.directive == Directive(
        background=True, postgres=True, until=("serving http",), seconds=3.0, given=("a b",)
    )
    assert first.commands() == [
        "statemachine-ui      --port 8080   # a comment stays part of the command",
        "statemachine-events",
    ]
    assert second.directive.skip == "it needs a second host (and that's that)"
    assert second.source == "statemachine w.yaml\n"


def test_a_failing_command_fails_with_the_command_its_status_and_its_output(
    tmp_path: Path,
) -> None:
    [block] = blocks_of(
        tmp_path,
        "```bash\necho first\npip install nothing-at-all\nls no-such-file\necho never\n```\n",
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        run_shell(block, block.source, tmp_path, os.environ)
    message = str(failed.value)
    assert "doc.md:1: `ls no-such-file` exited with status 2" in message
    assert "first" in message
    assert "No such file" in message
    assert "never" not in message.split("--- output ---")[1]
    assert "nothing-at-all" not in message.split("--- output ---")[1]  # pip is never run


@pytest.mark.parametrize(
    "after",
    [
        pytest.param("", id="running"),
        # Gone from `jobs -p` by the time the block ends: its status still counts.
        pytest.param("while kill -0 $! 2>/dev/null; do :; done\n", id="already-ended"),
    ],
)
def test_a_background_job_that_fails_fails_the_block(tmp_path: Path, after: str) -> None:
    [block] = blocks_of(
        tmp_path, f'<!-- docs: until="up" -->\n```bash\n(echo up; exit 3) &\n{after}```\n'
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        run_shell(block, block.source, tmp_path, os.environ)
    # 3, or 143 if the stop came first: either way the job did not end well.
    assert re.search(r"docs: background job \d+ exited with status (3|143)", str(failed.value))


def test_a_block_that_waits_for_its_own_jobs_is_judged_by_its_wait(tmp_path: Path) -> None:
    [passes] = blocks_of(tmp_path, "```bash\n(echo one) &\n(echo two) &\nwait\n```\n")
    run_shell(passes, passes.source, tmp_path, os.environ)
    [fails] = blocks_of(tmp_path, "```bash\n(exit 4) &\nwait $!\n```\n")
    with pytest.raises(pytest.fail.Exception) as failed:
        run_shell(fails, fails.source, tmp_path, os.environ)
    assert "exited with status 4" in str(failed.value)


def test_a_background_command_must_come_up_and_stop_on_sigterm(tmp_path: Path) -> None:
    [block] = blocks_of(
        tmp_path, '<!-- docs: background until="ready" -->\n```bash\necho starting\n```\n'
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        run_shell_background(block, block.source, tmp_path, os.environ)
    assert "never printed all of ['ready']" in str(failed.value)


def test_a_console_block_checks_status_and_output(tmp_path: Path) -> None:
    [block] = blocks_of(
        tmp_path, "<!-- docs: exit=1 -->\n```console\n$ echo one two; false\none ...\n```\n"
    )
    run_console(block, tmp_path, os.environ)
    [wrong] = blocks_of(tmp_path, "```console\n$ echo one\ntwo\n```\n")
    with pytest.raises(pytest.fail.Exception) as failed:
        run_console(wrong, tmp_path, os.environ)
    assert "no output line reads 'two'" in str(failed.value)


def test_an_output_block_belongs_to_the_shell_block_before_it(tmp_path: Path) -> None:
    [stray] = blocks_of(tmp_path, "<!-- docs: output -->\n```text\nhello\n```\n")
    assert stray.error is not None
    assert "right after the shell block" in stray.error
    shell, shown = blocks_of(
        tmp_path,
        "```bash\necho '12:00 INFO [m] hello world'\n```\n\n"
        "<!-- docs: output -->\n```text\n[m] hello ...\n...\n[m] bye\n```\n",
    )
    assert shown.kind == "shown"
    assert shown.expected_output() == ["[m] hello ...", "[m] bye"]
    with pytest.raises(pytest.fail.Exception) as failed:
        run_shell(shell, shell.source, tmp_path, os.environ, shown)
    assert "has lines it never printed: ['[m] bye']" in str(failed.value)
