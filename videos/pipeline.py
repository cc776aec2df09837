"""The pipeline: what each provider's unfinished jobs need next, and the sweep that does it.

One pass (:func:`sweep_once`) submits creates that are due (``submission``), recovers
creates that got no answer, refreshes the jobs whose check is due (``tracking``),
re-queues downloads whose task was lost (``downloads``) and processes webhook events whose
task never started; a job that reaches
``downloading`` (finished at the provider, or retried by a person) is queued for its
download by :func:`start_download`. The sweep is a django-q2 task
that repeats passes while there is work, for up to ``SWEEP_DURATION`` seconds, under a
database lease so only one runs per provider; :func:`kick` queues it when work appears,
and :func:`nudge` when a page watches a job whose news is stale.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.core.cache import cache
from django.db.models import Count, Min, Q
from django.utils import timezone

from . import (
    brokerwatch,
    conf,
    downloads,
    health,
    shutdown,
    stitching,
    submission,
    submitter,
    tracking,
    webhooks,
)
from .models import JobStatus, Lease, VideoJob, WebhookEvent
from .providers import Provider, get_provider
from .queue import broker, enqueue, enqueue_once, started
from .signals import job_status_changed

log = logging.getLogger(__name__)


# --- the next step after a status change ------------------------------------------------
_here = threading.local()


def start_download(sender: object, job: VideoJob, old_status: str, new_status: str, **kwargs: object) -> None:
    """Queue the download of a job that has just reached ``downloading`` (after commit), wherever
    the news came from: a status check, a webhook, reconciliation or "Retry download" -- unless
    the task that brought the news downloads it itself (:func:`downloading_here`)."""
    if new_status != JobStatus.DOWNLOADING:
        return
    here = getattr(_here, "jobs", None)
    if here is not None:
        here.append(job.pk)
    else:
        enqueue("videos.tasks.download_job", job.pk)


@contextmanager
def downloading_here() -> Iterator[list[int]]:
    """Within the block, jobs that reach ``downloading`` are collected instead of queued; the
    caller downloads them when the block ends. A task carrying fresh news (a webhook) stores
    the video at once instead of sending it to the back of a queue full of submissions; if
    its worker dies, the sweep re-queues the download like any lost task."""
    outer = getattr(_here, "jobs", None)
    _here.jobs = collected = [] if outer is None else outer
    try:
        yield collected
    finally:
        _here.jobs = outer


def process_webhook(event_pk: int) -> None:
    """The webhook task: refresh the event's job now and, if it completed, store it now."""
    with downloading_here() as due:
        webhooks.process(event_pk)
    for job_id in due:
        downloads.download(job_id)


def look_at_once(sender: object, proc_name: str = "", **kwargs: object) -> None:
    """A cluster worker has just started: queue each provider's sweep, so work left while no
    worker ran (a crash, a deploy, jobs made while the broker was down) is found now, not at
    the scheduler's first round half a minute later; and watch the broker, to do the same
    the moment it answers again after an outage (:mod:`videos.brokerwatch`)."""
    health.announce(proc_name)
    health.worker_answered()
    kick_all()
    brokerwatch.start(kick_all)  # and again whenever the broker answers after an outage


def kick_all() -> None:
    for name in conf.providers():
        kick(name)


def connect_receivers() -> None:
    # django_q.signals imports django-q2's models: only once the app registry is ready (AppConfig.ready)
    from django_q.signals import post_spawn

    job_status_changed.connect(start_download, dispatch_uid="videos.pipeline.start_download")
    post_spawn.connect(look_at_once, dispatch_uid="videos.pipeline.look_at_once")


# --- asking for a sweep ----------------------------------------------------------------------
def submit_job(job_id: int) -> None:
    """Submit one job now, then ask for the sweep that tracks it."""
    outcome = submission.submit(job_id)
    if outcome:
        kick(outcome.provider)


def submit_due(provider_name: str) -> None:
    """The submitter task: the provider's oldest pending jobs for one slice, then their sweep."""
    submitter.submit_due(provider_name)
    kick(provider_name)


def kick(provider_name: str) -> None:
    """Queue a sweep unless one runs or is already queued (called when work appears): a
    burst of kicks (one per submitted job) queues one sweep (:func:`~videos.queue.enqueue_once`)."""
    if Lease.held(f"sweep:{provider_name}"):
        return
    enqueue_once(f"sweep:{provider_name}", "videos.tasks.sweep", provider_name)


def nudge(jobs: Iterable[VideoJob]) -> None:
    """Ask the sweep to look at watched in-flight jobs whose news is stale (a page polls them).

    Never calls the provider itself, so a page never waits on it: due now, and a sweep kicked
    at most once per provider per ``LIVE_REFRESH_AFTER``.
    """
    after = float(conf.get("LIVE_REFRESH_AFTER"))
    now = timezone.now()
    stale = [
        j for j in jobs
        if j.status in JobStatus.in_flight() and j.remote_id
        and (j.last_checked_at is None or (now - j.last_checked_at).total_seconds() > after)
    ]
    if not stale:
        return
    VideoJob.objects.filter(pk__in=[j.pk for j in stale], status__in=JobStatus.in_flight(),
                            next_check_at__gt=now).update(next_check_at=now)
    for provider in {j.provider for j in stale}:
        if cache.add(f"videos:live-refresh:{provider}", 1, timeout=max(1, int(after))):
            kick(provider)


