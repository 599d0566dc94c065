"""Actions: what machines do on entering a state. See :class:`BaseAction`."""

from .base import BaseAction

__all__ = ["BaseAction"]
