"""videos.logfilters.RepeatFilter: a repeated error once per interval, with a count."""
from __future__ import annotations

import logging

from videos.logfilters import RepeatFilter


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def logger_with(filter_: RepeatFilter) -> tuple[logging.Logger, Collect]:
    logger = logging.getLogger(f"test.logfilters.{id(filter_)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = Collect()
    handler.addFilter(filter_)
    logger.addHandler(handler)
    return logger, handler


def test_identical_errors_pass_once_per_interval_then_say_how_many_were_held(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("videos.logfilters.time.monotonic", lambda: clock[0])
    logger, seen = logger_with(RepeatFilter(interval=60))
    for _ in range(120):  # two a second for a minute, as a cluster logs a Redis outage
        logger.error("Can not connect to Redis server.")
        clock[0] += 0.5
    logger.error("Can not connect to Redis server.")
    assert seen.lines == ["Can not connect to Redis server.",
                          "Can not connect to Redis server. (and 119 more like it in the last 60 s)"]


def test_different_errors_and_info_lines_are_never_held(monkeypatch):
    logger, seen = logger_with(RepeatFilter(interval=60))
    logger.error("could not queue %s", "a")
    logger.error("could not queue %s", "b")
    logger.info("job 1 stored")
    logger.info("job 1 stored")
    assert seen.lines == ["could not queue a", "could not queue b", "job 1 stored", "job 1 stored"]
