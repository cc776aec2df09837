"""A logging filter that says a repeated error once per interval, with how often it came.

While Redis is down, each django-q2 cluster logs the same connection error twice a second
and every queued task adds its own line; an operator needs the first line and a count.
Add it to a handler (the ready-to-run site does, in ``LOGGING``)::

    "filters": {"once": {"()": "videos.logfilters.RepeatFilter", "interval": 60}},
    "handlers": {"console": {..., "filters": ["once"]}},
"""
from __future__ import annotations

import logging
import threading
import time

#: Distinct messages remembered at once; the oldest are forgotten beyond this.
MAX_KEYS = 1000


class RepeatFilter(logging.Filter):
    """Pass a record unless an identical one (logger, level, text, exception) passed less than
    ``interval`` seconds ago; the next one that passes says how many were held back."""

    def __init__(self, interval: float = 60.0, level: int = logging.WARNING) -> None:
        super().__init__()
        self.interval = float(interval)
        self.level = level  # records below it (INFO, DEBUG) always pass: they are not errors repeating
        self._seen: dict[tuple, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return True
        error = record.exc_info[1] if record.exc_info else None
        key = (record.name, record.levelno, record.getMessage(), type(error).__name__, str(error))
        now = time.monotonic()
        with self._lock:
            first, held = self._seen.get(key, (None, 0))
            if first is not None and now - first < self.interval:
                self._seen[key] = (first, held + 1)
                return False
            self._seen[key] = (now, 0)
            if len(self._seen) > MAX_KEYS:
                for old in sorted(self._seen, key=lambda k: self._seen[k][0])[: MAX_KEYS // 10]:
                    del self._seen[old]
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {self.interval:g} s)"
        return True
