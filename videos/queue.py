"""Putting work on the django-q2 queue: the one way the app queues a task.

Only after the current transaction commits, so a task never sees a rolled-back row. The
task bodies live in :mod:`videos.tasks`, which imports the modules they run; those
modules queue through here, so nothing imports the tasks module back.

A task that succeeds is not stored in django-q2's result table (``save=False``): what it
did is in the job's history, and storing it made django-q2 prune its table after every
task (19 % of a worker's time per job in ``bench/``). Failed tasks are still stored.

The broker being down never fails the caller: every task queued here is also remembered
in the database (a pending job, a stored webhook event, a download without a heartbeat),
and the sweep finds such work without its task (:mod:`videos.pipeline`). A failed send is
logged and remembered for :data:`UNREACHABLE_FOR` seconds, so the surfaces can tell the
person who just queued work that the workers cannot be reached (:func:`unreachable`).
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any, Callable

from django.conf import settings
from django.db import transaction

from . import conf
from .models import Lease

log = logging.getLogger(__name__)

#: How long after a failed send this process says the workers cannot be reached (unless a send works).
UNREACHABLE_FOR = 60.0
_state = threading.local()


def enqueue(func: str, *args: Any, on_failure: Callable[[], None] | None = None) -> None:
    """Queue ``func(*args)`` (a dotted path, e.g. ``videos.tasks.submit_job``) once the transaction commits.

    If the broker cannot take it, the error is logged, ``on_failure`` runs, and the caller
    goes on: the database remembers the work (see the module's docstring).
    """
    # django_q.tasks imports django-q2's models: it can only be imported once the app registry is ready.
    from django_q.tasks import async_task

    def send() -> None:
        try:
            async_task(func, *args, group="sora-videos", save=False, broker=broker())
        except Exception as exc:  # the broker's own errors (redis, the ORM broker's database...)
            _state.failed_at = time.monotonic()
            log.warning("could not queue %s: the broker cannot be reached (%s: %s); the sweep will find the work "
                        "once it can", func, type(exc).__name__, exc)
            if on_failure is not None:
                on_failure()
        else:
            _state.failed_at = None

    transaction.on_commit(send)


_brokers: dict[tuple, Any] = {}


def broker() -> Any:
    """django-q2's broker for this process.

    ``get_broker()`` builds a new client on every call, and for Redis a new connection pool:
    a TCP connection to Redis per queued task and per look at the queue's length (about a
    sixth of a worker's time per job in ``bench/``). A Redis broker is made once per
    configuration and kept (redis-py's client is thread-safe and reconnects by itself); the
    ORM broker, whose connection is the calling thread's database connection, each time.
    """
    # django_q's modules import its models: only once the app registry is ready
    from django_q.brokers import get_broker
    from django_q.brokers.redis_broker import Redis
    from django_q.conf import Conf

    key = (Conf.CLUSTER_NAME, Conf.ORM, repr(Conf.REDIS), Conf.DJANGO_REDIS, Conf.BROKER_CLASS)
    made = _brokers.get(key)
    if made is None:
        made = get_broker()
        if isinstance(made, Redis):
            _brokers[key] = made
    return made


def unreachable() -> bool:
    """Whether this thread's last send to the broker failed, less than :data:`UNREACHABLE_FOR` s ago."""
    failed_at = getattr(_state, "failed_at", None)
    return failed_at is not None and time.monotonic() - failed_at < UNREACHABLE_FOR


def enqueue_once(name: str, func: str, *args: Any) -> bool:
    """:func:`enqueue` unless a task queued under ``name`` has not started yet; whether it queued.

    The task calls :func:`started` with the same name as it begins, so work that appears
    while it runs queues one successor; the mark lapses after ``SWEEP_LEASE`` seconds in
    case the task was lost. A burst of callers (one per job) thus queues one task, not many.
    """
    mark = f"queued:{name}"
    holder = uuid.uuid4().hex
    if not Lease.acquire(mark, holder, float(conf.get("SWEEP_LEASE"))):
        return False
    enqueue(func, *args, on_failure=lambda: Lease.release(mark, holder))  # not queued: the next caller tries
    return True


def started(*names: str) -> None:
    """The task queued under each of ``names`` has begun: a caller may queue the next one."""
    Lease.objects.filter(name__in=[f"queued:{name}" for name in names]).delete()


def uses_redis() -> bool:
    """Whether django-q2's broker is Redis (``redis`` or ``django_redis`` in ``Q_CLUSTER``), the one
    that can be down while the database is up."""
    cluster = getattr(settings, "Q_CLUSTER", {}) or {}
    return bool(cluster.get("redis") or cluster.get("django_redis"))


def broker_name() -> str:
    """The broker as logs and checks name it (a Redis URL without its password, or the database)."""
    cluster = getattr(settings, "Q_CLUSTER", {}) or {}
    if cluster.get("redis"):
        return conf.safe_url(cluster["redis"]) if isinstance(cluster["redis"], str) else "Redis"
    if cluster.get("django_redis"):
        return f"Redis (the cache {cluster['django_redis']!r})"
    return f"the database {cluster['orm']!r}" if cluster.get("orm") else "the configured broker"
