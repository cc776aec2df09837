"""Whether the django-q2 cluster this worker belongs to is stopping.

django-q2 stops a cluster by letting each worker finish its current task, without telling
the task. A tracking sweep works for up to ``SWEEP_DURATION`` seconds, so it asks here
between passes and hands over at once: a deploy's SIGTERM is answered in seconds, and
the next worker resumes from the database.

Workers are forked from django-q2's sentinel process, whose ``stop_event`` (a
multiprocessing Event, shared across the fork) the cluster sets on SIGTERM. Outside a
worker, or if django-q2 changes how it starts workers, there is no event and the sweep
simply runs its course.
"""
from __future__ import annotations

import functools
import gc
from typing import Any


def cluster_stopping() -> bool:
    event = _stop_event()
    try:
        return bool(event is not None and event.is_set())
    except (OSError, ValueError):  # the semaphore went away with the sentinel
        return True


def in_worker() -> bool:
    """Whether this process is a django-q2 cluster's worker (not a test, a shell or the CLI)."""
    return _stop_event() is not None


@functools.cache
def _stop_event() -> Any:
    """The sentinel's stop event inherited through the fork (looked up once per process)."""
    try:
        from django_q.cluster import Sentinel  # django-q2 is optional for the app's other modules
    except ImportError:
        return None
    for obj in gc.get_objects():
        # type(), not isinstance(): isinstance asks each object's __class__, and the openai
        # package's lazy module proxies answer that by importing and building a client
        # (seconds of CPU per worker, measured in bench/bench_tracking.py)
        if type(obj) is Sentinel:
            return getattr(obj, "stop_event", None)
    return None
