"""Running a command with its stderr on a pseudo-terminal, as a person at a shell sees
it: what a command shows only on a terminal (progress lines) is read back."""

from __future__ import annotations

import os
import pty
import subprocess
from collections.abc import Sequence


def run_on_terminal(argv: Sequence[str], timeout: float = 60) -> tuple[str, int, bytes]:
    """Run ``argv`` with stdout piped and stderr a terminal; its stdout, exit status and
    everything it wrote to the terminal."""
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=terminal, text=True, timeout=timeout, check=False
        )
        os.close(terminal)
        terminal = -1
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal's other end is closed: all was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    return result.stdout, result.returncode, shown
