"""Waiting for jobs and sequences in this process: the CLI's ``--wait`` and the tests.

One loop (:func:`follow`) looks until the work is done; with ``drive`` it also does each
job's next step when it is due (:func:`drive_once`, through :mod:`videos.pipeline`'s own
steps), so waiting works with or without a running qcluster.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.utils import timezone

from . import downloads, sequences, stitching, submission, tracking
from .models import JobStatus, Sequence, SequenceStatus, VideoJob
from .pipeline import submit_job
from .providers import get_provider
from .sequences import SequenceProgress

DONE = (*JobStatus.final(), JobStatus.NEEDS_ATTENTION)
T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """Still going after the timeout; ``pending`` holds the ids of what is still under way."""

    def __init__(self, message: str, pending: list[int]) -> None:
        super().__init__(message)
        self.pending = pending


def follow(look: Callable[[], tuple[T, bool]], *, step: Callable[[T], None] | None, timeout: float, poll: float,
           timed_out: Callable[[T], tuple[str, list[int]]]) -> T:
    """The one wait loop: ``look`` until it says done, doing ``step`` between looks.

    Jobs, batches of jobs and sequences all wait through it (services, sequences, the CLI);
    ``step`` does the work that is due in this process when no qcluster runs. Raises
    :class:`WaitTimeout` with ``timed_out(state)`` (message, pending ids) after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        state, done = look()
        if done:
            return state
        if time.monotonic() >= deadline:
            raise WaitTimeout(*timed_out(state))
        if step is not None:
            step(state)
        time.sleep(poll)


def wait_jobs(jobs: Iterable[VideoJob], timeout: float = 900.0, *, poll: float = 0.5, drive: bool = False,
              on_progress: Callable[[list[VideoJob]], None] | None = None) -> list[VideoJob]:
    """Block until every job is completed, failed, deleted or needs attention.

    With ``drive`` this process does each job's work itself when it is due (submit,
    refresh, download), so waiting works with or without a running qcluster; the claims
    make it safe alongside workers.
    """
    ids = [job.pk for job in jobs]

    def look() -> tuple[list[VideoJob], bool]:
        current = VideoJob.objects.in_bulk(ids)
        ordered = [current[i] for i in ids if i in current]
        if on_progress is not None:
            on_progress(ordered)
        return ordered, all(job.status in DONE for job in ordered)

    def step(ordered: list[VideoJob]) -> None:
        for job in ordered:
            if job.status not in DONE:
                drive_once(job)

    def timed_out(ordered: list[VideoJob]) -> tuple[str, list[int]]:
        active = [job for job in ordered if job.status not in DONE]
        pending = [job.pk for job in active]
        if len(ordered) == 1:
            return f"Job {active[0].pk} is still {active[0].status} after {timeout:.0f} s.", pending
        running = ", ".join(f"{job.pk} ({job.status})" for job in active[:10])
        return f"{len(active)} of {len(ordered)} jobs still running after {timeout:.0f} s: {running}.", pending

    return follow(look, step=step if drive else None, timeout=timeout, poll=poll, timed_out=timed_out)


def wait(job: VideoJob, timeout: float = 900.0, *, poll: float = 0.5, drive: bool = False) -> VideoJob:
    """:func:`wait_jobs` for one job."""
    [job] = wait_jobs([job], timeout, poll=poll, drive=drive)
    return job


def drive_once(job: VideoJob) -> None:
    """Do the job's next step in this process if it is due (submit, recover, refresh, download).

    One step, no waiting: ``wait(drive=True)`` calls it in its loop, and a caller that
    follows many jobs at once (a CLI batch, a sequence) calls it for each. The claims
    make it safe alongside workers.
    """
    now = timezone.now()
    provider = get_provider(job.provider)
    if job.status == JobStatus.PENDING and (job.not_before is None or job.not_before <= now):
        submit_job(job.pk)
    elif job.status == JobStatus.SUBMITTING:
        submission.recover_stale(provider)
    elif job.status in JobStatus.in_flight() and (job.next_check_at is None or job.next_check_at <= now):
        tracking.refresh_one(provider, job)
    elif job.status == JobStatus.DOWNLOADING and (job.not_before is None or job.not_before <= now):
        downloads.download(job.pk)


def wait_sequence(
    sequence: Sequence,
    timeout: float = 1800.0,
    *,
    poll: float = 0.5,
    drive: bool = False,
    on_progress: Callable[[SequenceProgress], None] | None = None,
) -> Sequence:
    """Block until the sequence is stitched, a shot needs attention, or stitching failed.

    With ``drive`` this process does the work that is due itself (every shot's next step,
    then the stitch), so it works with or without a running qcluster.
    """
    def look() -> tuple[tuple[Sequence, list], bool]:
        nonlocal sequence
        sequence.refresh_from_db()
        shots = sequences.shots_of(sequence)
        if on_progress is not None:
            on_progress(sequences.progress(sequence, shots))
        if any(s.job is None or s.job.status in sequences.BAD for s in shots):
            sequence = sequences.update_status(sequence)
        ended = sequence.is_current or sequence.status in (SequenceStatus.NEEDS_ATTENTION, SequenceStatus.FAILED)
        return (sequence, shots), ended

    def step(state: tuple[Sequence, list]) -> None:
        current, shots = state
        if sequences.ready_to_stitch(shots):
            stitched = stitching.stitch(current.pk)
            if stitched is not None and (stitched.is_current or stitched.status == SequenceStatus.FAILED):
                return  # the next look reports it without waiting on the shots
        for shot in shots:
            if shot.job is not None and shot.job.status in JobStatus.active():
                drive_once(shot.job)

    def timed_out(state: tuple[Sequence, list]) -> tuple[str, list[int]]:
        current, shots = state
        done = sum(1 for s in shots if s.job and s.job.status == JobStatus.COMPLETED)
        return (f"Sequence {current.pk} is still {current.get_status_display().lower()} after {timeout:.0f} s "
                f"({done} of {len(shots)} shots done).", [current.pk])

    state = follow(look, step=step if drive else None, timeout=timeout, poll=poll, timed_out=timed_out)
    return state[0]
