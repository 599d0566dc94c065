"""Guards: the ``if:`` expressions of transitions, in Common Expression Language.

A guard is compiled once, when its config loads, by cel-python (imported only then:
a config without guards never loads it). Compiling checks more than the syntax: every
function must be one CEL defines, and no name may reach for Python's internals
(``__class__``, ``__import__``): CEL cannot run code, but a name with dunders is
always a mistake or a probe, so it is refused before anything runs.

Evaluating is pure: the expression reads the top-level context keys it names,
converted to CEL values, and yields true or false. Anything else (a key that is not
set, a comparison of a string with a number, a result that is not a boolean) is a
:class:`GuardError`, which the engine reports and counts as "does not hold".
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import GuardError

if TYPE_CHECKING:
    from lark import Tree

__all__ = ["MAX_GUARD_LENGTH", "Guard", "GuardError", "compile_guard"]

#: Longer expressions are refused: a guard is a condition, not a program, and a bound
#: keeps the parser's and the evaluator's recursion shallow.
MAX_GUARD_LENGTH = 1000

#: CEL's macros, which bind a variable (``items.exists(x, x > 1)``) or test presence.
_MACROS = frozenset({"has", "all", "exists", "exists_one", "map", "filter"})
_BINDING_MACROS = _MACROS - {"has"}
#: Conversions and helpers every CEL implementation has, besides cel-python's table.
_STANDARD_FUNCTIONS = frozenset({"dyn"})


class Guard:
    """A compiled ``if:`` expression.

    Attributes:
        text: the expression as written.
        names: the top-level names it reads (the context keys it depends on).
    """

    __slots__ = ("_program", "names", "text")

    def __init__(self, text: str, names: frozenset[str], program: Any) -> None:
        self.text = text
        self.names = names
        self._program = program

    def holds(self, values: Mapping[str, Any]) -> bool:
        """Whether the guard is true over ``values`` (the context, with the event).

        Raises:
            GuardError: a name it reads is not set, or it cannot be evaluated.
        """
        from celpy import celtypes
        from celpy.adapter import json_to_cel
        from celpy.evaluation import CELEvalError

        missing = sorted(name for name in self.names if name not in values)
        if missing:
            raise GuardError(f"{', '.join(missing)} {_is_or_are(missing)} not set")
        try:
            activation = {name: json_to_cel(values[name]) for name in self.names}
            result = self._program.evaluate(activation)
        except CELEvalError as exc:
            raise GuardError(_eval_message(exc)) from exc
        except (RecursionError, ValueError, TypeError, ArithmeticError) as exc:
            raise GuardError(str(exc) or type(exc).__name__) from exc
        if isinstance(result, CELEvalError):
            raise GuardError(_eval_message(result))
        if not isinstance(result, celtypes.BoolType):
            raise GuardError(f"it gave {_cel_text(result)}, not true or false")
        return bool(result)

    def __repr__(self) -> str:
        return f"Guard({self.text!r})"


_compiled: dict[str, Guard] = {}
_lock = threading.Lock()


def compile_guard(text: str) -> Guard:
    """The compiled guard for ``text`` (compiled once per process).

    Raises:
        GuardError: a syntax error, an unknown function, a name reaching for Python
            internals, or an expression longer than :data:`MAX_GUARD_LENGTH`.
    """
    guard = _compiled.get(text)
    if guard is None:
        with _lock:  # celpy builds its parser on first use; once is enough
            guard = _compiled.get(text)
            if guard is None:
                guard = _compiled[text] = _compile(text)
    return guard


def _compile(text: str) -> Guard:
    if not text.strip():
        raise GuardError("the expression is empty")
    if len(text) > MAX_GUARD_LENGTH:
        raise GuardError(f"the expression is longer than {MAX_GUARD_LENGTH} characters")
    import celpy
    from celpy.celparser import CELParseError

    environment = celpy.Environment()
    try:
        tree = environment.compile(text)
    except CELParseError as exc:
        raise GuardError(_parse_message(text, exc)) from exc
    except RecursionError as exc:
        raise GuardError("the expression is nested too deeply") from exc
    names = _check(tree)
    return Guard(text, names, environment.program(tree))


def _check(tree: Tree[Any]) -> frozenset[str]:
    """The top-level names ``tree`` reads, after refusing unknown functions and dunders."""
    from celpy.evaluation import base_functions

    known = {name for name in base_functions if name.isidentifier() and name[0] != "_"}
    known |= _MACROS | _STANDARD_FUNCTIONS
    names: set[str] = set()
    bound: set[str] = set()
    for node in tree.iter_subtrees():
        kind = node.data
        if kind == "ident":
            names.add(str(node.children[0]))
        elif kind == "ident_arg":  # f(x)
            _known_function(str(node.children[0]), known)
        elif kind == "member_dot_arg":  # x.f(y)
            method = str(node.children[1])
            _known_function(method, known)
            if method in _BINDING_MACROS:
                bound.update(_bound_variable(node.children[2]))
        elif kind == "member_dot":  # x.field
            _plain_name(str(node.children[1]))
    for name in names:
        _plain_name(name)
    return frozenset(names - bound)


def _known_function(name: str, known: set[str]) -> None:
    _plain_name(name)
    if name not in known:
        listed = ", ".join(sorted(known - {"null_type"}))
        raise GuardError(f"unknown function {name}(); CEL provides: {listed}")


def _plain_name(name: str) -> None:
    if name.startswith("_") and "__" in name:
        raise GuardError(f"{name!r} is not allowed: a guard reads the context, not Python")


def _bound_variable(arguments: Any) -> Iterator[str]:
    """The variable a macro binds: its first argument, when that is a bare name."""
    first = arguments.children[0] if getattr(arguments, "children", None) else None
    while first is not None and getattr(first, "children", None):
        if first.data == "ident":
            yield str(first.children[0])
            return
        if len(first.children) != 1:
            return
        first = first.children[0]


def _parse_message(text: str, exc: Exception) -> str:
    column = getattr(exc, "column", None)
    if not isinstance(column, int) or "\n" in text:
        return f"syntax error in {text!r}"
    near = text[column - 1 : column + 9]
    return f"syntax error at character {column} of {text!r} (near {near!r})"


def _eval_message(error: Any) -> str:
    args = getattr(error, "args", ())
    text = str(args[0]) if args else str(error)
    if text.startswith("found no matching overload"):
        return "the values' types do not fit the operator (e.g. a string compared with a number)"
    return text.split(" (in activation", 1)[0]


def _cel_text(value: Any) -> str:
    """A CEL value as a user wrote it: ``2``, ``"a"``, not ``IntType(2)``."""
    import json

    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _is_or_are(items: list[str]) -> str:
    return "is" if len(items) == 1 else "are"
