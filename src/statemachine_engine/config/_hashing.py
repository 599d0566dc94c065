"""The short content hash a durable machine records of its config file."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import import_module
from typing import Any

#: Hex digits of sha256 kept by :func:`source_hash` (64 bits: plenty to notice a change).
SOURCE_HASH_LENGTH = 16


def source_hash(data: bytes) -> str:
    """The short hash of a config file's bytes that a durable machine records."""
    digest: str = _sha256()(data).hexdigest()
    return digest[:SOURCE_HASH_LENGTH]


@cache
def _sha256() -> Callable[[bytes], Any]:
    """sha256 from CPython's own implementation (``_sha2``; ``_sha256`` before 3.12),
    the same digest as :func:`hashlib.sha256` without loading OpenSSL's libcrypto,
    which hashlib does: 3 MB more for every machine whose config is parsed."""
    for name in ("_sha2", "_sha256"):
        try:
            return import_module(name).sha256  # type: ignore[no-any-return]
        except (ImportError, AttributeError):
            continue
    import hashlib  # a Python built without them

    return hashlib.sha256
