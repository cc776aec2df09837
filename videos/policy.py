"""May this be done to this job, and if not, why: one rule per action, for every surface.

The services refuse with :func:`require`; the admin and the gallery show or hide a button
with :func:`allows`; confirmation pages and the CLI print :func:`refusal`'s message. A
refusal is typed (:class:`RefusalCode`, the action, the field), never matched by its text.
:func:`refusal_for` adds who may: the permission each action needs, and that a member acts
on their own videos unless they manage everyone's (the admin, the gallery and the API ask
it; the CLI runs as the site's operator).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils import timezone

from . import capabilities, conf, permissions
from .exceptions import InvalidRequest, JobStateError, NotPermitted, SoraVideosError
from .models import JobError, JobStatus, Sequence, SequenceShot, SequenceStatus, VideoJob


class Action(models.TextChoices):
    SUBMIT = "submit", "submit"
    REMIX = "remix", "remix"
    EDIT = "edit", "edit"
    EXTEND = "extend", "extend"
    RESUBMIT = "resubmit", "re-submit"
    REFRESH = "refresh", "refresh"
    RETRY_DOWNLOAD = "retry_download", "retry the download of"
    DELETE = "delete", "delete"
    APPROVE = "approve", "approve"
    REJECT = "reject", "reject"
    SHARE = "share", "share"


class RefusalCode(models.TextChoices):
    WRONG_STATE = "wrong_state", "The job is not in a state for this"
    NOT_SUPPORTED = "not_supported", "The provider's server cannot do this"
    NO_PROVIDER = "no_provider", "The job's provider is no longer configured"
    BUSY = "busy", "Something is being done to the job right now"
    NOT_PERMITTED = "not_permitted", "This person may not do this to this job"


@dataclass(frozen=True)
class Refusal:
    action: str
    code: str
    message: str
    field: str | None = None

    def error(self) -> SoraVideosError:
        """The exception a service raises for it (state: JobStateError; the rest: InvalidRequest)."""
        if self.code == RefusalCode.NOT_PERMITTED:
            error: SoraVideosError = NotPermitted(self.message)
        elif self.code in (RefusalCode.WRONG_STATE, RefusalCode.BUSY):
            error = JobStateError(self.message)
        else:
            error = InvalidRequest(self.message, field=self.field or "provider")
        error.refusal = self
        return error


#: States from which a job may be made again as a new job.
RESUBMITTABLE = (JobStatus.FAILED, JobStatus.NEEDS_ATTENTION, JobStatus.COMPLETED)
#: ``error_code`` values of jobs whose paid video is still worth downloading.
DOWNLOAD_FAILURES = (JobError.DOWNLOAD_FAILED, JobError.CONTENT_EXPIRED)
#: A stitching claim older than this (seconds) is presumed dead and may be taken over.
STITCH_STALE = 600.0
_DERIVED = {Action.REMIX: "remix", Action.EDIT: "edit", Action.EXTEND: "extend"}


def _state(job: VideoJob) -> str:
    return job.get_status_display().lower()


def refusal(action: str, job: VideoJob) -> Refusal | None:
    """Why ``action`` cannot be done to ``job`` now, or None when it can."""
    if action == Action.SUBMIT:
        if job.status != JobStatus.DRAFT:
            return Refusal(action, RefusalCode.WRONG_STATE, f"Only a draft can be submitted; this job is {_state(job)}.")
    elif action in _DERIVED:
        try:
            config = conf.provider(job.provider)
        except SoraVideosError:
            return Refusal(action, RefusalCode.NO_PROVIDER,
                           f"The provider {job.provider!r} of this job is no longer configured.", "provider")
        reason = capabilities.refusal(config, _DERIVED[action])
        if reason is not None:
            return Refusal(action, RefusalCode.NOT_SUPPORTED, reason, "provider")
        if job.status != JobStatus.COMPLETED or not job.remote_id:
            return Refusal(action, RefusalCode.WRONG_STATE,
                           f"Only a completed video can be used to {_DERIVED[action]}; this one is {_state(job)}.")
    elif action == Action.RESUBMIT:
        if job.status not in RESUBMITTABLE:
            return Refusal(action, RefusalCode.WRONG_STATE,
                           f"Only a failed, completed or stuck job can be re-submitted; this one is {_state(job)}.")
    elif action == Action.REFRESH:
        if job.status not in JobStatus.in_flight() or not job.remote_id:
            return Refusal(action, RefusalCode.WRONG_STATE, "Only a job queued or in progress at the provider can "
                                                            f"be refreshed; this one is {_state(job)}.")
    elif action == Action.RETRY_DOWNLOAD:
        return _retry_download(job)
    elif action in (Action.APPROVE, Action.REJECT):
        if job.status != JobStatus.AWAITING_APPROVAL:
            return Refusal(action, RefusalCode.WRONG_STATE,
                           f"Only a video awaiting approval can be approved or rejected; this one is {_state(job)}.")
    elif action == Action.SHARE:
        if job.status != JobStatus.COMPLETED or job.stored_at is None:
            return Refusal(action, RefusalCode.WRONG_STATE,
                           f"Only a completed, stored video can be shared; this one is {_state(job)}.")
    elif action == Action.DELETE:
        if job.status == JobStatus.DELETED:
            return Refusal(action, RefusalCode.WRONG_STATE, "It is already deleted.")
        if job.status == JobStatus.SUBMITTING:
            return Refusal(action, RefusalCode.BUSY,
                           "This job is being submitted right now; delete it once it has a remote id.")
    else:
        raise ValueError(f"unknown action {action!r}")
    return None


def _retry_download(job: VideoJob) -> Refusal | None:
    action = Action.RETRY_DOWNLOAD
    if not job.remote_id or job.status not in (JobStatus.NEEDS_ATTENTION, JobStatus.FAILED):
        return Refusal(action, RefusalCode.WRONG_STATE, "Only a job whose download failed can retry its download.")
    if job.status == JobStatus.FAILED and job.error_code not in DOWNLOAD_FAILURES:
        return Refusal(action, RefusalCode.WRONG_STATE,
                       "This job failed at the provider; there is nothing to download. Re-submit it instead.")
    if job.status == JobStatus.NEEDS_ATTENTION and job.error_code != JobError.DOWNLOAD_FAILED:
        return Refusal(action, RefusalCode.WRONG_STATE, "This job is not waiting for a download.")
    return None


def allows(action: str, job: VideoJob) -> bool:
    return refusal(action, job) is None


def require(action: str, job: VideoJob) -> None:
    """Raise the refusal's exception (``.refusal`` carries its code) unless ``action`` applies."""
    found = refusal(action, job)
    if found is not None:
        raise found.error()


