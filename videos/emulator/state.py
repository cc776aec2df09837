"""Jobs, their lifecycle and their files: the in-memory store behind every endpoint.

A clock thread moves jobs along (queued -> in_progress -> completed/failed, then
expired) on the schedule ``--generation-time`` sets, while a thread pool renders
the media as soon as a job is created. A job completes when both its time is up and
its files exist, so a slow render delays completion instead of faking it. Request
handlers only read and flip fields under the store's lock, so they stay fast while
renders run.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videos.emulator.config import EmulatorConfig
from videos.emulator.faults import ENDPOINTS
from videos.emulator.render import Asset, RenderSpec, render
from videos.emulator.webhooks import WebhookSender

#: The one internal lifecycle; each dialect decides how it looks on the wire.
QUEUED = "queued"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
FAILED = "failed"

#: Share of a job's time spent ``queued`` before it starts making progress.
QUEUE_SHARE = 0.1


@dataclass(frozen=True)
class PlannedFailure:
    """A failure decided at creation time (moderation, or a ``fail_job`` fault)."""

    code: str
    message: str
    at_progress: int = 0


@dataclass(eq=False)
class Job:
    """One generation job; ``id`` is the backend id (what LiteLLM would wrap)."""

    id: str
    seq: int
    kind: str
    model: str
    prompt: str
    size: str
    seconds: int
    spec: RenderSpec
    variants: tuple[str, ...]
    created_at: int
    started: float
    duration: float
    seed: int | None = None
    source_id: str | None = None
    remixed_from: str | None = None
    planned_failure: PlannedFailure | None = None
    status: str = QUEUED
    progress: int = 0
    completed_at: int | None = None
    completed_wall: float | None = None  # the exact moment, for the benchmarks (the wire has whole seconds)
    expires: float | None = None
    expired: bool = False
    deleted: bool = False
    error: dict[str, str] | None = None
    render_state: str = "pending"
    render_started: float | None = None
    render_finished: float | None = None
    render_error: str | None = None
    assets: dict[str, Asset] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.status in (COMPLETED, FAILED)

    @property
    def expires_at(self) -> int | None:
        """Whole seconds, rounded down so clients never think assets outlive the server's copy."""
        return None if self.expires is None else int(self.expires)


