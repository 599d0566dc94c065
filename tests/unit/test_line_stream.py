"""Log lines held together while many machines' notices are told: written in one write
at the end, in order, and at once outside."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from statemachine_engine._logs import LineStream, TextFormatter, lines_together


class Writes:
    """A stream that keeps each write it gets."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def flush(self) -> None:
        pass


@pytest.fixture
def stream() -> Iterator[tuple[logging.Logger, Writes]]:
    writes = Writes()
    handler = LineStream(writes)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test_line_stream")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    saved = list(lines_together.handlers)
    lines_together.handlers[:] = [handler]
    yield logger, writes
    lines_together.handlers[:] = saved
    logger.handlers.clear()


def test_a_line_goes_out_at_once(stream: tuple[logging.Logger, Writes]) -> None:
    logger, writes = stream
    logger.info("one")
    assert writes.writes == ["one\n"]
    logger.warning("two")
    assert writes.writes == ["one\n", "two\n"]


def test_lines_held_together_go_out_in_one_write_in_order(
    stream: tuple[logging.Logger, Writes],
) -> None:
    logger, writes = stream
    with lines_together:
        for n in range(3):
            logger.info("line %d", n)
        logger.error("an error")
        assert writes.writes == []
    assert writes.writes == ["line 0\nline 1\nline 2\nan error\n"]
    logger.info("after")
    assert writes.writes[-1] == "after\n"


def test_nested_holds_write_at_the_outermost_end(stream: tuple[logging.Logger, Writes]) -> None:
    logger, writes = stream
    with lines_together:
        logger.info("a")
        with lines_together:
            logger.info("b")
        assert writes.writes == []
    assert writes.writes == ["a\nb\n"]


def test_lines_held_when_something_raises_are_still_written(
    stream: tuple[logging.Logger, Writes],
) -> None:
    logger, writes = stream

    def fail() -> None:
        with lines_together:
            logger.info("before the failure")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert writes.writes == ["before the failure\n"]


def test_nothing_held_writes_nothing(stream: tuple[logging.Logger, Writes]) -> None:
    _, writes = stream
    with lines_together:
        pass
    assert writes.writes == []


def test_the_text_format_is_kept() -> None:
    writes = Writes()
    handler = LineStream(writes)
    handler.setFormatter(TextFormatter())
    record = logging.makeLogRecord({"msg": "[m] READY", "levelno": 20, "levelname": "INFO"})
    handler.hold_lines()
    handler.handle(record)
    handler.write_held()
    [text] = writes.writes
    assert text.endswith(" INFO    [m] READY\n")
