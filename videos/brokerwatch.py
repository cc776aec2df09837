"""Notice the broker coming back, so work saved during its outage moves within seconds.

While the broker is down, nothing is queued: jobs, webhook events and downloads wait as
rows, and the sweep finds them (:mod:`videos.pipeline`). But a running cluster queues its
next sweep only at the scheduler's next round (up to a minute). So each cluster worker
runs one small thread that asks the broker for a round trip every :data:`EVERY` seconds;
when an answer comes after a failure, it queues each provider's sweep at once. Only the
Redis broker is watched (a ``PING``): the ORM broker is the database itself, and the
others are not what this app is deployed with.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from django.db import connections

from . import queue

log = logging.getLogger(__name__)

#: Seconds between round trips to the broker.
EVERY = 2.0

_started = threading.Event()


def start(on_back: Callable[[], None]) -> bool:
    """Start this process's watcher (once); ``on_back`` runs after the broker answers again."""
    if not queue.uses_redis() or _started.is_set():
        return False
    _started.set()
    threading.Thread(target=_watch, args=(on_back,), name="sora-broker-watch", daemon=True).start()
    return True


def _watch(on_back: Callable[[], None]) -> None:
    from django_q.brokers import get_broker  # django-q2's modules need the app registry ready

    broker = get_broker()
    down = False
    while True:  # a daemon thread: it ends with its worker
        time.sleep(EVERY)
        try:
            broker.connection.ping()
        except Exception as exc:  # the broker's own errors
            if not down:
                log.warning("the broker cannot be reached (%s: %s); work is kept in the database meanwhile",
                            type(exc).__name__, exc)
            down = True
            continue
        if down:
            down = False
            log.warning("the broker answers again: queuing the sweeps for the work saved meanwhile")
            try:
                on_back()
            except Exception:
                log.exception("could not queue the sweeps after the broker came back")
            finally:
                connections.close_all()  # this thread's own database connections
