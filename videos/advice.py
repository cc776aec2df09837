"""What to do next, in the words of each surface: the CLI names commands, the admin and the
gallery name buttons. Stored messages say what happened; advice is added where it is shown,
from the state (and :mod:`videos.policy`), never cut out of a message by text.
"""
from __future__ import annotations

from django.db import models

from . import policy
from .models import JobStatus, Sequence, SequenceStatus, VideoJob
from .policy import Action


class Surface(models.TextChoices):
    CLI = "cli", "command line"
    ADMIN = "admin", "admin"
    GALLERY = "gallery", "gallery"


def for_sequence(sequence: Sequence, surface: str) -> str:
    """The next step for a sequence that needs attention or failed to stitch ("" otherwise)."""
    pk = sequence.pk
    if sequence.status == SequenceStatus.NEEDS_ATTENTION:
        return {
            Surface.CLI: f"Retry it (manage.py sora sequence retry {pk} --shot N) or replace it with a new prompt "
                         f"or image (manage.py sora sequence replace {pk} --shot N --prompt ...); the other shots "
                         "are kept.",
            Surface.ADMIN: "Retry the shot or replace it with a new prompt or image (its Retry and Replace… "
                           "buttons below); the other shots are kept.",
            Surface.GALLERY: "An operator can retry the shot or replace it; the other shots are kept.",
        }[surface]
    if sequence.status == SequenceStatus.FAILED:
        return {
            Surface.CLI: f"Stitch again with: manage.py sora sequence stitch {pk}",
            Surface.ADMIN: "Use “Stitch again”.",
            Surface.GALLERY: "An operator can stitch it again.",
        }[surface]
    return ""


def for_job(job: VideoJob, surface: str) -> str:
    """The next step for a job that failed or needs attention ("" otherwise)."""
    if job.status not in (JobStatus.FAILED, JobStatus.NEEDS_ATTENTION):
        return ""
    if policy.allows(Action.RETRY_DOWNLOAD, job):
        return {Surface.CLI: "An operator can retry the download in the admin (“Retry download”).",
                Surface.ADMIN: "Use “Retry download”.",
                Surface.GALLERY: "An operator can retry the download."}[surface]
    if policy.allows(Action.RESUBMIT, job):
        return {Surface.CLI: f"Re-submit it with: manage.py sora resubmit {job.pk}",
                Surface.ADMIN: "Use “Re-submit as new job”.",
                Surface.GALLERY: "Re-submit it as a new job."}[surface]
    return ""
