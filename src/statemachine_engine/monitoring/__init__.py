"""The monitoring server: one ASGI process streaming what machines do to browsers.

Its parts, one job each::

    _settings.py         ServerSettings: host, port, store, token, control...
    _options.py          the command-line options of both server commands -> ServerSettings
    _stream.py           realtime events: datagram / stored row -> the event object clients see
    _machines.py         MachineRegistry: the machine list, kept current by events (pure)
    _recent.py           RecentEvents: the last events, replayed from the store at start-up
    _fanout.py           Hub and ClientQueue: bounded per-client queues, drop-oldest
    _store_feed.py       StoreFeed: live events from the store (every host, PostgreSQL)
    _monitor.py          Monitor: wires store, live source, registry, recent events and hub
    _security.py         loopback/host checks, token, same-origin WebSocket, control gate
    _diagrams.py         /api/diagrams: files under docs/fsm-diagrams, else built on the fly
    _api.py              HTTP routes
    _websocket.py        the ``/ws/events`` endpoint
    _openapi.py          the OpenAPI description
    _app.py              create_app(): the Starlette application
    _server.py           serve(): binds the sockets and runs uvicorn
    websocket_server.py  ``python -m statemachine_engine.monitoring.websocket_server``

Nothing here is imported by machine code paths: Starlette and uvicorn load only in the
server process.
"""

__all__: list[str] = []