# --- the sweep ---------------------------------------------------------------------------
#: A webhook task starts within a second or two; an event still pending after this had none.
ORPHANED_AFTER = dt.timedelta(seconds=10)
ORPHANS_PER_PASS = 50


def sweep_once(provider: Provider, *, recover: bool = True) -> float | None:
    """One pass over a provider's unfinished jobs; seconds until something is due (None: idle).

    ``recover`` adds the look for work whose task was lost or whose worker died (steps 2, 4
    and 5, and stalled jobs): such work waits tens of seconds by definition, so the sweep
    does it every :data:`RECOVER_EVERY` seconds, not on every pass (:func:`_recovery_due`).
    """
    name = provider.name
    now = timezone.now()
    jobs = VideoJob.objects.filter(provider=name)

    # 1. creates that wait for a submitter that is neither queued nor at work (queue one: the
    #    broker was down when they were made, or its task was lost), for a retry or a rate
    #    limit (due now), or for longer than a lost submitter's lease could explain
    submitter.resume(name)
    lost = now - dt.timedelta(seconds=30)
    for job_id in jobs.filter(status=JobStatus.PENDING).filter(
        Q(not_before__lte=now) | Q(not_before__isnull=True, created_at__lt=lost)
    ).order_by("created_at").values_list("pk", flat=True)[:50]:
        submission.submit(job_id)

    # 2. creates that never got an answer: adopt what the provider has, or ask a person
    if recover:
        submission.recover_stale(provider)

    # 3. status checks that are due
    due = list(jobs.filter(status__in=JobStatus.in_flight()).filter(
        Q(next_check_at__lte=now) | Q(next_check_at__isnull=True)
    ).order_by("next_check_at").defer("remote_payload")[:1000])  # a check replaces the payload, never reads it
    if due:
        tracking.refresh_jobs(provider, due)
    orphaned = _recover(name, now) if recover else _orphans_due.get(name)

    # when is the next thing due?
    soon = jobs.filter(status__in=JobStatus.active()).aggregate(
        active=Count("pk"),
        check=Min("next_check_at", filter=Q(status__in=JobStatus.in_flight())),
        retry=Min("not_before", filter=Q(status__in=(JobStatus.PENDING, JobStatus.DOWNLOADING))),
        started=Min("submit_started_at", filter=Q(status=JobStatus.SUBMITTING)),
    )
    if not soon["active"] and orphaned is None:
        return None
    candidates = [soon["check"], soon["retry"], orphaned]
    if soon["started"]:
        candidates.append(soon["started"] + dt.timedelta(seconds=submission.stale_after()))
    times = [t for t in candidates if t is not None]
    if not times:
        return float(conf.get("POLL_INTERVAL"))
    return max(0.0, (min(times) - timezone.now()).total_seconds())


#: How often a sweep looks for lost or dead work (see :func:`sweep_once`); the first pass of
#: a process always does.
RECOVER_EVERY = 5.0
_recovered_at: dict[str, float] = {}
_orphans_due: dict[str, dt.datetime | None] = {}


def _recovery_due(name: str) -> bool:
    """Every :data:`RECOVER_EVERY` seconds, and whenever the webhook events the last look left
    for later are due (more than one look's worth waited, or a young one has come of age):
    so a pass never plans around an orphan it will not process."""
    now = time.monotonic()
    orphan = _orphans_due.get(name)
    if now - _recovered_at.get(name, float("-inf")) < RECOVER_EVERY and (orphan is None or orphan > timezone.now()):
        return False
    _recovered_at[name] = now
    return True


def _recover(name: str, now: dt.datetime) -> dt.datetime | None:
    """Steps 4 and 5 of a pass, and stalled jobs; when the next orphaned webhook event is due."""
    tracking.flag_stalled(name)

    # 4. downloads (fingerprints, stitches) whose task was lost or whose worker died
    downloads.requeue_due(name)
    downloads.requeue_fingerprints(name)
    stitching.requeue_lost(name)

    # 5. webhook events whose task never started (stored while the broker was down, or lost);
    #    a younger one is due when it is as old: one query either way (usually it finds none)
    orphaned = None
    pending = WebhookEvent.objects.filter(provider=name, outcome=WebhookEvent.Outcome.PENDING)
    for seen, (event_pk, received_at) in enumerate(pending.order_by("received_at").values_list(
            "pk", "received_at")[:ORPHANS_PER_PASS], 1):
        if received_at > now - ORPHANED_AFTER:
            orphaned = received_at + ORPHANED_AFTER
            break
        process_webhook(event_pk)  # claimed like the task's: a late task finds it done
        if seen == ORPHANS_PER_PASS:
            orphaned = now  # more may wait beyond these: look again at once
    _orphans_due[name] = orphaned
    return orphaned


