"""Connections to PostgreSQL, the store's and the listener's: how they are opened and
how a lost one is opened again.

Each is in autocommit mode and named after this process (``pg_stat_activity`` shows
``statemachine-engine[<pid>]``), with ``synchronous_commit`` from the settings
(``STATEMACHINE_PG_SYNC``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row

from ..errors import StoreError

logger = logging.getLogger("statemachine_engine.postgres")

#: After a lost connection, reconnecting waits this long at first, doubling up to the cap,
#: and gives up (a StoreError) after the timeout.
RECONNECT_FIRST_DELAY_SECONDS = 0.05
RECONNECT_MAX_DELAY_SECONDS = 2.0

AsyncConnection = psycopg.AsyncConnection[DictRow]


async def connect(conninfo: str, location: str, *, sync: str) -> AsyncConnection:
    """An autocommit connection named after this process (see ``pg_stat_activity``),
    committing with ``synchronous_commit = sync`` (checked by :class:`..settings.Settings`).
    """
    options: dict[str, Any] = {}
    if "application_name" not in conninfo_to_dict(conninfo):
        options["application_name"] = f"statemachine-engine[{os.getpid()}]"
    try:
        conn = await psycopg.AsyncConnection.connect(
            conninfo, autocommit=True, row_factory=dict_row, **options
        )
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect: {first_line(exc)}", location=location) from exc
    try:
        await conn.execute(f"SET synchronous_commit = {sync}")  # one of PG_SYNC_MODES
    except psycopg.Error as exc:
        await conn.close()
        raise StoreError(f"cannot connect: {first_line(exc)}", location=location) from exc
    return conn


_T = TypeVar("_T")


#: What :func:`reopen` logs for each connection: lost (with its cause), then back.
_REOPEN_LOGS = {
    "store": (
        "lost the connection to PostgreSQL at %s (%s); reconnecting",
        "reconnected to PostgreSQL at %s after %.2fs",
    ),
    "listener": (
        "lost the LISTEN connection to PostgreSQL at %s (%s); reconnecting",
        "listening to PostgreSQL at %s again after %.2fs",
    ),
}


async def reopen(
    open_: Callable[[], Awaitable[_T]],
    *,
    which: str,
    cause: BaseException,
    location: str,
    timeout: float | None,
) -> _T:
    """Open the lost connection ``which`` (``store`` or ``listener``) again with
    ``open_()``, waiting out a server that is restarting: with backoff between tries,
    giving up after ``timeout`` seconds (None: never). One warning says it was lost
    (``cause``), one line that it is back.

    Raises:
        StoreError: the last try's, once the timeout has passed.
    """
    lost, back = _REOPEN_LOGS[which]
    logger.warning(
        lost,
        location,
        first_line(cause),
        extra={"action": f"{which}_connection_lost", "location": location},
    )
    started = time.monotonic()
    delay = RECONNECT_FIRST_DELAY_SECONDS
    while True:
        try:
            opened = await open_()
        except StoreError as exc:
            if timeout is not None and time.monotonic() + delay > started + timeout:
                raise StoreError(
                    f"lost the connection and could not reconnect within {timeout:.0f}s: {exc}",
                    location=exc.location,
                ) from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_DELAY_SECONDS)
            continue
        logger.info(
            back,
            location,
            time.monotonic() - started,
            extra={"action": f"{which}_reconnected", "location": location},
        )
        return opened


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