class Store:
    """All jobs of the process plus the counters the control API reports."""

    def __init__(self, config: EmulatorConfig, webhooks: WebhookSender) -> None:
        self.config = config
        self.webhooks = webhooks
        #: Set by the dialect (:meth:`bind`): what it renders, and the id clients see.
        self.variants: tuple[str, ...] = ("video", "thumbnail", "spritesheet")
        self.public_id: Callable[[str], str] = lambda backend_id: backend_id
        #: Called (under the lock) when a job completes or fails; must not block.
        self.listeners: list[Callable[[Job], None]] = []
        self.directory = Path(tempfile.mkdtemp(prefix="sora-emulator-"))
        self.lock = threading.Condition(threading.RLock())
        self.jobs: dict[str, Job] = {}
        self.requests: Counter[str] = Counter()
        self.jobs_created = 0
        #: TCP connections the HTTP server accepted (none in process): keep-alive shows here.
        self.connections = 0
        self._seq = 0
        self._live: set[Job] = set()
        self._pool = ThreadPoolExecutor(max_workers=config.render_workers, thread_name_prefix="render")
        self._stop = threading.Event()
        self._clock = threading.Thread(target=self._run_clock, name="clock", daemon=True)
        self._tick = min(0.2, max(0.01, config.generation_time / 50))

    # -- lifecycle of the store itself -------------------------------------------------

    def bind(self, variants: tuple[str, ...], public_id: Callable[[str], str]) -> None:
        self.variants = variants
        self.public_id = public_id

    def start(self) -> None:
        self._clock.start()

    def stop(self) -> None:
        self._stop.set()
        if self._clock.is_alive():
            self._clock.join(timeout=2)
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.directory, ignore_errors=True)

    def reset(self) -> None:
        """Forget every job and count; renders still running discard their output."""
        with self.lock:
            self.forget_jobs()
            self.requests.clear()
            self.jobs_created = 0
            self.connections = 0
            self._seq = 0

    def forget_jobs(self) -> int:
        """What a restart does to a server that keeps jobs in memory; the counts stay."""
        with self.lock:
            forgotten = len(self.jobs)
            for job in self.jobs.values():
                _unlink(job.assets)
            self.jobs.clear()
            self._live.clear()
            self.lock.notify_all()
            return forgotten

    # -- jobs ------------------------------------------------------------------------

    def count_request(self, endpoint: str) -> None:
        with self.lock:
            self.requests[endpoint] += 1

    def count_connection(self) -> None:
        with self.lock:
            self.connections += 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": {endpoint: self.requests[endpoint] for endpoint in ENDPOINTS},
                "jobs_created": self.jobs_created,
                "connections": self.connections,
            }

    def add(self, **fields: Any) -> Job:
        """Store a job and start rendering it; ``fields`` are :class:`Job` fields from id to seconds."""
        with self.lock:
            self._seq += 1
            job = Job(
                seq=self._seq,
                variants=self._variants(),
                created_at=int(time.time()),
                started=time.monotonic(),
                duration=self.config.generation_time,
                **fields,
            )
            self.jobs[job.id] = job
            self._live.add(job)
            self.jobs_created += 1
            if job.planned_failure is not None or not self.config.render:
                job.render_state = "skipped"  # it will fail (nothing to show), or --no-render: it never completes
        if job.render_state == "pending":
            self._pool.submit(self._render, job)
        return job

    def get(self, backend_id: str | None) -> Job | None:
        """A job clients can still see (not deleted)."""
        with self.lock:
            job = self.jobs.get(backend_id) if backend_id else None
            return None if job is None or job.deleted else job

    def ordered(self) -> list[Job]:
        """Every job, deleted ones included (they still anchor ``after`` cursors), oldest first."""
        with self.lock:
            return sorted(self.jobs.values(), key=lambda job: (job.created_at, job.seq))

    def delete(self, job: Job) -> None:
        with self.lock:
            job.deleted = True
            self._live.discard(job)
            _unlink(job.assets)
            self.lock.notify_all()

    def cancel(self, job: Job, code: str, message: str) -> None:
        """Stop a queued or running job: it fails with ``code`` at its next tick."""
        with self.lock:
            if not job.terminal:
                job.planned_failure = PlannedFailure(code, message, at_progress=0)
                job.started = min(job.started, time.monotonic() - job.duration * QUEUE_SHARE)
                self.lock.notify_all()

    def finish_now(self, job: Job, timeout: float = 60.0) -> bool:
        """Make ``job``'s time be up and wait until it is terminal; False on timeout."""
        with self.lock:
            job.started = time.monotonic() - job.duration
            self.lock.notify_all()
            return self.lock.wait_for(lambda: job.terminal or job.deleted, timeout=timeout)

    def expire_now(self, job: Job) -> None:
        with self.lock:
            if job.status == COMPLETED:
                job.expires = time.time()
                self._expire_due(job, job.expires)

    def render_now(self, spec: RenderSpec, stem: str) -> Asset:
        """Render only the MP4 on the pool and wait for it (vLLM-Omni's sync endpoint)."""
        padding = self.config.content_padding
        return self._pool.submit(render, spec, self.directory, stem, ("video",), padding).result()["video"]

    # -- internals -------------------------------------------------------------------

    def _variants(self) -> tuple[str, ...]:
        return self.variants

    def _render(self, job: Job) -> None:
        with self.lock:
            if self.jobs.get(job.id) is not job or job.deleted:
                job.render_state = "skipped"
                return
            job.render_state = "running"
            job.render_started = time.time()
        try:
            assets = render(job.spec, self.directory, job.id, job.variants, self.config.content_padding)
        except Exception as exc:  # a render bug must fail the job, not vanish in the pool
            traceback.print_exc(file=sys.stderr)
            with self.lock:
                job.render_state = "failed"
                job.render_error = f"{type(exc).__name__}: {exc}"
                job.render_finished = time.time()
            return
        with self.lock:
            job.render_finished = time.time()
            if self.jobs.get(job.id) is not job or job.deleted or job.status == FAILED:
                _unlink(assets)
                job.render_state = "discarded"
            else:
                job.assets = assets
                job.render_state = "done"

    def _run_clock(self) -> None:
        while not self._stop.wait(self._tick):
            with self.lock:
                now, wall = time.monotonic(), time.time()
                for job in list(self._live):
                    if job.status == COMPLETED:
                        self._expire_due(job, wall)
                    else:
                        self._advance(job, now, wall)

    def _advance(self, job: Job, now: float, wall: float) -> None:
        fraction = (now - job.started) / job.duration if job.duration > 0 else math.inf
        if fraction < QUEUE_SHARE:
            return
        progress = min(99, int(fraction * 100))
        failure = job.planned_failure
        if failure is not None and progress >= failure.at_progress:
            job.progress = max(job.progress, failure.at_progress)
            self._finish(job, FAILED, wall, {"code": failure.code, "message": failure.message})
        elif job.render_state == "failed":
            error = {"code": "internal_error", "message": "Video generation failed in the emulator's renderer."}
            self._finish(job, FAILED, wall, error)
        elif fraction >= 1 and job.render_state == "done":
            job.progress = 100
            self._finish(job, COMPLETED, wall, None)
        else:
            job.status = IN_PROGRESS
            job.progress = max(job.progress, progress)

    def _finish(self, job: Job, status: str, wall: float, error: dict[str, str] | None) -> None:
        job.status = status
        job.error = error
        if status == COMPLETED:
            job.completed_at = int(wall)
            job.completed_wall = wall
            job.expires = wall + self.config.asset_ttl
        else:
            self._live.discard(job)
        self.lock.notify_all()
        for listener in self.listeners:
            listener(job)
        event = "video.completed" if status == COMPLETED else "video.failed"
        self.webhooks.notify(event, self.public_id(job.id))

    def _expire_due(self, job: Job, wall: float) -> None:
        if job.expires is not None and wall >= job.expires and not job.expired:
            job.expired = True
            self._live.discard(job)
            _unlink(job.assets)
            self.lock.notify_all()


def _unlink(assets: dict[str, Asset]) -> None:
    """Remove asset files; streams already open keep reading (POSIX unlink semantics)."""
    for asset in assets.values():
        asset.path.unlink(missing_ok=True)
