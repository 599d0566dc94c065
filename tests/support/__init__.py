"""Helpers the test tiers share; each module holds one concept.

``recorder``
    :class:`~tests.support.recorder.Recorder`, an observer of one in-process machine, and
    :class:`~tests.support.recorder.LogWatcher`, a handler for the engine's structured logs.
``engines``
    :class:`~tests.support.engines.Machines`: engines built from YAML text in this process.
``processes``
    :class:`~tests.support.processes.MachineProcess`: a ``statemachine`` subprocess whose
    output is read with deadlines; the control socket; one-shot CLI runs.
``pids``
    Whether a process has ended (pidfds, never a sleep) and what ``/proc`` says of it.
``fifo``
    :class:`~tests.support.fifo.Fifo`: a named pipe a shell command reports through.
``files``
    Writing configs and action modules; file modes; SQL straight on a SQLite file.
``fixtures``
    The pytest fixtures over all of the above (registered by ``tests/conftest.py``).
"""
