"""The monitoring server: one ASGI process streaming what machines do to browsers.

Its parts, one job each::

    settings.py          ServerSettings: host, port, store, token, control...
    options.py           the command-line options of both server commands -> ServerSettings
    stream.py            realtime events: datagram / stored row -> the event object clients see
    machines.py          MachineRegistry: the machine list, kept current by events (pure)
    recent.py            RecentEvents: the last events, replayed from the store at start-up
    fanout.py            Hub and ClientQueue: bounded per-client queues, drop-oldest
    store_feed.py        StoreFeed: live events from the store (every host, PostgreSQL)
    monitor.py           Monitor: wires store, live source, registry, recent events and hub
    security.py          loopback/host checks, token, same-origin WebSocket, control gate
    diagrams.py          /api/diagrams: files under docs/fsm-diagrams, else built on the fly
    api.py               HTTP routes
    websocket.py         the ``/ws/events`` endpoint
    openapi.py           the OpenAPI description
    app.py               create_app(): the Starlette application
    server.py            serve(): binds the sockets and runs uvicorn
    websocket_server.py  ``python -m statemachine_engine.monitoring.websocket_server``

Nothing here is imported by machine code paths: Starlette and uvicorn load only in the
server process.
"""
