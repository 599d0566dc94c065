"""asyncio without ``ssl`` until a connection needs TLS.

``import asyncio`` imports ``ssl``, and with it OpenSSL's libcrypto and libssl: about a
fifth of an idle machine process's memory and of its start-up, for TLS that a machine
talking to SQLite and Unix sockets never uses. :func:`import_asyncio` imports asyncio
with ``ssl`` held back, then gives the three asyncio modules that use it a stand-in
that imports the real ``ssl`` on first use and puts it in their place. So TLS keeps
working wherever it is used (``ssl=True``, an ``SSLContext``, ``start_tls``), in
asyncio or in a library an action imports; it just costs nothing until then.

The one thing asyncio asks of ``ssl`` on every socket call, whether a socket is an
``SSLSocket``, is answered without importing it while no one has: no socket can be one.
"""

from __future__ import annotations

import sys
import types
from typing import Any

#: The Pythons whose asyncio was read for this: elsewhere asyncio is imported as it is.
_CHECKED = ((3, 10), (3, 11), (3, 12), (3, 13))


class _NoSSLSocket:
    """What ``ssl.SSLSocket`` is while ``ssl`` is not imported: nothing is one."""


class _DeferredSSL(types.ModuleType):
    """Stands for ``ssl`` in asyncio's modules until something uses it."""

    def __getattr__(self, name: str) -> Any:
        if name == "SSLSocket" and "ssl" not in sys.modules:
            return _NoSSLSocket
        import ssl

        _put_in_place(ssl)
        return getattr(ssl, name)


def _put_in_place(ssl: types.ModuleType) -> None:
    for module in _asyncio_modules():
        if isinstance(getattr(module, "ssl", None), _DeferredSSL):
            module.ssl = ssl  # type: ignore[attr-defined]
    sslproto = sys.modules.get("asyncio.sslproto")
    if sslproto is not None:
        # What sslproto computes at import when it has ssl (3.11+; unused by 3.10).
        sslproto.SSLAgainErrors = (ssl.SSLWantReadError, ssl.SSLSyscallError)  # type: ignore[attr-defined]


def import_asyncio() -> None:
    """Import asyncio, deferring ``ssl`` until TLS is used; no-op once asyncio is loaded.

    Where asyncio or ``ssl`` is already imported (by the program embedding us, say),
    nothing changes: it is the first importer's asyncio. Nor on a Python whose asyncio
    was not read for this (:data:`_CHECKED`).
    """
    if "asyncio" in sys.modules or "ssl" in sys.modules or sys.version_info[:2] not in _CHECKED:
        import asyncio

        return
    sys.modules["ssl"] = None  # type: ignore[assignment]  # asyncio then takes ssl as absent
    try:
        import asyncio  # noqa: F401
    finally:
        if sys.modules.get("ssl", False) is None:
            del sys.modules["ssl"]
    deferred = _DeferredSSL("ssl", "Imported on first use (statemachine_engine._tls).")
    for module in _asyncio_modules():
        if getattr(module, "ssl", False) is None:  # each module that took ssl as absent
            module.ssl = deferred  # type: ignore[attr-defined]


def _asyncio_modules() -> list[types.ModuleType]:
    return [
        module
        for name, module in list(sys.modules.items())
        if module is not None and (name == "asyncio" or name.startswith("asyncio."))
    ]