def sweep(provider_name: str | None = None, *, duration: float | None = None) -> dict[str, str]:
    """Work every provider's unfinished jobs until idle or ``duration`` seconds passed.

    A sweep that runs out of time with work left queues its successor, so tracking never
    waits for the minute schedule (that schedule only restarts the chain after a crash).
    ``duration`` 0 makes a single pass with no successor.
    """
    duration = float(conf.get("SWEEP_DURATION") if duration is None else duration)
    names = [provider_name] if provider_name else list(conf.providers())
    started(*(f"sweep:{name}" for name in names))  # kick() may queue again
    holder = uuid.uuid4().hex
    ttl = float(conf.get("SWEEP_LEASE"))
    held = [name for name in names if Lease.acquire(f"sweep:{name}", holder, ttl)]
    report = {name: "busy elsewhere" for name in names if name not in held}
    deadline = time.monotonic() + duration
    far = False
    try:
        while held:
            waits = []
            for name in list(held):
                try:
                    wait = sweep_once(get_provider(name), recover=_recovery_due(name))
                except Exception:  # one provider's trouble must not stop the others
                    log.exception("sweep of provider %s failed", name)
                    wait = float(conf.get("POLL_INTERVAL"))
                if wait is None:
                    held.remove(name)
                    Lease.release(f"sweep:{name}", holder)
                    report[name] = "idle"
                else:
                    waits.append(wait)
            if not held or time.monotonic() >= deadline or shutdown.cluster_stopping():
                break
            if any(_work_waiting(name) for name in held):
                break  # never sleep on a worker other tasks wait for: the successor queues behind them
            if min(waits) >= SCHEDULED_EVERY:
                far = True  # nothing due before the scheduled sweep: free the worker, queue no successor
                break
            if not _pause(min(max(min(waits), 0.1), float(conf.get("POLL_INTERVAL")),
                              max(0.0, deadline - time.monotonic())), held):
                break  # work arrived while we slept: the same
            for name in held:
                Lease.acquire(f"sweep:{name}", holder, ttl)
    finally:
        for name in held:
            Lease.release(f"sweep:{name}", holder)
            report.setdefault(name, "handed over")
    if duration > 0 and not far:
        for name in held:
            kick(name)
    return report


def _pause(seconds: float, names: list[str]) -> bool:
    """Sleep between passes, in short steps; False as soon as work waits for a worker (a webhook
    must not wait out our pause) or the cluster is stopping (noticed within a quarter second).
    The broker's count is read every step, the database every :data:`WAITING_GRACE` (work younger
    than that does not count anyway)."""
    end = time.monotonic() + seconds
    looked = time.monotonic()
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(PAUSE_STEP, left))
        if shutdown.cluster_stopping() or _queued_tasks():
            return False
        if time.monotonic() - looked >= WAITING_GRACE.total_seconds():
            looked = time.monotonic()
            if any(_rows_waiting(name) for name in names):
                return False
    return True


PAUSE_STEP = 0.25
#: How often the ``sora-videos: sweep`` schedule runs (``videos.tasks.SCHEDULES``): a sweep whose
#: next check is further away ends instead of holding a worker until then.
SCHEDULED_EVERY = 60.0


def _queued_tasks() -> int:
    """Tasks waiting in the broker (0 when it cannot say)."""
    try:
        return int(broker().queue_size() or 0)
    except Exception:  # a broker that cannot say: the pause runs its course
        return 0


def _work_waiting(provider_name: str) -> bool:
    """Does work wait for a free worker? Tasks the broker still holds, or, for the few a cluster
    has already taken, jobs that only a queued task moves on and that have waited longer than
    :data:`WAITING_GRACE` (a free worker starts a task within milliseconds, so younger work
    does not need ours: a sweep that ended for it would only be queued again)."""
    return bool(_queued_tasks()) or _rows_waiting(provider_name)


def _rows_waiting(provider_name: str) -> bool:
    """The database's half of :func:`_work_waiting`."""
    since = timezone.now() - WAITING_GRACE
    jobs = VideoJob.objects.filter(provider=provider_name)
    if jobs.filter(status=JobStatus.DOWNLOADING, download_heartbeat_at__isnull=True, not_before__isnull=True,
                   updated_at__lt=since).exists():  # a download nobody started
        return True
    if WebhookEvent.objects.filter(provider=provider_name, outcome=WebhookEvent.Outcome.PENDING,
                                   received_at__lt=since).exists():
        return True
    return jobs.filter(status=JobStatus.PENDING, not_before__isnull=True, created_at__lt=since).exists() and not (
        Lease.held(f"submitter:{provider_name}"))  # creates whose submitter is queued, not at work


WAITING_GRACE = dt.timedelta(seconds=0.5)
