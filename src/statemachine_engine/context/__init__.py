"""A machine's context, as actions and configs see it. Pure: no I/O, no awaits.

:mod:`._entries` says which keys the engine owns and how an event or a job enters the
context; :mod:`.interpolation` fills ``{placeholders}`` from it (in ``bash`` commands
through the shell lexer of :mod:`._shell_lexer`, so that no value becomes shell syntax).

This layer sits under both the actions and the engine: builtins use it without
reaching the runtime that runs them.
"""

__all__: list[str] = []
