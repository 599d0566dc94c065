"""The one error funnel shared by every console script, and the options they share.

Every command's ``main`` parses with :func:`parse_args` and runs its body through
:func:`run_command` (:func:`run_main` does both), so errors, Ctrl-C and a closed pipe
end every CLI the same way.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Awaitable, Callable, Sequence

from ._version import __version__
from .errors import StateMachineError, UsageError

# typing costs --help a tenth of its time; its names are only annotations here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: The reader of our output went away (``cmd | head -1``): 128 + SIGPIPE, as a shell
#: reports a process that SIGPIPE killed, so ``set -o pipefail`` scripts can tell.
EXIT_BROKEN_PIPE = 141

#: The output formats of every command that prints data.
FORMATS = ("text", "json")
#: Older spellings, still accepted: ``table`` (statemachine-db), ``human``
#: (statemachine-events).
FORMAT_ALIASES = {"table": "text", "human": "text"}


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help formatter, sized when it formats help rather than when it is made.

    argparse makes a formatter on every ``add_argument`` (to check the metavar) and asks
    :func:`shutil.get_terminal_size` for the width each time, which imports shutil and
    with it bz2, lzma and fnmatch: a few milliseconds of every machine's start-up for
    help text it never prints. Here the width is asked for, the same way, on first use.
    """

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        self._sized = width is not None
        self._asked_position = max_help_position
        super().__init__(prog, indent_increment, max_help_position, width or 80)

    def format_help(self) -> str:
        # Everything that reads the width runs from here (argparse formats lazily).
        if not self._sized:
            import shutil

            # What argparse.HelpFormatter.__init__ does with width=None.
            self._width = shutil.get_terminal_size().columns - 2
            floor = self._indent_increment * 2
            self._max_help_position = min(self._asked_position, max(self._width - 20, floor))
            self._sized = True
        return super().format_help()


def run_command(body: Callable[[], int], *, prog: str, debug: bool = False) -> int:
    """Run a command body; turn our errors into ``prog: error: ...`` and an exit status.

    A :class:`StateMachineError` prints one line (and the traceback with ``--debug``);
    anything else is a bug and keeps its traceback. A closed stdout (the reader of a
    pipe exited) ends the command quietly with :data:`EXIT_BROKEN_PIPE`.
    """
    try:
        status = body()
        sys.stdout.flush()  # here, where a closed pipe can still be handled
    except BrokenPipeError:
        return _broken_pipe()
    except UsageError as exc:
        for line in str(exc).splitlines() or [""]:  # several errors: one line each
            print(f"{prog}: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except StateMachineError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        for line in str(exc).splitlines() or [""]:  # several errors: one line each
            print(f"{prog}: error: {line}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return status


def run_main(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    run: Callable[[argparse.Namespace], int],
) -> int:
    """Parse ``argv`` with ``parser``, then ``run(args)`` through :func:`run_command`
    (``--debug``, see :func:`add_debug_and_version`, shows tracebacks)."""
    args = parse_args(parser, argv)
    return run_command(lambda: run(args), prog=parser.prog, debug=args.debug)


def run_until_terminated(work: Callable[[], Awaitable[int]]) -> int:
    """Run ``work()`` in a new event loop; SIGTERM cancels it and the result is EXIT_OK.

    A stop requested by a service manager or a script ends the command as Ctrl-C would,
    with its clean-up run, but as a success. The signal is taken by the loop (never an
    exception raised inside a transport's callback, which asyncio would report as a
    fatal read error).
    """
    import asyncio  # not at the top: every command's --help would pay for it
    import signal

    async def main() -> int:
        task = asyncio.ensure_future(work())
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            if task.cancelled():
                return EXIT_OK
            raise
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    return asyncio.run(main())


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """``parser.parse_args(argv)``, quiet on a closed pipe when it prints help or a version.

    An argument that is not valid UTF-8 (the bytes Python keeps as lone surrogates) is
    refused with one line and exit status 2, unless it names an existing file.
    """
    for arg in sys.argv[1:] if argv is None else argv:
        if not _is_utf8(arg) and not os.path.exists(arg):
            shown = arg.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
            print(f"{parser.prog}: error: argument '{shown}' is not valid UTF-8", file=sys.stderr)
            raise SystemExit(EXIT_USAGE)
    try:
        return parser.parse_args(argv)
    except SystemExit:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            raise SystemExit(_broken_pipe()) from None
        raise


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def whole_number(minimum: int = 0, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``minimum`` (to ``maximum``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"{minimum} or more" if maximum is None else f"{minimum} to {maximum}"
            raise argparse.ArgumentTypeError(f"must be {bounds}: {value}")
        return value

    return parse


def checked(rule: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type`` from a rule shared with other doors than the command line:
    ``rule(text)`` returns the value, or raises ValueError saying what it must be (shown
    as ``argument --option: <message>``, exit status 2)."""

    def parse(text: str) -> Any:
        try:
            return rule(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def duration(
    maximum: float = math.inf, *, zero: bool = True, unit: str = "seconds"
) -> Callable[[str], float]:
    """An argparse ``type``: a number of ``unit``, 0 (unless not ``zero``) to ``maximum``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of {unit}: {text!r}") from None
        if not (value >= 0 if zero else value > 0) or not value <= maximum or math.isinf(value):
            if math.isinf(maximum):
                bounds = "0 or more" if zero else "more than 0"
            else:
                most = f"{maximum:.0f}" if float(maximum).is_integer() else f"{maximum:g}"
                bounds = f"0 to {most}" if zero else f"more than 0, at most {most}"
            raise argparse.ArgumentTypeError(f"must be {bounds} {unit}: {text}")
        return value

    return parse


def add_format_option(parser: argparse.ArgumentParser, *, default: Any = "text") -> None:
    """``--format text|json`` (``table`` and ``human`` accepted as ``text``)."""
    parser.add_argument(
        "--format",
        type=_format,
        choices=FORMATS,
        default=default,
        help="output: text for people, json for programs (default: text)",
    )


def add_debug_and_version(parser: argparse.ArgumentParser) -> None:
    """``--debug`` (tracebacks on errors) and ``--version``."""
    parser.add_argument("--debug", action="store_true", help="tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")


def _format(value: str) -> str:
    return FORMAT_ALIASES.get(value, value)


def _broken_pipe() -> int:
    """Send what is left of stdout to /dev/null, so the interpreter's last flush at
    exit does not print "Exception ignored ... BrokenPipeError"."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (a test's StringIO): nothing to flush
        pass
    return EXIT_BROKEN_PIPE
