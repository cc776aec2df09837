"""Waiting for jobs and sequences from the command line, with a progress bar.

The work is driven in this process when it is due (``pipeline.drive_once``), so
``--wait`` works with or without a running qcluster; the claims keep it safe next to
workers.
"""
from __future__ import annotations

import time
from typing import Callable, Iterable

from .. import pipeline, sequences
from ..models import JobStatus, Sequence, VideoJob
from .console import Console, set_bar

DONE = (*JobStatus.final(), JobStatus.NEEDS_ATTENTION)
POLL = 0.25


def _percent(job: VideoJob) -> int:
    """How much of the wait is over: a finished job (whatever its end) counts as 100."""
    return 100 if job.status in DONE else job.percent


def wait_jobs(
    jobs: Iterable[VideoJob],
    *,
    timeout: float,
    drive: bool = True,
    poll: float = POLL,
    on_progress: Callable[[list[VideoJob]], None] | None = None,
) -> list[VideoJob]:
    """Block until every job is finished (completed, failed, deleted) or needs attention."""
    ids = [job.pk for job in jobs]
    deadline = time.monotonic() + timeout
    while True:
        current = VideoJob.objects.in_bulk(ids)
        ordered = [current[i] for i in ids if i in current]
        if on_progress is not None:
            on_progress(ordered)
        active = [job for job in ordered if job.status not in DONE]
        if not active:
            return ordered
        if time.monotonic() >= deadline:
            running = ", ".join(f"{job.pk} ({job.status})" for job in active[:10])
            raise TimeoutError(
                f"{len(active)} of {len(ordered)} jobs still running after {timeout:.0f} s: {running}. They go on "
                "in the background (with a qcluster running); check them with: manage.py sora status "
                + " ".join(str(job.pk) for job in active[:10])
            )
        if drive:
            for job in active:
                pipeline.drive_once(job)
        time.sleep(poll)


def wait_with_bar(console: Console, jobs: list[VideoJob], *, timeout: float, desc: str) -> list[VideoJob]:
    """:func:`wait_jobs` with one bar for all of them (0-100 % each, averaged)."""
    with console.bar(total=100, desc=desc) as bar:
        def show(current: list[VideoJob]) -> None:
            if not current:
                return
            percent = sum(_percent(j) for j in current) / len(current)
            if len(current) == 1:
                note = current[0].status
            else:
                done = sum(1 for j in current if j.status in DONE)
                note = f"{done}/{len(current)} done"
            set_bar(bar, int(percent), note)

        return wait_jobs(jobs, timeout=timeout, on_progress=show)


def wait_sequence(console: Console, sequence: Sequence, *, timeout: float) -> Sequence:
    with console.bar(total=100, desc=f"sequence {sequence.pk}") as bar:
        def show(report: sequences.SequenceProgress) -> None:
            note = f"{report.done}/{len(report.shots)} shots"
            if report.sequence.status == "stitching" or (report.shots and report.done == len(report.shots)):
                note += ", stitching"
            set_bar(bar, report.percent, note)

        return pipeline.wait_sequence(sequence, timeout, poll=POLL, drive=True, on_progress=show)
