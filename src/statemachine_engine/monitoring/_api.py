"""The HTTP API (JSON in, JSON out; errors are ``{"detail": ...}`` with a 4xx status)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse as _StarletteJSON
from starlette.responses import Response
from starlette.routing import Route

from .._input_rules import MAX_NAME_LENGTH, usable_machine_name, usable_name
from .._jsondata import MAX_BYTES, MAX_DEPTH, JSONDataError, decode, sanitize
from .._version import __version__
from ..config._due import due_time
from ..database._waits import machine_waits
from . import _stream as stream
from ._diagrams import DiagramNotFound, DiagramUnavailable, load_diagrams

if TYPE_CHECKING:
    from ._monitor import Monitor

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MACHINE_HISTORY = 100
MAX_ACTIVITY = 1000
CONTROL_SOURCE = "statemachine-ui"


class JSONResponse(_StarletteJSON):
    """A JSON answer that is always valid JSON.

    Values JSON cannot hold (NaN and infinities computed by actions, or in rows written
    by older versions) are answered as null rather than failing the request.
    """

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except (ValueError, RecursionError):
            return super().render(sanitize(content))


def monitor_of(request: Request) -> Monitor:
    monitor: Monitor = request.app.state.monitor
    return monitor


async def health(request: Request) -> Response:
    return JSONResponse(monitor_of(request).describe())


async def config(request: Request) -> Response:
    monitor = monitor_of(request)
    return JSONResponse(
        {
            "control": monitor.settings.allow_control,
            "version": __version__,
            "websocket": monitor.settings.websocket,
            "source": monitor.source,
            "system": monitor.settings.system is not None,
        }
    )


async def machines(request: Request) -> Response:
    return JSONResponse(monitor_of(request).machines())


async def machine(request: Request) -> Response:
    monitor = monitor_of(request)
    name = request.path_params["name"]
    info = monitor.machine(name)
    record = await monitor.store.load_machine(name)
    if info is None and record is None:
        raise HTTPException(404, f"no machine named {name!r}")
    if info is None:
        await monitor.refresh_machines()
        info = monitor.machine(name) or {"name": name}
    # One more than is shown: whether older transitions are left out.
    history = await monitor.store.transition_history(name, limit=MACHINE_HISTORY + 1)
    delayed = await monitor.store.delayed_events(target=name, limit=MAX_LIMIT)
    waits = machine_waits([record] if record else [], delayed).get(name, [])
    return JSONResponse(
        {
            **info,
            "waiting_for": [wait.as_dict() for wait in waits],
            "history": [
                {
                    "from_state": entry.from_state,
                    "to_state": entry.to_state,
                    "event": entry.event,
                    "timestamp": entry.at,
                    "job_id": entry.job_id,
                }
                for entry in history[:MACHINE_HISTORY]
            ],
            "history_more": len(history) > MACHINE_HISTORY,
            "context": dict(record.context) if record else {},
        }
    )


async def machine_log(request: Request) -> Response:
    """The log of a machine of the system the server runs for: its last ``limit`` lines,
    or with ``cursor`` (from the last answer) the lines written since. Read-only; only
    the system's own log files."""
    system = monitor_of(request).settings.system
    name = request.path_params["name"]
    if system is None:
        raise HTTPException(
            404, "this server runs for no system (statemachine-ui --manifest FILE): no logs"
        )
    cursor = request.query_params.get("cursor")
    try:
        log = await asyncio.to_thread(system.log, name, lines=_limit(request), cursor=cursor)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    if log is None:
        raise HTTPException(404, f"no log of a machine {name!r} of this system")
    return JSONResponse(log)


async def queues(request: Request) -> Response:
    """Job types with pending jobs that no running machine claims."""
    from ._queues import unserved

    snapshot = await monitor_of(request).metrics.snapshot()
    return JSONResponse({"unserved": unserved(snapshot)})


async def retry_job(request: Request) -> Response:
    return await _change_job(request, "retry")


async def cancel_job(request: Request) -> Response:
    return await _change_job(request, "cancel")


async def _change_job(request: Request, verb: str) -> Response:
    monitor = _controlled(request)
    job_id = request.path_params["job_id"]
    if await monitor.store.get_job(job_id) is None:
        raise HTTPException(404, f"no job {job_id!r}")
    changed = await (
        monitor.store.retry_job(job_id) if verb == "retry" else monitor.store.cancel_job(job_id)
    )
    return JSONResponse({"ok": changed})


async def events(request: Request) -> Response:
    """The newest events, or with ``after_id`` the recorded ones after that id (from the
    store, oldest first: how a polling page follows the stream)."""
    monitor = monitor_of(request)
    machine = request.query_params.get("machine") or None
    limit = _limit(request)
    after = request.query_params.get("after_id")
    if after is None:
        return JSONResponse(await monitor.events(limit, machine=machine))
    if not after.isdigit():
        raise HTTPException(400, f"after_id must be a whole number, not {after!r}")
    records = await monitor.store.list_realtime(after_id=int(after), machine=machine, limit=limit)
    return JSONResponse([stream.from_record(record) for record in records])


