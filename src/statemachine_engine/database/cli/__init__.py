"""``statemachine-db``: inspect and operate the store from a shell (:mod:`._main`).

A package of its own above the store: the command line (:mod:`._main`) and one module of
commands per noun, so that nothing in the store depends on its command line.
"""

from ._main import build_parser, main

__all__ = ["build_parser", "main"]
