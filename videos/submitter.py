"""Submissions enter the queue at the provider's pace, not all at once.

A new job does not queue a task of its own: it asks for the provider's *submitter*
(:func:`queue_submissions`). At most one submitter per provider waits in the queue
(:func:`~videos.queue.enqueue_once`) and one works (the ``submitter`` lease). It creates
the oldest pending jobs for about :data:`SLICE` seconds, ``SUBMIT_CONCURRENCY`` at once,
one claim each (``submission``), then goes to the back of the queue if more wait. So a burst of
1,000 creates is a few dozen short tasks, and the work that must be fast (a webhook, its
download) never waits behind hundreds of submissions (``bench/bench_tracking.py``: at
1,000 jobs, p95 completion -> stored fell from 12.6 to under 4 s with webhooks).

When the provider's limits say wait, the rest of its pending jobs wait with the same
reason and time, and the sweep submits them when due. A lost submitter costs nothing
either: the sweep submits pending jobs that waited 30 s without a task.
"""
from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connection, connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

from . import conf, shutdown, submission
from .models import JobStatus, Lease, VideoJob
from .queue import enqueue_once, started

SLICE = 1.0  # seconds a submitter works before the tasks queued behind it get their turn


def queue_submissions(provider_name: str) -> None:
    """Make sure a submitter for ``provider_name`` will run once the current transaction commits."""
    transaction.on_commit(lambda: _queue(provider_name))


def _queue(provider_name: str) -> bool:
    # After commit: a submitter that started before this says so first and then reads the
    # pending jobs, so either it sees this job or this call queues its successor.
    return enqueue_once(f"submit:{provider_name}", "videos.tasks.submit_due", provider_name)


def resume(provider_name: str) -> bool:
    """From the sweep: queue a submitter if jobs wait for one and none is queued or at work
    (its task was lost, or the broker was down when the jobs were made); whether it queued."""
    if Lease.held(f"submitter:{provider_name}") or not _waiting(provider_name).exists():
        return False
    return _queue(provider_name)


def submit_due(provider_name: str, *, slice_seconds: float = SLICE) -> int:
    """Create the provider's oldest pending jobs for up to ``slice_seconds``; how many were sent.

    One submitter works per provider at a time (the ``submitter`` lease), so however many
    jobs wait, the other workers stay free for webhooks and downloads. It queues its
    successor when jobs are still waiting at the end of its slice.
    """
    started(f"submit:{provider_name}")  # creates from now on queue a successor
    holder = uuid.uuid4().hex
    if not Lease.acquire(f"submitter:{provider_name}", holder, slice_seconds + float(conf.get("SUBMIT_TIMEOUT"))):
        return 0  # the one at work looks for waiting jobs again after it lets go, so this job is not stranded
    try:
        sent, limited = _slice(provider_name, time.monotonic() + slice_seconds)
    finally:
        Lease.release(f"submitter:{provider_name}", holder)
    if not limited and _waiting(provider_name).exists():
        _queue(provider_name)
    return sent


def _slice(provider_name: str, deadline: float) -> tuple[int, bool]:
    """Submit the oldest waiting jobs until ``deadline``: how many, and whether the limits said wait."""
    width = _width()
    sent = 0
    tried: set[int] = set()
    while not shutdown.cluster_stopping():
        ids = list(
            _waiting(provider_name).exclude(pk__in=tried).order_by("created_at", "pk").values_list("pk", flat=True)[:width]
        )
        if not ids:
            break
        tried.update(ids)
        outcomes = dict(zip(ids, _submit_all(ids, width)))  # at least one round per slice: a successor always moves on
        sent += sum(1 for outcome in outcomes.values() if outcome is not None and not outcome.limited)
        limited = [job_id for job_id, outcome in outcomes.items() if outcome is not None and outcome.limited]
        if limited:
            _defer_rest(provider_name, limited[0])
            return sent, True
        if time.monotonic() >= deadline:
            break
    return sent, False


def _width() -> int:
    """Creates sent at once: ``SUBMIT_CONCURRENCY``, or one inside a transaction (its rows are
    invisible to other connections) and on SQLite (one writer at a time)."""
    if connection.in_atomic_block or connection.vendor == "sqlite":
        return 1
    return max(1, int(conf.get("SUBMIT_CONCURRENCY")))


_pool: tuple[int, int, ThreadPoolExecutor] | None = None  # (process, width, threads)


def _submit_all(ids: list[int], width: int) -> list[submission.Outcome | None]:
    """Each job's :func:`submission.submit`, up to ``width`` at once. A worker keeps its submit
    threads and their database connections between tasks (checked as Django checks a
    request's); elsewhere (a test, the CLI) the threads close their connections when done."""
    global _pool
    if width == 1:
        return [submission.submit(job_id) for job_id in ids]
    if not shutdown.in_worker():
        with ThreadPoolExecutor(width, thread_name_prefix="sora-submit") as pool:
            return list(pool.map(_submit_and_close, ids))
    if _pool is None or _pool[:2] != (os.getpid(), width):  # never a pool inherited through a fork
        _pool = (os.getpid(), width, ThreadPoolExecutor(width, thread_name_prefix="sora-submit"))
    return list(_pool[2].map(_submit_on_thread, ids))


def _submit_on_thread(job_id: int) -> submission.Outcome | None:
    close_old_connections()  # drops a connection that is too old or unusable, as between requests
    return submission.submit(job_id)


def _submit_and_close(job_id: int) -> submission.Outcome | None:
    try:
        return submission.submit(job_id)
    finally:
        connections.close_all()


def _waiting(provider_name: str) -> QuerySet[VideoJob]:
    """Pending jobs that only a submitter moves on (retries and limit waits carry ``not_before``)."""
    return VideoJob.objects.filter(provider=provider_name, status=JobStatus.PENDING, not_before__isnull=True)


def _defer_rest(provider_name: str, limited_id: int) -> None:
    """The provider's limits said wait: the jobs behind it wait as long, with the same reason."""
    row = VideoJob.objects.filter(pk=limited_id).values("not_before", "error_message").first()
    if row and row["not_before"]:
        _waiting(provider_name).update(
            not_before=row["not_before"], error_message=row["error_message"], updated_at=timezone.now()
        )