async def activity(request: Request) -> Response:
    """The activity log read back from the store, newest first, before ``before_id``:
    of a ``machine`` or a ``template``'s instances, at the ``level`` (comma-separated)
    given, holding ``text``; ``before`` in the answer is where older entries go on."""
    from ._activity import LEVELS, older

    query = request.query_params
    before = query.get("before_id")
    if before is not None and not before.isdigit():
        raise HTTPException(400, f"before_id must be a whole number, not {before!r}")
    levels = frozenset(filter(None, (query.get("level") or "").split(","))) or None
    if levels is not None and not levels <= LEVELS:
        unknown = ", ".join(sorted(levels - LEVELS))
        raise HTTPException(400, f"unknown level {unknown}; one of {', '.join(sorted(LEVELS))}")
    limit = _limit(request)
    if limit > MAX_ACTIVITY:
        raise HTTPException(400, f"limit must be between 1 and {MAX_ACTIVITY}")
    return JSONResponse(
        await older(
            monitor_of(request).store,
            before_id=None if before is None else int(before),
            limit=limit,
            machine=query.get("machine") or None,
            template=query.get("template") or None,
            levels=levels,
            text=(query.get("text") or "")[:MAX_NAME_LENGTH] or None,
        )
    )


async def send_event(request: Request) -> Response:
    """Commit an event to a machine's inbox; ``warning`` says when no machine of that
    name has ever run against this store (the event is kept for when one starts)."""
    from ..database._delivery import deliver, unseen_machine_warning

    monitor = _controlled(request)
    body = await _json_body(request)
    target = _named("the machine's name", request.path_params["name"], usable_machine_name)
    event_type = _named('"type"', body.get("type"))
    payload = body.get("payload")
    if payload is not None and not isinstance(payload, dict):
        raise HTTPException(400, '"payload" must be a JSON object')
    try:
        due_at = due_time(delay=body.get("delay"), at=body.get("at"), now=time.time())
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    event_id = await deliver(
        monitor.store, target, event_type, payload, due_at=due_at, source=CONTROL_SOURCE
    )
    warning = await unseen_machine_warning(monitor.store, target)
    return JSONResponse({"ok": True, "id": event_id, "due_at": due_at, "warning": warning})


async def diagrams(request: Request) -> Response:
    monitor = monitor_of(request)
    stem = request.path_params["config"]
    try:
        found = await asyncio.to_thread(
            load_diagrams,
            stem,
            monitor.settings.project_root,
            monitor.registry.config_path(stem),
        )
    except DiagramNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except DiagramUnavailable as exc:
        raise HTTPException(422, str(exc)) from exc
    return JSONResponse(found)


def _named(what: str, value: object, rule: Callable[[object], str] = usable_name) -> str:
    """``value`` if it is a usable name by ``rule`` (which every door applies); 400
    otherwise."""
    try:
        return rule(value)
    except ValueError as exc:
        raise HTTPException(400, f"{what} {exc}") from None


def _controlled(request: Request) -> Monitor:
    monitor = monitor_of(request)
    if not monitor.settings.allow_control:
        raise HTTPException(403, "control is off: start the server with --allow-control")
    return monitor


def _limit(request: Request) -> int:
    text = request.query_params.get("limit")
    if text is None:
        return DEFAULT_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise HTTPException(400, f"limit must be a whole number, not {text!r}") from None
    if not 0 < value <= MAX_LIMIT:
        raise HTTPException(400, f"limit must be between 1 and {MAX_LIMIT}")
    return value


async def _json_body(request: Request) -> dict[str, Any]:
    """The request's body: a JSON object within the bounds of every JSON the engine takes
    in (:mod:`.._jsondata`; :data:`MAX_BYTES` of text, so an event's payload may be as
    large as one ``statemachine-db send-event --payload-file`` sends). 413 beyond.

    The body is read into one buffer that grows in place (``bytes`` joined chunk by chunk
    would copy all that came before at every chunk) and decoded straight from it.
    """
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "send the body as application/json")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BYTES:
        raise _too_large()
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BYTES:
            raise _too_large()
    try:
        body = decode(data, what="the body", max_depth=MAX_DEPTH + 1)  # + the envelope
    except JSONDataError as exc:
        raise HTTPException(400, str(exc)) from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return body


def _too_large() -> HTTPException:
    return HTTPException(
        413, f"the body is larger than {MAX_BYTES} bytes ({MAX_BYTES >> 20} MiB), the limit"
    )


ROUTES = [
    Route("/health", health),
    Route("/api/config", config),
    Route("/api/machines", machines),
    Route("/api/machines/{name}", machine),
    Route("/api/machines/{name}/events", send_event, methods=["POST"]),
    Route("/api/machines/{name}/log", machine_log),
    Route("/api/queues", queues),
    Route("/api/jobs/{job_id}/retry", retry_job, methods=["POST"]),
    Route("/api/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
    Route("/api/events", events),
    Route("/api/activity", activity),
    Route("/api/diagrams/{config}", diagrams),
]
