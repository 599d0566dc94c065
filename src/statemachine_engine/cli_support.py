"""The one error funnel shared by every console script."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

from .errors import StateMachineError, UsageError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def run_command(body: Callable[[], int], *, prog: str, debug: bool = False) -> int:
    """Run a command body; turn our errors into ``prog: error: ...`` and an exit status.

    A :class:`StateMachineError` prints one line (and the traceback with ``--debug``);
    anything else is a bug and keeps its traceback.
    """
    try:
        return body()
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StateMachineError as exc:
        if debug:
            traceback.print_exc()
        for line in str(exc).splitlines() or [""]:  # several errors: one line each
            print(f"{prog}: error: {line}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
