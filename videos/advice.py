"""What to do next, in the words of each surface: the CLI names commands, the admin and the
gallery name buttons. Stored messages say what happened; advice is added where it is shown,
from the state (and :mod:`videos.policy`), never cut out of a message by text.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from . import policy
from .models import JobStatus, Sequence, SequenceStatus, VideoJob
from .policy import Action

#: Provider error codes that mean "this prompt or image was refused", not "try again".
CONTENT_REFUSALS = frozenset({"moderation_blocked", "content_policy", "content_policy_violation"})
CONTENT_HINT = "Change the prompt or reference image (no real people, faces, copyrighted characters or music)"


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
    """The next step for a job that failed or needs attention ("" otherwise); the gallery's is
    the action of :func:`explain`."""
    if job.status not in (JobStatus.FAILED, JobStatus.NEEDS_ATTENTION):
        return ""
    if surface == Surface.GALLERY:  # what the page says under the headline, else its one action
        found = explain(job)
        return (found.detail or f"{found.action_label}.") if found else ""
    if policy.allows(Action.RETRY_DOWNLOAD, job):
        return {Surface.CLI: "An operator can retry the download in the admin (“Retry download”).",
                Surface.ADMIN: "Use “Retry download”."}[surface]
    if job.error_code in CONTENT_REFUSALS:
        return {Surface.CLI: f"{CONTENT_HINT} and run manage.py sora generate again: the same request "
                             "would be refused again.",
                Surface.ADMIN: f"{CONTENT_HINT} and generate it again: re-submitting it as it is would be refused "
                               "again."}[surface]
    if policy.allows(Action.RESUBMIT, job):
        return {Surface.CLI: f"Re-submit it with: manage.py sora resubmit {job.pk}",
                Surface.ADMIN: "Use “Re-submit as new job”."}[surface]
    return ""


@dataclass(frozen=True)
class Explanation:
    """A failure in a member's words: what happened (``headline``), what it means
    (``detail``), the stored reason once (``said``), and the one action that helps (a slug of
    the video page's actions, or ``"make"``: the make page filled with this request)."""
    headline: str
    detail: str
    said: str
    action: str
    action_label: str


def explain(job: VideoJob) -> Explanation | None:
    """The failure of ``job`` for the gallery's card and page (None if it did not fail)."""
    if job.status not in (JobStatus.FAILED, JobStatus.NEEDS_ATTENTION):
        return None
    said = (job.error_message or "").strip()
    if policy.allows(Action.RETRY_DOWNLOAD, job):
        return Explanation("Made, but not saved here yet", "The provider made this video, but storing it here "
                           "failed. Retrying costs nothing.", said, "retry-download", "Retry the download")
    if job.error_code in CONTENT_REFUSALS:
        return Explanation("The provider refused this prompt", f"{CONTENT_HINT}, then make it again: the same "
                           "request would be refused again.", said, "make", "Edit the prompt and try again")
    if job.error_code == "rejected":
        return Explanation("A reviewer did not approve this video", "Nothing was sent and nothing is spent. Change "
                           "what the reviewer asks, then make it again.", said, "make", "Change it and try again")
    if job.error_code in ("content_expired", "forgotten"):
        return Explanation("Lost before it was saved", "", said, "resubmit", "Re-submit as a new video")
    return Explanation("The provider could not make this video", "", said or "It gave no reason.", "resubmit",
                       "Re-submit as a new video")
