"""``GET /api/series``: the charts' time series (docs/ui.md, :mod:`._series`)."""

from __future__ import annotations

import math

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._api import JSONResponse, monitor_of
from ._metrics import MAX_LABEL


async def series(request: Request) -> Response:
    """The samples of the last ``window`` seconds (default: all kept), and the
    instances per state of ``config`` (default: the config with most instances now)."""
    recorder = monitor_of(request).series
    if recorder is None:
        raise HTTPException(404, "this server keeps no series")
    window = request.query_params.get("window")
    since = None
    if window is not None:
        try:
            seconds = float(window)
        except ValueError:
            seconds = math.nan
        if not math.isfinite(seconds) or seconds <= 0:
            raise HTTPException(400, f"window: a number of seconds above 0, not {window!r}")
        since = recorder.answer_time() - seconds
    config = request.query_params.get("config") or None
    if config is not None and len(config) > MAX_LABEL:
        raise HTTPException(400, f"config: at most {MAX_LABEL} characters")
    return JSONResponse(recorder.answer(since=since, config=config))


ROUTES = [Route("/api/series", series)]
