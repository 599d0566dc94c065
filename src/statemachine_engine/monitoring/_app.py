"""The Starlette application: the API, the event stream and the UI's static files."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from importlib import resources
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import _api as api
from . import _explorer_api as explorer_api
from . import _exposition as exposition
from . import _openapi as openapi
from . import _series_api as series_api
from . import _websocket as websocket
from ._security import Guard

if TYPE_CHECKING:
    from ._monitor import Monitor

UI_PACKAGE = "statemachine_engine.ui"
#: zlib level of compressed answers: most of level 9's gain for a third of its time.
GZIP_LEVEL = 6
#: The page and its scripts come from this server only; Mermaid styles its SVG inline.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # the page URL may carry ?token=
    (b"x-frame-options", b"DENY"),
]


def create_app(monitor: Monitor) -> Starlette:
    """The ASGI application over a (not yet started) :class:`Monitor`.

    The application starts the monitor when it starts and stops it when it stops.
    """
    settings = monitor.settings
    routes: list[BaseRoute] = [Route("/health", api.health)]
    if settings.websocket:
        routes += websocket.ROUTES
    if settings.metrics and not settings.stream_only:
        routes.append(Route("/metrics", exposition.metrics))
    if not settings.stream_only:
        # The explorer's first: /api/jobs/bulk/retry is not a job named "bulk".
        routes += explorer_api.ROUTES + api.ROUTES + series_api.ROUTES + openapi.ROUTES
        routes += [
            Route("/", index),
            Mount("/static", StaticFiles(packages=[(UI_PACKAGE, "static")]), name="static"),
        ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await monitor.start()
        try:
            yield
        finally:
            await monitor.stop()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(
                Guard,
                token=settings.token,
                loopback=settings.loopback,
                allowed_origins=settings.allowed_origins,
            ),
            Middleware(SecurityHeaders),
            # Mermaid is 3.5 MB, 0.9 MB gzipped; the API's lists shrink as much.
            Middleware(GZipMiddleware, minimum_size=1024, compresslevel=GZIP_LEVEL),
        ],
        exception_handlers={HTTPException: _json_error},
    )
    app.state.monitor = monitor
    return app


async def index(request: Request) -> Response:
    page = resources.files(UI_PACKAGE) / "static" / "index.html"
    if not page.is_file():
        raise HTTPException(404, "the web UI is not installed (no ui/static/index.html)")
    return FileResponse(str(page), headers={"cache-control": "no-cache"})


async def _json_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


class SecurityHeaders:
    """Adds the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
