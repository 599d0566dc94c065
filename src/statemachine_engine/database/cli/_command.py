"""What a command of ``statemachine-db`` is.

Each command is a :data:`Handler` in the module of its noun: :mod:`._jobs` (reading and
changing one job), :mod:`._maintenance` (clearing out the queue and the inboxes),
:mod:`._events` (machines' inboxes) and :mod:`._machines` (their states and history);
:mod:`._main` parses the command line, opens the store and awaits it. The store's types
are imported only for type checking, so that parsing a command line stays light.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store import OperatorStore

PROG = "statemachine-db"

#: A command: given the open store and the parsed arguments, do it, print, and return
#: the exit status.
Handler = Callable[["OperatorStore", argparse.Namespace], Awaitable[int]]
