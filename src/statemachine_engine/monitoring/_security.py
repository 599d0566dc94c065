"""Who may talk to the server: host names, the token, and same-origin browsers.

* Bound to loopback, the server answers only requests addressed to a loopback name
  (``Host: localhost:3001``), so a web page cannot reach it by DNS rebinding.
* With a token, every API and WebSocket request must carry it (``Authorization:
  Bearer T``, ``X-Statemachine-Token: T`` or ``?token=T``); the page and its static
  files are public (they hold no data) so a browser can load them.
* A browser may open the WebSocket, and POST, only from the server's own origin (or
  one given with ``--allow-origin``): another site's page cannot read the stream or
  send events through a visitor's browser.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ._settings import is_loopback

TOKEN_HEADER = "x-statemachine-token"  # noqa: S105 - a header name
#: Paths served without the token: the page and its assets hold no data.
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = frozenset({"/", "/index.html", "/favicon.ico"})
#: The WebSocket close code for a refused connection (uvicorn answers HTTP 403).
POLICY_VIOLATION = 1008


def host_name(host_header: str) -> str:
    """``localhost:3001`` -> ``localhost``; ``[::1]:3001`` -> ``::1``."""
    return urlsplit(f"//{host_header}").hostname or ""


def same_origin(origin: str, host_header: str, allowed: Iterable[str] = ()) -> bool:
    """Whether a browser's ``Origin`` is this server (as the ``Host`` header names it)."""
    if origin in allowed:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host_header.lower()


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


class Guard:
    """ASGI middleware applying the rules above to every HTTP and WebSocket request.

    Args:
        app: the application it protects.
        token: the required token (None: none required).
        loopback: the server is bound to loopback (check the Host header).
        allowed_origins: browser origins allowed besides the server's own.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        loopback: bool,
        allowed_origins: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.token = token
        self.loopback = loopback
        self.allowed_origins = frozenset(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": refusal[1]})
        else:
            await JSONResponse({"detail": refusal[1]}, status_code=refusal[0])(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """``(status, reason)`` when the request must be refused, else None."""
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        host = headers.get("host", "")
        if self.loopback and not is_loopback(host_name(host)):
            return 421, f"this server answers only on loopback names, not {host_name(host)!r}"
        origin = headers.get("origin")
        crossing = scope["type"] == "websocket" or scope.get("method") not in ("GET", "HEAD")
        if crossing and origin and not same_origin(origin, host, self.allowed_origins):
            return 403, f"cross-site request from {origin} refused"
        path: str = scope["path"]
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
        if self.token is None or public:
            return None
        if not token_matches(self.token, _given_token(scope, headers)):
            return 401, "missing or wrong token (give ?token= or the X-Statemachine-Token header)"
        return None


def _given_token(scope: Scope, headers: dict[str, str]) -> str | None:
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    if TOKEN_HEADER in headers:
        return headers[TOKEN_HEADER]
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("token")
    return values[0] if values else None