#: The permissions of which one lets a person do each action (to their own videos).
NEEDS: dict[str, tuple[str, ...]] = {
    Action.SUBMIT: (permissions.SUBMIT,),
    Action.REMIX: (permissions.SUBMIT,),
    Action.EDIT: (permissions.SUBMIT,),
    Action.EXTEND: (permissions.SUBMIT,),
    Action.RESUBMIT: (permissions.SUBMIT,),
    Action.REFRESH: (permissions.SUBMIT, permissions.CHANGE),
    Action.RETRY_DOWNLOAD: (permissions.SUBMIT, permissions.CHANGE),
    Action.DELETE: (permissions.DELETE,),
    Action.APPROVE: (permissions.APPROVE,),
    Action.REJECT: (permissions.APPROVE,),
    Action.SHARE: (permissions.VIEW,),
}
#: Actions a person does to other people's videos (a reviewer's), never to their own.
REVIEWS = (Action.APPROVE, Action.REJECT)


def manages(user: Any) -> bool:
    """Acts on anyone's videos: a video manager, or an operator who may change every job."""
    return bool(user.is_active and (user.has_perm(permissions.MANAGE) or user.has_perm(permissions.CHANGE)))


def may_make(user: Any) -> bool:
    """May make new (paid) videos at all."""
    return bool(user.is_authenticated and user.is_active and user.has_perm(permissions.SUBMIT))


def refusal_for(user: Any, action: str, job: VideoJob) -> Refusal | None:
    """Why ``user`` may not do ``action`` to ``job`` now (their role, whose video it is, then
    :func:`refusal`), or None when they may."""
    verb = Action(action).label
    if not (user.is_authenticated and user.is_active and any(user.has_perm(p) for p in NEEDS[action])):
        group = "Video reviewers" if action in REVIEWS else "Video makers"
        return Refusal(action, RefusalCode.NOT_PERMITTED,
                       f"You may not {verb} videos: ask an administrator to add you to the group {group!r}.")
    if action in REVIEWS:
        if action == Action.APPROVE and job.owner_id == user.pk and not user.is_superuser:
            return Refusal(action, RefusalCode.NOT_PERMITTED,
                           "You cannot approve your own video: another reviewer decides.")
    elif job.owner_id != user.pk and not manages(user):
        return Refusal(action, RefusalCode.NOT_PERMITTED,
                       f"Only the person who made this video or a video manager may {verb} it.")
    return refusal(action, job)


def allows_for(user: Any, action: str, job: VideoJob) -> bool:
    return refusal_for(user, action, job) is None


def require_for(user: Any, action: str, job: VideoJob) -> None:
    """Raise the refusal's exception unless ``user`` may do ``action`` to ``job`` now."""
    found = refusal_for(user, action, job)
    if found is not None:
        raise found.error()


def stitch_refusal(sequence: Sequence, shots: list[SequenceShot]) -> Refusal | None:
    """Why ``sequence`` cannot be stitched now from ``shots`` (its shots, jobs selected), or None."""
    action = "stitch"  # a sequence's action; Action lists what may be done to a job
    if not shots:
        return Refusal(action, RefusalCode.WRONG_STATE, "it has no shots")
    waiting = [s for s in shots if s.job is None or s.job.status != JobStatus.COMPLETED]
    if waiting:
        listing = ", ".join(f"{s.position} ({_state(s.job) if s.job else 'no job'})" for s in waiting)
        many = len(waiting) > 1
        return Refusal(action, RefusalCode.WRONG_STATE,
                       f"shot{'s' if many else ''} {listing} {'are' if many else 'is'} not completed")
    if is_being_stitched(sequence):
        return Refusal(action, RefusalCode.BUSY, "it is being stitched right now")
    return None


def is_being_stitched(sequence: Sequence) -> bool:
    """A worker holds a live stitching claim (younger than ``STITCH_STALE``)."""
    started = sequence.stitch_started_at
    return (sequence.status == SequenceStatus.STITCHING and started is not None
            and started > timezone.now() - dt.timedelta(seconds=STITCH_STALE))
