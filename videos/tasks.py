"""django-q2 task entry points: thin wrappers, so each module keeps one job.

Follow a job: ``services.create_video`` -> ``submit_due`` (submitter, pipeline, submission) ->
``sweep`` (pipeline, tracking) -> ``download_job`` (downloads) -> storage.
"""
from __future__ import annotations

from typing import Any

from . import downloads, health, outbound, pipeline, stitching, storage


def submit_due(provider_name: str) -> None:
    """Create the provider's pending jobs, a slice at a time (queued by ``submitter``)."""
    pipeline.submit_due(provider_name)


def submit_job(job_id: int) -> None:
    """One job (what releases before the submitter queued; kept so their tasks still run)."""
    pipeline.submit_job(job_id)


def download_job(job_id: int) -> None:
    downloads.download(job_id)


def fingerprint_job(job_id: int) -> None:
    """SHA-256 of assets stored without one (``DOWNLOAD_SHA256``: after storing)."""
    downloads.fingerprint(job_id)


def stitch_sequence(sequence_id: int, force: bool = False) -> None:
    """Join a sequence's shots once all are stored (queued by the ``job_stored`` signal;
    ``force`` stitches a current sequence again, as the admin's "Stitch again" asks)."""
    stitching.stitch(sequence_id, force=force)


def sweep(provider_name: str | None = None) -> dict[str, str]:
    if provider_name is None:  # the minute schedule's sweep, not one of the many a burst kicks
        health.worker_answered()  # doctor and /healthz ask whether a worker ran one lately
        outbound.resend_due()  # outbound webhook retries that are due
    return pipeline.sweep(provider_name)


def deliver_webhook(delivery_pk: int) -> None:
    """One attempt to deliver an outbound webhook (videos.outbound)."""
    outbound.deliver(delivery_pk)


def process_webhook(event_pk: int) -> None:
    pipeline.process_webhook(event_pk)


def cleanup() -> int:
    """Hourly: remove temp files that killed workers left behind."""
    return storage.cleanup_incoming()


SCHEDULES = (
    # (name, func, minutes)
    ("sora-videos: sweep", "videos.tasks.sweep", int(pipeline.SCHEDULED_EVERY // 60)),
    ("sora-videos: cleanup", "videos.tasks.cleanup", 60),
)


def ensure_schedules(**kwargs: Any) -> None:
    """Create the periodic tasks once (post_migrate), leaving any an admin edited alone."""
    from django_q.models import Schedule

    for name, func, minutes in SCHEDULES:
        Schedule.objects.get_or_create(
            name=name, defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1}
        )
