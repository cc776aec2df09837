"""Waiting for jobs and sequences from the command line, with a progress bar.

The work is driven in this process when it is due (``videos.wait.drive_once``), so
``--wait`` works with or without a running qcluster; the claims keep it safe next to
workers.
"""
from __future__ import annotations

import socket
from typing import Callable, Iterable
from urllib.parse import urlparse

from .. import conf, sequences, wait
from ..exceptions import SoraVideosError
from ..models import Sequence, VideoJob
from .console import Console, set_bar

DONE = wait.DONE
POLL = 0.25


def _percent(job: VideoJob) -> int:
    """How much of the wait is over: a finished job (whatever its end) counts as 100."""
    return 100 if job.status in DONE else job.percent


def wait_jobs(jobs: Iterable[VideoJob], *, timeout: float,
              on_progress: Callable[[list[VideoJob]], None] | None = None) -> list[VideoJob]:
    """The pipeline's wait, driving the work here; a timeout names the command to check on them."""
    try:
        return wait.wait_jobs(jobs, timeout, poll=POLL, drive=True, on_progress=on_progress)
    except wait.WaitTimeout as exc:
        ids = " ".join(str(pk) for pk in exc.pending[:10])
        raise TimeoutError(f"{exc} They go on in the background (with a qcluster running); check them with: "
                           f"manage.py sora status {ids}") from None


#: Seconds to wait for a provider's TCP handshake before saying it cannot be reached.
REACH_TIMEOUT = 3.0


def say_if_unreachable(console: Console, providers: Iterable[str]) -> None:
    """Before a wait: a provider nobody answers for (an emulator not started, a wrong URL) is
    said at once, instead of after the whole timeout. The work stays queued either way."""
    for name in sorted(set(providers)):
        try:
            config = conf.provider(name)
        except SoraVideosError:
            continue
        url = urlparse(config.base_url)
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            socket.create_connection((url.hostname or "", port), timeout=REACH_TIMEOUT).close()
        except OSError as exc:
            hint = ("Is the emulator running? bin/start runs it (and remembers its URL); or set SORA_EMULATOR_URL "
                    "to where it listens." if config.emulator else "Check OPENAI_BASE_URL (or the provider's "
                    "BASE_URL) and the network.")
            console.warn(f"Cannot reach {config.display_name} at {config.base_url} ({exc.strerror or exc}). "
                         f"What you queued is saved and is sent once it answers. {hint}")


def wait_with_bar(console: Console, jobs: list[VideoJob], *, timeout: float, desc: str) -> list[VideoJob]:
    """:func:`wait_jobs` with one bar for all of them (0-100 % each, averaged)."""
    say_if_unreachable(console, (job.provider for job in jobs if job.status not in DONE))
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
    say_if_unreachable(console, [sequence.provider])
    with console.bar(total=100, desc=f"sequence {sequence.pk}") as bar:
        def show(report: sequences.SequenceProgress) -> None:
            note = f"{report.done}/{len(report.shots)} shots"
            if report.sequence.status == "stitching" or (report.shots and report.done == len(report.shots)):
                note += ", stitching"
            set_bar(bar, report.percent, note)

        return wait.wait_sequence(sequence, timeout, poll=POLL, drive=True, on_progress=show)
