"""Read a bash command character by character to find where its slots land.

:func:`positions` follows the quoting state, the expansions and their nesting
(``$(( ))``, ``$( )``, ``${ }``, subscripts, ``[[ ]]``) and here-documents, and asks
:mod:`._shell_contexts` what each slot's place means. It is a lexer, not a parser: it
does not need the command to be valid.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ._shell_contexts import (
    Command,
    Frame,
    arithmetic_construct,
    close_condition,
    name_reader,
    open_condition,
)
from ._shell_syntax import (
    ANSI,
    BARE,
    COMMENT,
    DOUBLE,
    HEREDOC,
    HEREDOC_LITERAL,
    SINGLE,
    Position,
    Slot,
)

_SEPARATORS = frozenset(";&|\n()")
_WORD_BREAKS = frozenset(" \t\n;&|()<>")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_PARAM_SPECIALS = frozenset("@*#?$!-")
#: The frame each closing character ends.
_CLOSES = {"]": "subscript", "}": "param"}


def positions(items: Sequence[str | Slot]) -> list[Position]:
    """Where each :data:`._shell_syntax.SLOT` in ``items`` lands, in order.

    Args:
        items: the command as single characters and slots (:func:`._shell_syntax.split`).
    """
    return _Lexer(items).run()


@dataclass
class _Heredoc:
    """A here-document whose body is being read."""

    delimiter: str
    strip_tabs: bool
    literal: bool


class _Lexer:
    def __init__(self, items: Sequence[str | Slot]) -> None:
        self.items = items
        self.i = 0
        self.state = BARE
        self.stack: list[Frame] = []
        self.previous = ""
        self.word: list[str] = []
        self.in_word = False
        self.word_has_slot = False
        self.command = Command()
        # The commands a command substitution interrupted, innermost last.
        self.outer_commands: list[Command] = []
        self.heredocs: list[_Heredoc] = []
        self.heredoc: _Heredoc | None = None
        self.heredoc_line: list[str] = []
        self.heredoc_line_slot = False
        self.heredoc_stack = 0
        self.positions: list[Position] = []

    # --- helpers -------------------------------------------------------------------

    def peek(self, offset: int = 1) -> str | Slot | None:
        index = self.i + offset
        return self.items[index] if index < len(self.items) else None

    def end_word(self) -> None:
        if not self.in_word:
            return
        text = "".join(self.word)
        self.in_word = False
        self.word = []
        has_slot, self.word_has_slot = self.word_has_slot, False
        condition = open_condition(self.stack)
        if condition is not None:
            if text == "]]" and not has_slot:
                self.stack.pop()
                close_condition(condition)
            else:
                condition.words.append(text)
        elif self.command.add(text):
            self.stack.append(Frame("cond"))

    def end_command(self) -> None:
        self.end_word()
        self.command = Command()

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
                close_condition(frame)
        return self.positions

    def slot(self) -> None:
        position = Position(self.state, arithmetic_construct(self.stack, self.command, self.state))
        if not position.arithmetic and self.state not in (HEREDOC, HEREDOC_LITERAL, COMMENT):
            word = "".join(self.word).strip("\"'")
            position.name = name_reader(self.stack, self.command, word)
        if self.state == HEREDOC_LITERAL and self.heredoc is not None:
            position.delimiter = self.heredoc.delimiter
        if self.state in (HEREDOC, HEREDOC_LITERAL):
            self.heredoc_line_slot = True
        elif self.state != COMMENT:
            self.in_word = True
            self.word_has_slot = True
            condition = open_condition(self.stack)
            if condition is not None:
                condition.pending.append((len(condition.words), position))
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
            self.stack.append(Frame("arith"))
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
            if open_condition(self.stack) is not None:
                self.end_word()  # ( ) && || inside [[ ]] only separate words
                return
            self.end_command()
            if char == "\n":
                self.newline()
        elif char == "[" and self.in_word and _NAME.fullmatch("".join(self.word)):
            self.add_to_word(char)
            self.stack.append(Frame("subscript"))
        elif (
            char == "["
            and not self.in_word
            and self.peek() not in (" ", "\t", "\n", "[", None)
            and self.previous != "["
        ):
            # "([i]=v)" in an array assignment (or a glob: read as a subscript too)
            self.add_to_word(char)
            self.stack.append(Frame("subscript"))
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
                self.stack.append(Frame("arith"))
                self.i += 2
            elif following == "[":
                self.stack.append(Frame("subscript"))
                self.i += 1
            elif following == "(":
                self.stack.append(Frame("cmdsub"))
                self.i += 1
                self.start_substitution()
            elif following == "{":
                self.stack.append(Frame("param"))
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
            self.stack.append(Frame("subscript"))
            return True
        if top.kind == "param":
            self.param_char(char)
        return False

    def start_substitution(self) -> None:
        # A command substitution starts a new command; the outer one goes on after it.
        self.outer_commands.append(dataclasses.replace(self.command))
        self.end_word()
        self.command = Command()

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
                self.stack.append(Frame("subscript"))
            elif char not in _NAME_CHARS and char not in _PARAM_SPECIALS:
                frame.mode = "word"

    def close_paren(self) -> bool:
        if not self.stack:
            return False
        top = self.stack[-1]
        if top.kind not in ("arith", "cmdsub"):
            return False
        if top.depth > 0:
            top.depth -= 1
            return True
        self.stack.pop()
        if top.kind == "arith":
            if self.peek() == ")":
                self.i += 1
            return True
        self.end_word()
        self.command = self.outer_commands.pop() if self.outer_commands else Command(words=1)
        self.in_word = True
        return True

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
