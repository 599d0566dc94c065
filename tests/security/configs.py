"""Configs the security tests share."""

from __future__ import annotations

#: A machine that handles `go` by logging a payload field, and ends on `quit`.
WORKER = """
    name: Worker
    initial_state: waiting
    events: [go, quit]
    transitions:
      - {from: waiting, to: working, event: go}
      - {from: working, to: waiting, event: continue}
      - {from: "*", to: stopped, event: quit}
    actions:
      working:
        - {type: log, message: "working on {event_data.payload.file}"}
    """
