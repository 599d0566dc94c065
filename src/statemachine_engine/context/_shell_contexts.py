"""What a place in a bash command means for a value written there. Pure functions.

:mod:`._shell_lexer` keeps, while it reads, the stack of constructs it is inside
(:class:`Frame`: ``$(( ))``, ``$( )``, ``${ }``, a subscript, ``[[ ]]``) and the simple
command being read (:class:`Command`). From those two this module tells whether a
place is an arithmetic context and whether a command reads a value there as a
variable name (see :mod:`._shell_syntax`).

The reading errs on the side of arithmetic: a command substitution nested in an
arithmetic context is arithmetic too (its output is evaluated), and ``word[`` is read
as a subscript even where bash would see a glob.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ._shell_syntax import BARE, DOUBLE, Position

#: The ``[[ ]]`` operators whose operands bash evaluates as arithmetic expressions.
ARITHMETIC_TESTS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
_DECLARERS = frozenset({"declare", "typeset", "local", "export", "readonly"})
# Words after which a command still has not started.
_PREFIX_WORDS = frozenset(
    {"if", "then", "else", "elif", "do", "while", "until", "!", "time", "{", "exec"}
)
# Commands whose arguments are variable names, and their options that take a value.
_NAME_READERS = {
    "unset": frozenset(),
    "read": frozenset({"-d", "-i", "-n", "-N", "-p", "-t", "-u"}),
    "mapfile": frozenset({"-d", "-n", "-O", "-s", "-u", "-C", "-c"}),
    "readarray": frozenset({"-d", "-n", "-O", "-s", "-u", "-C", "-c"}),
}
_NAME_TESTS = frozenset({"-v", "-R"})
_REDIRECT = re.compile(r"[0-9]*(?:<|>|>>|<<<|<>|>&|<&|&>|&>>|>\|)")


@dataclass
class Frame:
    """A construct the lexer is inside.

    Attributes:
        kind: "arith" (``$(( ))``, ``(( ))``, ``$[ ]``), "cmdsub" (``$( )``), "param"
            (``${ }``), "subscript" (``a[ ]``) or "cond" (``[[ ]]``).
        depth: unmatched opening brackets of its own kind inside it.
        mode: for "param": "name", "arith" (after ``:``, the offset and length) or
            "word" (anything else: a default value, a pattern...).
        words: for "cond", the words read so far.
        pending: for "cond", the slots in it, by the index of their word: whether
            they are arithmetic is known once the condition ends.
    """

    kind: str
    depth: int = 0
    mode: str = "name"
    words: list[str] = field(default_factory=list)
    pending: list[tuple[int, Position]] = field(default_factory=list)


@dataclass
class Command:
    """The simple command being read.

    Attributes:
        words: how many of its words were read (prefix words such as ``if`` or
            ``time`` do not count).
        name: its first word.
        last_word: the word read last.
        let: its words are arithmetic (``let``, ``declare -i``).
        declarer: it is ``declare``, ``local``, ``export``...
    """

    words: int = 0
    name: str = ""
    last_word: str = ""
    let: bool = False
    declarer: bool = False

    def add(self, text: str) -> bool:
        """Read one more word; True when it opens a condition ``[[`` instead."""
        if self.words == 0 and text in _PREFIX_WORDS:
            return False
        if self.words == 0:
            if text == "[[":
                return True
            self.name = text
            if text == "let":
                self.let = True
            elif text in _DECLARERS:
                self.declarer = True
        elif self.declarer and text.startswith("-") and "i" in text:
            self.let = True
        self.words += 1
        self.last_word = text
        return False

    def reads_name(self, word: str) -> str:
        """The command reading a value as a variable name when it is written in
        ``word`` (the word so far, quotes stripped), or ""."""
        if self.words == 0 or "<" in word or ">" in word:
            return ""
        if _REDIRECT.fullmatch(self.last_word):
            return ""
        command = self.name
        if command in ("test", "[") and self.last_word in _NAME_TESTS and not word:
            return f"{command} -v"
        if command == "printf" and self.last_word == "-v" and not word:
            return "printf -v"
        if command in _NAME_READERS:
            if word.startswith("-") or self.last_word in _NAME_READERS[command]:
                return ""
            return command
        if command in _DECLARERS and "=" not in word and not word.startswith(("-", "+")):
            return command
        return ""


def open_condition(stack: Sequence[Frame]) -> Frame | None:
    """The ``[[ ]]`` whose words are being read (the innermost frame), if it is one."""
    return stack[-1] if stack and stack[-1].kind == "cond" else None


def close_condition(condition: Frame) -> None:
    """At the end of ``[[ ]]``: its slots next to an arithmetic test are arithmetic."""
    operands: set[int] = set()
    for index, word in enumerate(condition.words):
        if word in ARITHMETIC_TESTS:
            operands.update((index - 1, index + 1))
    for index, position in condition.pending:
        if index in operands and not position.arithmetic:
            position.arithmetic = "[[ -eq/-ne/-lt/-le/-gt/-ge ]]"


def arithmetic_construct(stack: Sequence[Frame], command: Command, state: int) -> str:
    """The arithmetic construct a place lies in (see :attr:`.Position.arithmetic`), or ""."""
    for frame in reversed(stack):
        if frame.kind == "arith":
            return "$(( ))"
        if frame.kind == "subscript":
            return "a[...]"
        if frame.kind == "param" and frame.mode == "arith":
            return "${x:offset:length}"
    if command.let and state in (BARE, DOUBLE):
        return "let" if not command.declarer else "declare -i"
    return ""


def name_reader(stack: Sequence[Frame], command: Command, word: str) -> str:
    """The command reading a value written here (in ``word``, quotes stripped) as a
    variable name, or ""."""
    condition = open_condition(stack)
    if condition is not None:
        if not word and condition.words and condition.words[-1] in _NAME_TESTS:
            return "[[ -v ]]"
        return ""
    if stack and stack[-1].kind != "cmdsub":
        return ""
    return command.reads_name(word)
