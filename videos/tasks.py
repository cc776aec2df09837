"""django-q2 task entry points: thin wrappers, so each module keeps one job.

Follow a job: ``services.create_video`` -> ``submit_job`` (submission) -> ``sweep``
(tracking) -> ``download_job`` (downloads) -> storage.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction


def enqueue(func: str, *args: Any) -> None:
    """Queue ``func(*args)`` once the current transaction commits (never for rolled-back rows)."""
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task(func, *args, group="sora-videos"))


def submit_job(job_id: int) -> None:
    from .submission import submit

    submit(job_id)


def download_job(job_id: int) -> None:
    from .downloads import download

    download(job_id)


def fingerprint_job(job_id: int) -> None:
    """SHA-256 of assets stored without one (``DOWNLOAD_SHA256``: after storing)."""
    from .downloads import fingerprint

    fingerprint(job_id)


def stitch_sequence(sequence_id: int, force: bool = False) -> None:
    """Join a sequence's shots once all are stored (queued by the ``job_stored`` signal;
    ``force`` stitches a current sequence again, as the admin's "Stitch again" asks)."""
    from .sequences import stitch

    stitch(sequence_id, force=force)


def sweep(provider_name: str | None = None) -> dict[str, str]:
    from .tracking import sweep as run

    return run(provider_name)


def process_webhook(event_pk: int) -> None:
    from .webhooks import process

    process(event_pk)


def cleanup() -> int:
    """Hourly: remove temp files that killed workers left behind."""
    from .storage import cleanup_incoming

    return cleanup_incoming()


SCHEDULES = (
    # (name, func, minutes)
    ("sora-videos: sweep", "videos.tasks.sweep", 1),
    ("sora-videos: cleanup", "videos.tasks.cleanup", 60),
)


def ensure_schedules(**kwargs: Any) -> None:
    """Create the periodic tasks once (post_migrate), leaving any an admin edited alone."""
    from django_q.models import Schedule

    for name, func, minutes in SCHEDULES:
        Schedule.objects.get_or_create(
            name=name, defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1}
        )
