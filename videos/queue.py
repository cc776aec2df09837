"""Putting work on the django-q2 queue: the one way the app queues a task.

Only after the current transaction commits, so a task never sees a rolled-back row. The
task bodies live in :mod:`videos.tasks`, which imports the modules they run; those
modules queue through here, so nothing imports the tasks module back.

A task that succeeds is not stored in django-q2's result table (``save=False``): what it
did is in the job's history, and storing it made django-q2 prune its table after every
task (19 % of a worker's time per job in ``bench/``). Failed tasks are still stored.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction


def enqueue(func: str, *args: Any) -> None:
    """Queue ``func(*args)`` (a dotted path, e.g. ``videos.tasks.submit_job``) once the transaction commits."""
    # django_q.tasks imports django-q2's models: it can only be imported once the app registry is ready.
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task(func, *args, group="sora-videos", save=False))
