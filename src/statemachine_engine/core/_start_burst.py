"""Many machines starting at once, with Python's cyclic garbage collector held off.

Each machine a host starts leaves long-lived objects behind (its engine, stepper, inbox,
task). The collector runs a full pass whenever those have grown by a quarter since the
last one, so a host starting 10,000 machines traverses everything it holds again and
again: about 15 % of the start-up's CPU. While a burst of starts is under way the
collector waits. Once every machine of the burst is in its first state (or has ended),
what the burst left is frozen (``gc.freeze``: moved where no collection traverses it)
and the collector runs again for what comes after. Enabled as it was, the collector
would walk the burst's million objects three times over (once in each generation: a
second of CPU for 10,000 machines), and would find nothing: a start leaves no cyclic
garbage (none measured for 10,000 machines). Any it did leave would stay until the host
closes, which unfreezes them.
"""

from __future__ import annotations

import gc

#: Machines starting together before the collector is held off (fewer: no difference).
BURST = 64


class StartBurst:
    """Counts a host's machines that have not finished starting; holds the collector off
    while there are :data:`BURST` or more."""

    __slots__ = ("_froze", "_held", "_starting")

    def __init__(self) -> None:
        self._starting = 0
        self._held = False
        self._froze = False

    @property
    def holding(self) -> bool:
        """Whether the collector is held off by this burst."""
        return self._held

    def starting(self) -> None:
        """A machine begins to start."""
        self._starting += 1
        if self._starting >= BURST and not self._held and gc.isenabled():
            gc.disable()
            self._held = True

    def started(self) -> None:
        """A machine is in its first state, or ended before it got there."""
        self._starting -= 1
        if self._starting <= 0:
            self._starting = 0
            self.release()

    def release(self) -> None:
        """Let the collector run again, past what the burst left."""
        if self._held:
            self._held = False
            gc.freeze()
            self._froze = True
            gc.enable()

    def close(self) -> None:
        """The host closes: what its bursts left is collectable again."""
        self.release()
        if self._froze:
            self._froze = False
            gc.unfreeze()
