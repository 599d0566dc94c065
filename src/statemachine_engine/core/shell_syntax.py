"""Where a value lands in a bash command. Pure functions.

:func:`positions` reads a command written as literal text with *slots* (the places
where values go) and says, for each slot, how bash will read what is written there:

- its quoting state: a bare word, inside ``'...'``, ``"..."`` or ``$'...'``, in a
  ``#`` comment, or in the body of a here-document (expanded, or literal when the
  delimiter is quoted);
- whether it is an *arithmetic context*: ``$(( ))``, ``$[ ]``, ``(( ))``, ``let``,
  ``declare -i``, the operands of ``[[ ... -eq/-ne/-lt/-le/-gt/-ge ... ]]``, array
  subscripts ``a[...]`` and ``${x:offset:length}``. Bash evaluates the *value* of a
  variable expanded there as an expression, and an expression such as ``a[$(cmd)]``
  runs ``cmd``, so quoting cannot protect a value in those places.

The reading errs on the side of arithmetic: a command substitution nested in an
arithmetic context is arithmetic too (its output is evaluated), and ``word[`` is read
as a subscript even where bash would see a glob. It is a lexer, not a parser: it does
not need the command to be valid.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# Quoting states.
BARE, SINGLE, DOUBLE, ANSI, COMMENT, HEREDOC, HEREDOC_LITERAL = range(7)

#: The ``[[ ]]`` operators whose operands bash evaluates as arithmetic expressions.
ARITHMETIC_TESTS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
_DECLARERS = frozenset({"declare", "typeset", "local", "export", "readonly"})
# Words after which a command still has not started.
_PREFIX_WORDS = frozenset(
    {"if", "then", "else", "elif", "do", "while", "until", "!", "time", "{", "exec"}
)
_SEPARATORS = frozenset(";&|\n()")
# Commands whose arguments are variable names, and their options that take a value.
_NAME_READERS = {
    "unset": frozenset(),
    "read": frozenset({"-d", "-i", "-n", "-N", "-p", "-t", "-u"}),
    "mapfile": frozenset({"-d", "-n", "-O", "-s", "-u", "-C", "-c"}),
    "readarray": frozenset({"-d", "-n", "-O", "-s", "-u", "-C", "-c"}),
}
_NAME_TESTS = frozenset({"-v", "-R"})
_REDIRECT = re.compile(r"[0-9]*(?:<|>|>>|<<<|<>|>&|<&|&>|&>>|>\|)")
_WORD_BREAKS = frozenset(" \t\n;&|()<>")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAM_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_PARAM_SPECIALS = frozenset("@*#?$!-")


#: The frame each closing character ends.
_CLOSES = {"]": "subscript", "}": "param"}


class Slot:
    """Marks where a value goes in the sequence given to :func:`positions`."""

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


@dataclass
class _Frame:
    kind: str  # "arith", "cmdsub", "param", "subscript", "cond"
    depth: int = 0
    mode: str = "name"  # for "param": "name", "arith" (after ':'), "word"
    words: list[str] = field(default_factory=list)  # for "cond"
    pending: list[tuple[int, Position]] = field(default_factory=list)  # for "cond"


@dataclass
class _Heredoc:
    delimiter: str
    strip_tabs: bool
    literal: bool


class _Lexer:
    def __init__(self, items: Sequence[str | Slot]) -> None:
        self.items = items
        self.i = 0
        self.state = BARE
        self.stack: list[_Frame] = []
        self.previous = ""
        self.word: list[str] = []
        self.in_word = False
        self.word_has_slot = False
        self.command_words = 0
        self.let = False
        self.declarer = False
        self.heredocs: list[_Heredoc] = []
        self.heredoc: _Heredoc | None = None
        self.heredoc_line: list[str] = []
        self.heredoc_line_slot = False
        self.heredoc_stack = 0
        self.positions: list[Position] = []
        self.saved: list[tuple[int, bool, bool, str, str]] = []
        self.command_name = ""
        self.last_word = ""

    # --- helpers -------------------------------------------------------------------

    def peek(self, offset: int = 1) -> str | Slot | None:
        index = self.i + offset
        return self.items[index] if index < len(self.items) else None

    def arithmetic(self) -> str:
        for frame in reversed(self.stack):
            if frame.kind == "arith":
                return "$(( ))"
            if frame.kind == "subscript":
                return "a[...]"
            if frame.kind == "param" and frame.mode == "arith":
                return "${x:offset:length}"
        if self.let and self.state in (BARE, DOUBLE):
            return "let" if not self.declarer else "declare -i"
        return ""

    def cond(self) -> _Frame | None:
        for frame in reversed(self.stack):
            if frame.kind == "cond":
                return frame
            if frame.kind == "cmdsub":
                return None
        return None

    def end_word(self) -> None:
        if not self.in_word:
            return
        text = "".join(self.word)
        self.in_word = False
        self.word = []
        cond = self.cond()
        if cond is not None and self.stack[-1] is cond:
            if text == "]]" and not self.word_has_slot:
                self.stack.pop()
                self._resolve(cond)
            else:
                cond.words.append(text)
            self.word_has_slot = False
            return
        self.word_has_slot = False
        if self.command_words == 0 and text in _PREFIX_WORDS:
            return
        if self.command_words == 0:
            if text == "[[":
                self.stack.append(_Frame("cond"))
                return
            self.command_name = text
            if text == "let":
                self.let = True
            elif text in _DECLARERS:
                self.declarer = True
        elif self.declarer and text.startswith("-") and "i" in text:
            self.let = True
        self.command_words += 1
        self.last_word = text

    def _resolve(self, cond: _Frame) -> None:
        operands: set[int] = set()
        for index, word in enumerate(cond.words):
            if word in ARITHMETIC_TESTS:
                operands.update((index - 1, index + 1))
        for index, position in cond.pending:
            if index in operands and not position.arithmetic:
                position.arithmetic = "[[ -eq/-ne/-lt/-le/-gt/-ge ]]"

    def end_command(self) -> None:
        self.end_word()
        self.command_words = 0
        self.let = False
        self.declarer = False
        self.command_name = ""
        self.last_word = ""

    def name_context(self) -> str:
        """The command reading a value written here as a variable name, or ""."""
        word = "".join(self.word).strip("\"'")
        cond = self.cond()
        if cond is not None and self.stack[-1] is cond:
            if not word and cond.words and cond.words[-1] in _NAME_TESTS:
                return "[[ -v ]]"
            return ""
        if self.stack and self.stack[-1].kind != "cmdsub":
            return ""
        if self.command_words == 0 or "<" in word or ">" in word:
            return ""
        if _REDIRECT.fullmatch(self.last_word):
            return ""
        command = self.command_name
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

    def add_to_word(self, char: str) -> None:
        self.in_word = True
        self.word.append(char)

    # --- the scan ------------------------------------------------------------------

    def run(self) -> list[Position]:
        while self.i < len(self.items):
            item = self.items[self.i]
            if isinstance(item, Slot):
                self.slot()
            else:
                self.char(item)
            self.i += 1
        self.end_command()
        while self.stack:
            frame = self.stack.pop()
            if frame.kind == "cond":
                self._resolve(frame)
        return self.positions

    def slot(self) -> None:
        position = Position(self.state, self.arithmetic())
        if not position.arithmetic and self.state not in (HEREDOC, HEREDOC_LITERAL, COMMENT):
            position.name = self.name_context()
        if self.state == HEREDOC_LITERAL and self.heredoc is not None:
            position.delimiter = self.heredoc.delimiter
        if self.state in (HEREDOC, HEREDOC_LITERAL):
            self.heredoc_line_slot = True
        elif self.state != COMMENT:
            self.in_word = True
            self.word_has_slot = True
            cond = self.cond()
            if cond is not None and self.stack[-1] is cond:
                cond.pending.append((len(cond.words), position))
        self.positions.append(position)
        self.previous = "x"  # a word character: neither a break nor "$"

    def char(self, char: str) -> None:
        state = self.state
        if state in (HEREDOC, HEREDOC_LITERAL):
            self.heredoc_char(char)
            return
        if self.previous == "\\" and state not in (SINGLE, COMMENT):
            self.previous = "\\" + char
            self.add_to_word(char)
            return
        if state == SINGLE:
            if char == "'":
                self.state = BARE
            self.add_to_word(char)
        elif state == COMMENT:
            if char == "\n":
                self.state = BARE
                self.newline()
        elif state == ANSI:
            if char == "'":
                self.state = BARE
            self.add_to_word(char)
        elif char == "\\":
            self.add_to_word(char)
        elif state == DOUBLE:
            if char == '"':
                self.state = BARE
                self.add_to_word(char)
            elif not self.expansion(char):
                self.add_to_word(char)
        else:
            self.bare(char)
        self.previous = char

    def bare(self, char: str) -> None:
        if char == '"':
            self.state = DOUBLE
            self.add_to_word(char)
        elif char == "'":
            self.state = ANSI if self.previous == "$" else SINGLE
            self.add_to_word(char)
        elif char == "#" and not self.in_word and not self.stack_is_param():
            self.state = COMMENT
        elif self.expansion(char):
            pass
        elif char == "<" and self.peek() == "<" and self.peek(2) != "<" and self.previous != "<":
            self.end_word()
            self.heredoc_operator()
            self.add_to_word("<")
        elif char == "(" and self.peek() == "(" and not self.in_word:
            self.end_word()
            self.stack.append(_Frame("arith"))
            self.i += 1
        elif char == "`":
            self.end_command()
        elif char in " \t":
            self.end_word()
        elif char in _SEPARATORS:
            if char == ")" and self.close_paren():
                return
            if char == "(" and self.stack and self.stack[-1].kind in ("arith", "cmdsub"):
                self.stack[-1].depth += 1
                return
            if self.cond() is not None and self.stack[-1].kind == "cond":
                self.end_word()  # ( ) && || inside [[ ]] only separate words
                return
            self.end_command()
            if char == "\n":
                self.newline()
        elif char == "[" and self.in_word and _NAME.fullmatch("".join(self.word)):
            self.add_to_word(char)
            self.stack.append(_Frame("subscript"))
        elif (
            char == "["
            and not self.in_word
            and self.peek() not in (" ", "\t", "\n", "[", None)
            and self.previous != "["
        ):
            # "([i]=v)" in an array assignment (or a glob: read as a subscript too)
            self.add_to_word(char)
            self.stack.append(_Frame("subscript"))
        elif self.stack and self.stack[-1].kind == _CLOSES.get(char):
            self.close_nested()
            self.add_to_word(char)
        else:
            self.param_char(char)
            self.add_to_word(char)

    def stack_is_param(self) -> bool:
        return bool(self.stack) and self.stack[-1].kind == "param"

    def expansion(self, char: str) -> bool:
        """Handle ``$((``, ``$[``, ``$(``, ``${`` and what closes frames in "..." too."""
        top = self.stack[-1] if self.stack else None
        if char == "$":
            following = self.peek()
            if following == "(" and self.peek(2) == "(":
                self.stack.append(_Frame("arith"))
                self.i += 2
            elif following == "[":
                self.stack.append(_Frame("subscript"))
                self.i += 1
            elif following == "(":
                self.stack.append(_Frame("cmdsub"))
                self.i += 1
                self.end_command_inside()
            elif following == "{":
                self.stack.append(_Frame("param"))
                self.i += 1
            else:
                return False
            self.in_word = True
            return True
        if top is None or self.state not in (DOUBLE, HEREDOC):
            return False
        if char == ")":
            return self.close_paren()
        if char == "(" and top.kind in ("arith", "cmdsub"):
            top.depth += 1
            return True
        if top.kind == _CLOSES.get(char):
            self.close_nested()
            return True
        if char == "[" and top.kind == "param" and top.mode == "name":
            self.stack.append(_Frame("subscript"))
            return True
        if top.kind == "param":
            self.param_char(char)
        return False

    def end_command_inside(self) -> None:
        # A command substitution starts a new command; the outer one goes on after it.
        self.saved.append(
            (self.command_words, self.let, self.declarer, self.command_name, self.last_word)
        )
        self.end_word()
        self.command_words = 0
        self.let = False
        self.declarer = False
        self.command_name = ""
        self.last_word = ""

    def param_char(self, char: str) -> None:
        if not self.stack or self.stack[-1].kind != "param":
            return
        frame = self.stack[-1]
        if char == "{":
            frame.depth += 1
        elif frame.mode == "name":
            if char == ":":
                following = self.peek()
                if isinstance(following, str) and following in "-=+?":
                    frame.mode = "word"
                else:
                    frame.mode = "arith"
            elif char == "[":
                self.stack.append(_Frame("subscript"))
            elif char not in _PARAM_NAME_CHARS and char not in _PARAM_SPECIALS:
                frame.mode = "word"

    def close_paren(self) -> bool:
        if not self.stack:
            return False
        top = self.stack[-1]
        if top.kind == "arith":
            if top.depth > 0:
                top.depth -= 1
            else:
                self.stack.pop()
                if self.peek() == ")":
                    self.i += 1
            return True
        if top.kind == "cmdsub":
            if top.depth > 0:
                top.depth -= 1
            else:
                self.stack.pop()
                self.end_word()
                saved = self.saved.pop() if self.saved else (1, False, False, "", "")
                (
                    self.command_words,
                    self.let,
                    self.declarer,
                    self.command_name,
                    self.last_word,
                ) = saved
                self.in_word = True
            return True
        return False

    def close_nested(self) -> None:
        """At a closing ``]`` or ``}``: leave one nesting level, or the context itself."""
        top = self.stack[-1]
        if top.depth > 0:
            top.depth -= 1
        else:
            self.stack.pop()

    # --- here-documents ------------------------------------------------------------

    def heredoc_operator(self) -> None:
        """At ``<<``: read the delimiter word that follows (it is lexed as usual too)."""
        j = self.i + 2
        strip = False
        if j < len(self.items) and self.items[j] == "-":
            strip = True
            j += 1
        while j < len(self.items) and self.items[j] in (" ", "\t"):
            j += 1
        text: list[str] = []
        literal = False
        while j < len(self.items):
            item = self.items[j]
            if isinstance(item, Slot) or item in _WORD_BREAKS:
                break
            if item in "'\"\\":
                literal = True
            else:
                text.append(item)
            j += 1
        if text:
            self.heredocs.append(_Heredoc("".join(text), strip, literal))

    def newline(self) -> None:
        if self.heredocs and self.state == BARE:
            self.start_heredoc()

    def start_heredoc(self) -> None:
        self.heredoc = self.heredocs.pop(0)
        self.state = HEREDOC_LITERAL if self.heredoc.literal else HEREDOC
        self.heredoc_line = []
        self.heredoc_line_slot = False
        self.heredoc_stack = len(self.stack)

    def heredoc_char(self, char: str) -> None:
        assert self.heredoc is not None
        if char == "\n":
            line = "".join(self.heredoc_line)
            if self.heredoc.strip_tabs:
                line = line.lstrip("\t")
            self.heredoc_line = []
            ended = line == self.heredoc.delimiter and not self.heredoc_line_slot
            self.heredoc_line_slot = False
            if ended:
                del self.stack[self.heredoc_stack :]
                self.heredoc = None
                self.state = BARE
                if self.heredocs:
                    self.start_heredoc()
            self.previous = char
            return
        self.heredoc_line.append(char)
        if self.state == HEREDOC:
            if self.previous == "\\":
                self.previous = "\\" + char
                return
            if char != "\\":
                self.expansion(char)
        self.previous = char


def positions(items: Sequence[str | Slot]) -> list[Position]:
    """Where each :data:`SLOT` in ``items`` lands, in order.

    Args:
        items: the command as single characters and :data:`SLOT` markers.
    """
    return _Lexer(items).run()


def split(pieces: Sequence[str | Slot]) -> list[str | Slot]:
    """``pieces`` (literal strings and slots) as single characters and slots."""
    items: list[str | Slot] = []
    for piece in pieces:
        if isinstance(piece, Slot):
            items.append(piece)
        else:
            items.extend(piece)
    return items
