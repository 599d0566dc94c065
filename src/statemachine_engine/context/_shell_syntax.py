"""Where a value lands in a bash command: the words to say it. Pure data.

:func:`._shell_lexer.positions` reads a command written as literal text with *slots*
(the places where values go) and says, for each slot, how bash will read what is
written there, as a :class:`Position`:

- its quoting state: a bare word, inside ``'...'``, ``"..."`` or ``$'...'``, in a
  ``#`` comment, or in the body of a here-document (expanded, or literal when the
  delimiter is quoted);
- whether it is an *arithmetic context*: ``$(( ))``, ``$[ ]``, ``(( ))``, ``let``,
  ``declare -i``, the operands of ``[[ ... -eq/-ne/-lt/-le/-gt/-ge ... ]]``, array
  subscripts ``a[...]`` and ``${x:offset:length}``. Bash evaluates the *value* of a
  variable expanded there as an expression, and an expression such as ``a[$(cmd)]``
  runs ``cmd``, so quoting cannot protect a value in those places;
- whether a command reads it as a variable *name* (``unset``, ``read``...).

The work is shared by three modules: this one (the vocabulary), :mod:`._shell_lexer`
(reads the characters: quoting, expansions and their nesting, here-documents) and
:mod:`._shell_contexts` (what a place inside that nesting and inside the command being
read means: arithmetic, a variable name, or neither).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Quoting states.
BARE, SINGLE, DOUBLE, ANSI, COMMENT, HEREDOC, HEREDOC_LITERAL = range(7)


class Slot:
    """Marks where a value goes in the sequence given to :func:`._shell_lexer.positions`."""

    __slots__ = ()


SLOT = Slot()


@dataclass
class Position:
    """How bash reads a value written at one slot.

    Attributes:
        state: the quoting state (``BARE``, ``SINGLE``, ...).
        arithmetic: the name of the arithmetic construct the slot lies in, or "".
        name: the command that reads the value as a variable name, or "" (bash
            evaluates a subscript in a name: ``unset 'a[$(cmd)]'`` runs ``cmd``).
        delimiter: for a here-document body, the line that ends it.
    """

    state: int = BARE
    arithmetic: str = ""
    delimiter: str = ""
    name: str = ""


def split(pieces: Sequence[str | Slot]) -> list[str | Slot]:
    """``pieces`` (literal strings and slots) as single characters and slots."""
    items: list[str | Slot] = []
    for piece in pieces:
        if isinstance(piece, Slot):
            items.append(piece)
        else:
            items.extend(piece)
    return items
