"""asyncio and dataclasses without ``ssl``, ``subprocess`` and ``inspect`` until used.

``import asyncio`` imports ``ssl``, and with it OpenSSL's libcrypto and libssl: about a
fifth of an idle machine process's memory and of its start-up, for TLS that a machine
talking to SQLite and Unix sockets never uses. It also imports ``subprocess`` (with
``_posixsubprocess``, ``fcntl`` and, before 3.12, ``locale``), which a machine needs only
once an action starts a process, and ``inspect`` (with ``ast``, ``dis`` and ``opcode``),
which asyncio uses to describe callbacks in debug mode and to tell a coroutine function
from others, and ``dataclasses`` to describe a class that has no docstring (3.12 and
later: to read any dataclass's annotations). :func:`import_asyncio` imports both with
these held back, then gives the modules that took them a stand-in that imports the
real module on first use and puts it in their place. So TLS keeps working wherever it
is used (``ssl=True``, an ``SSLContext``, ``start_tls``), and so do asyncio's
subprocesses and whatever asks ``inspect``; they just cost nothing until then.

What asyncio asks of them without a connection or a process is answered without
importing them: whether a socket is an ``ssl.SSLSocket`` (no socket can be one while no
one has imported ``ssl``), and ``subprocess.PIPE``, ``STDOUT`` and ``DEVNULL``, which
asyncio reads as it is imported (default arguments, ``asyncio.subprocess``'s own names).
"""

from __future__ import annotations

import sys
import types

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The Pythons whose asyncio and dataclasses were read for this: elsewhere they are
#: imported as they are.
_CHECKED = ((3, 10), (3, 11), (3, 12), (3, 13))
#: The modules imported with stand-ins for what they use only later.
_LEAN = ("asyncio", "dataclasses")


class _NoSSLSocket:
    """What ``ssl.SSLSocket`` is while ``ssl`` is not imported: nothing is one."""


class _Deferred(types.ModuleType):
    """Stands for a module in the modules that imported it until something uses it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_load(self.__name__), name)


class _DeferredSSL(_Deferred):
    def __getattr__(self, name: str) -> Any:
        if name == "SSLSocket" and "ssl" not in sys.modules:
            return _NoSSLSocket
        return super().__getattr__(name)


class _DeferredSubprocess(_Deferred):
    # The documented values (the same since Python 3.3; a test compares them with the
    # real module's), read by asyncio as it is imported.
    PIPE = -1
    STDOUT = -2
    DEVNULL = -3


class _DeferredInspect(_Deferred):
    @staticmethod
    def iscoroutinefunction(obj: object) -> bool:
        """``inspect.iscoroutinefunction``, answered without ``inspect`` for a plain
        function (what asyncio asks of every signal handler and executor job)."""
        if (
            type(obj) is types.FunctionType
            and "inspect" not in sys.modules
            and "_is_coroutine_marker" not in vars(obj)  # 3.12's markcoroutinefunction
        ):
            return bool(obj.__code__.co_flags & _CO_COROUTINE)
        return bool(_load("inspect").iscoroutinefunction(obj))


#: ``inspect.CO_COROUTINE``: a code object's flag of an ``async def`` (the same since 3.5).
_CO_COROUTINE = 0x80


def _load(name: str) -> types.ModuleType:
    """The real module ``name``, imported now if need be and put in place of its stand-in
    wherever a module holds one."""
    if isinstance(sys.modules.get(name), _Deferred):
        del sys.modules[name]  # asked for while the lean modules are still being imported
    module = __import__(name)
    for holder in list(sys.modules.values()):
        # Its namespace, not getattr: a module's own __getattr__ may do anything.
        namespace = getattr(holder, "__dict__", None)
        if namespace is not None and isinstance(namespace.get(name), _Deferred):
            namespace[name] = module
    sslproto = sys.modules.get("asyncio.sslproto")
    if name == "ssl" and sslproto is not None:
        # What sslproto computes at import when it has ssl (3.11+; unused by 3.10).
        sslproto.SSLAgainErrors = (module.SSLWantReadError, module.SSLSyscallError)  # type: ignore[attr-defined]
    return module


def import_asyncio() -> None:
    """Import asyncio and dataclasses, deferring ``ssl``, ``subprocess`` and ``inspect``
    until they are used; no-op once they are loaded.

    Where asyncio or dataclasses is already imported (by the program embedding us, say),
    nothing changes for it: it is the first importer's; nor for a deferred module already
    imported. Nor on a Python whose modules were not read for this (:data:`_CHECKED`).
    """
    if sys.version_info[:2] not in _CHECKED or all(name in sys.modules for name in _LEAN):
        import asyncio
        import dataclasses

        return
    defer_ssl = "ssl" not in sys.modules and "asyncio" not in sys.modules
    stand_ins = {
        name: kind(name, "Imported on first use.")
        for name, kind in (("subprocess", _DeferredSubprocess), ("inspect", _DeferredInspect))
        if name not in sys.modules
    }
    if defer_ssl:
        sys.modules["ssl"] = None  # type: ignore[assignment]  # asyncio then takes ssl as absent
    sys.modules.update(stand_ins)
    try:
        import asyncio  # noqa: F401
        import dataclasses  # noqa: F401
    finally:
        if defer_ssl and sys.modules.get("ssl", False) is None:
            del sys.modules["ssl"]
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]  # the modules that took it keep it; others get the real one
    if defer_ssl:
        deferred = _DeferredSSL("ssl", "Imported on first use.")
        for name, module in list(sys.modules.items()):
            in_asyncio = name == "asyncio" or name.startswith("asyncio.")
            if in_asyncio and getattr(module, "ssl", False) is None:  # it took ssl as absent
                module.ssl = deferred  # type: ignore[attr-defined]
