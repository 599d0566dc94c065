"""A running command's lines as ``bash_output`` events: batched, bounded, rate-limited."""

from __future__ import annotations

import asyncio
from typing import Any

from statemachine_engine.actions.builtin import _output_events as output


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_lines_go_out_in_bounded_batches_a_few_times_a_second() -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    arrived = asyncio.Event()

    def emit(kind: str, payload: dict[str, Any]) -> None:
        sent.append((kind, payload))
        arrived.set()

    clock = Clock()
    events = output.OutputEvents(emit, "fetching", clock=clock)
    events.line("stdout", "first")  # nothing sent yet: goes out at once
    assert sent == [("bash_output", {"lines": [{"stream": "stdout", "text": "first"}],
                                     "skipped": 0, "state": "fetching"})]  # fmt: skip
    # Within the interval lines wait; past MAX_LINES they are only counted.
    for n in range(output.MAX_LINES + 7):
        events.line("stderr" if n % 2 else "stdout", "x" * (output.MAX_LINE_CHARS + 10))
    assert len(sent) == 1
    clock.now += output.INTERVAL_SECONDS
    events.line("stdout", "late")
    assert len(sent) == 2
    batch = sent[1][1]
    assert len(batch["lines"]) == output.MAX_LINES
    assert batch["skipped"] == 8
    assert {len(line["text"]) for line in batch["lines"]} == {output.MAX_LINE_CHARS}
    assert batch["lines"][1]["stream"] == "stderr"
    # A line left waiting is sent when the interval is over, without another line.
    clock.now += 0.1
    events.line("stdout", "alone")
    assert len(sent) == 2
    arrived.clear()
    await asyncio.wait_for(arrived.wait(), 5)  # the timer sends it
    assert [line["text"] for line in sent[2][1]["lines"]] == ["alone"]
    events.line("stdout", "at the end")
    events.close()
    assert [line["text"] for line in sent[3][1]["lines"]] == ["at the end"]
    events.close()
    assert len(sent) == 4
