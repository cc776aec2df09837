"""Putting work on the django-q2 queue: the one way the app queues a task.

Only after the current transaction commits, so a task never sees a rolled-back row. The
task bodies live in :mod:`videos.tasks`, which imports the modules they run; those
modules queue through here, so nothing imports the tasks module back.

A task that succeeds is not stored in django-q2's result table (``save=False``): what it
did is in the job's history, and storing it made django-q2 prune its table after every
task (19 % of a worker's time per job in ``bench/``). Failed tasks are still stored.
"""
from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from . import conf
from .models import Lease


def enqueue(func: str, *args: Any) -> None:
    """Queue ``func(*args)`` (a dotted path, e.g. ``videos.tasks.submit_job``) once the transaction commits."""
    # django_q.tasks imports django-q2's models: it can only be imported once the app registry is ready.
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task(func, *args, group="sora-videos", save=False))


def enqueue_once(name: str, func: str, *args: Any) -> bool:
    """:func:`enqueue` unless a task queued under ``name`` has not started yet; whether it queued.

    The task calls :func:`started` with the same name as it begins, so work that appears
    while it runs queues one successor; the mark lapses after ``SWEEP_LEASE`` seconds in
    case the task was lost. A burst of callers (one per job) thus queues one task, not many.
    """
    if not Lease.acquire(f"queued:{name}", uuid.uuid4().hex, float(conf.get("SWEEP_LEASE"))):
        return False
    enqueue(func, *args)
    return True


def started(*names: str) -> None:
    """The task queued under each of ``names`` has begun: a caller may queue the next one."""
    Lease.objects.filter(name__in=[f"queued:{name}" for name in names]).delete()
