"""Submitting a job: one create per job at the provider, whatever happens on the wire.

1. *Claim*: a conditional update moves the job from ``pending`` to ``submitting``; only
   one worker wins, on SQLite and PostgreSQL alike. Provider limits (jobs in flight,
   creates per minute) are checked under a row lock in the same transaction.
2. *Create* with the SDK's retries off.
3. An answer records the remote id. A refusal (4xx) fails the job with the reason; 429
   and 5xx go back to ``pending`` with backoff (honouring Retry-After). No answer at all
   (timeout, dropped connection) is *ambiguous*: the job stays ``submitting`` and is
   *reconciled* against the provider's list (prompt, model, size, seconds, time window);
   a match is adopted, and past the grace period with no match the job moves to
   ``needs_attention`` with the reason. Never a blind second create.
"""
from __future__ import annotations

import datetime as dt
import enum
import logging
import random
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import conf
from .exceptions import ProviderError
from .images import fit_image
from .models import JobError, JobKind, JobStatus, Lease, VideoJob
from .providers import Provider, ReferenceUpload, RemoteVideo, get_provider
from .tracking import sync_from_remote

log = logging.getLogger(__name__)

MINUTE = dt.timedelta(seconds=60)


def stale_after() -> float:
    """Seconds after a claim when a job still ``submitting`` is presumed abandoned."""
    return float(conf.get("SUBMIT_TIMEOUT")) + float(conf.get("SUBMIT_GRACE"))


class Claim(enum.Enum):
    WON = "won"
    TAKEN = "taken"  # another worker has it
    LIMITED = "limited"  # the provider's limits say wait: the job waits until ``not_before``


def claim(job: VideoJob, provider: Provider) -> Claim:
    """Take ``job`` for submission unless another worker has it or the provider's limits say wait."""
    config = provider.config
    with transaction.atomic():
        Lease.lock(f"limits:{config.name}")
        now = timezone.now()
        jobs = VideoJob.objects.filter(provider=config.name)
        in_flight = jobs.filter(status__in=(JobStatus.SUBMITTING, *JobStatus.in_flight())).count()
        # the creates-per-minute'th newest create of the last minute, if there are that many: a
        # slot frees when it leaves the window (one row read, however many were sent)
        full = jobs.filter(submit_started_at__gt=now - MINUTE).order_by("-submit_started_at").values_list(
            "submit_started_at", flat=True)[config.creates_per_minute - 1:config.creates_per_minute].first()
        wait = None
        if in_flight >= config.max_in_flight:
            wait = max(1.0, float(conf.get("POLL_INTERVAL")))
            reason = f"waiting: {in_flight} jobs in flight at {config.display_name} (limit {config.max_in_flight})"
        elif full is not None:
            wait = max(0.5, (full + MINUTE - now).total_seconds())
            reason = f"waiting: {config.creates_per_minute} creates per minute reached at {config.display_name}"
        if wait is not None:
            VideoJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
                not_before=now + dt.timedelta(seconds=wait), error_message=reason, updated_at=now
            )
            return Claim.LIMITED
        # Every attempt starts with a clean marker: a verdict about an earlier attempt (such as
        # UNVERIFIED) must never decide what happens to this one if its worker dies.
        won = job.transition(
            JobStatus.SUBMITTING,
            expect=(JobStatus.PENDING,),
            submit_started_at=now,
            submit_attempts=job.submit_attempts + 1,
            not_before=None,
            error_code="",
            error_message="",
        )
        return Claim.WON if won else Claim.TAKEN


class Outcome(NamedTuple):
    """What :func:`submit` did: the provider whose sweep should look next, and whether its
    limits (jobs in flight, creates per minute) made the job wait instead."""

    provider: str
    limited: bool = False


def submit(job_id: int) -> Outcome | None:
    """Claim, create, record; safe to run twice for one job. None when there was nothing to do."""
    job = VideoJob.objects.filter(pk=job_id).select_related("parent", "reference_image").first()
    if job is None or job.status != JobStatus.PENDING:
        return None
    if job.not_before and job.not_before > timezone.now():
        return None  # the sweep comes back when it is due
    provider = get_provider(job.provider)
    reference = _reference(job)  # prepared before the claim: after it, only the request remains
    claimed = claim(job, provider)
    if claimed is not Claim.WON:
        return Outcome(provider.name, limited=claimed is Claim.LIMITED)
    if not _still_ours(job):
        return None  # this worker stalled past the grace period and the sweep took the job over
    try:
        video = _create(job, provider, reference)
    except ProviderError as exc:
        _handle_error(job, provider, exc)
    except Exception as exc:  # a bug on our side: the request may or may not have gone out
        log.exception("unexpected error submitting job %s", job.pk)
        _handle_error(job, provider, ProviderError(f"Unexpected error: {exc!r}", ambiguous=True))
    else:
        record(job, provider, video)
    return Outcome(provider.name)


def _reference(job: VideoJob) -> ReferenceUpload | None:
    ref = job.reference_image
    if ref is None:
        return None
    with ref.image.open("rb") as fh:
        content = fh.read()
    fitted, content_type = fit_image(content, job.size, job.reference_fit)
    ext = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}[content_type]
    return ReferenceUpload(filename=f"reference.{ext}", content=fitted, content_type=content_type)


def _still_ours(job: VideoJob) -> bool:
    """A fence right before sending: the claim this worker made is still the current one."""
    return VideoJob.objects.filter(
        pk=job.pk, status=JobStatus.SUBMITTING, submit_started_at=job.submit_started_at
    ).exists()


def _create(job: VideoJob, provider: Provider, reference: ReferenceUpload | None) -> RemoteVideo:
    timeout = float(conf.get("SUBMIT_TIMEOUT"))
    if job.kind == JobKind.CREATE:
        return provider.create(
            prompt=job.prompt_text,
            model=job.model,
            size=job.size,
            seconds=job.seconds,
            reference=reference,
            extra=job.extra_params or None,
            timeout=timeout,
        )
    parent_id = job.parent.remote_id if job.parent else None
    if not parent_id:
        raise ProviderError("The source video has no remote id; it was never created at the provider.", status_code=400)
    if job.kind == JobKind.REMIX:
        return provider.remix(parent_id, prompt=job.prompt_text, timeout=timeout)
    if job.kind == JobKind.EDIT:
        return provider.edit(parent_id, prompt=job.prompt_text, timeout=timeout)
    return provider.extend(parent_id, prompt=job.prompt_text, seconds=job.seconds, timeout=timeout)


def record(job: VideoJob, provider: Provider, video: RemoteVideo) -> None:
    """Attach the provider's answer to the job."""
    try:
        with transaction.atomic():
            if sync_from_remote(job, video, provider=provider, adopt=True):
                return
    except IntegrityError:
        # reconciliation gave this remote id to another job meanwhile; ours is elsewhere in the list
        log.warning("remote id %s already adopted; reconciling job %s", video.id, job.pk)
        reconcile(job, provider)
        return
    job.refresh_from_db()
    if job.remote_id != video.id:
        log.error("job %s moved to %s while its create succeeded as %s", job.pk, job.status, video.id)


def _backoff(attempt: int, retry_after: float | None) -> float:
    if retry_after:
        return min(retry_after, 3600.0)
    return conf.backoff(attempt) * random.uniform(0.8, 1.2)


def _explain(exc: ProviderError, provider: Provider) -> str:
    status = exc.status_code
    if status == 401:
        return (
            f"{provider.config.display_name} rejected the API key ({exc}). Set a valid key in the environment "
            f"variable {provider.config.api_key_env}, restart, and re-submit."
        )
    if status == 403:
        return f"{provider.config.display_name} refused access ({exc}). Check the key's permissions, then re-submit."
    if status == 404:
        return f"{provider.config.display_name} has no such endpoint or video ({exc})."
    return f"{provider.config.display_name} refused the request ({exc}). Fix the input and re-submit."


NO_ANSWER = JobError.NO_ANSWER  # the create may have reached the provider: only its list can tell
UNVERIFIED = JobError.CREATE_UNVERIFIED  # the provider answered with an error, but its list could not be read


def _handle_error(job: VideoJob, provider: Provider, exc: ProviderError) -> None:
    if not exc.retryable:
        job.transition(
            JobStatus.FAILED,
            expect=(JobStatus.SUBMITTING,),
            error_code=(exc.code or f"http_{exc.status_code}")[:100],
            error_message=_explain(exc, provider),
        )
        return
    if exc.status_code != 429:  # no answer, or a 5xx: the job may exist after all
        found = reconcile(job, provider)
        if found:
            return
        if exc.ambiguous or found is None:
            job.update_fields(
                error_code=NO_ANSWER if exc.ambiguous else UNVERIFIED,
                error_message=f"No clear answer to the create request ({exc}); the provider's list is checked "
                "again before anything else is sent.",
            )
            return
    _retry_later(job, provider, str(exc), exc.retry_after, (exc.code or f"http_{exc.status_code or 'error'}"))


def _retry_later(job: VideoJob, provider: Provider, reason: str, retry_after: float | None, code: str) -> None:
    """Back to ``pending`` with backoff (the provider certainly made nothing), or fail after too many tries."""
    attempts = job.submit_attempts
    if attempts >= conf.get("SUBMIT_MAX_ATTEMPTS"):
        job.transition(
            JobStatus.FAILED,
            expect=(JobStatus.SUBMITTING,),
            error_code=code[:100],
            error_message=f"{provider.config.display_name} kept failing ({reason}) after {attempts} attempts. "
            "Re-submit later.",
        )
        return
    delay = _backoff(attempts, retry_after)
    job.transition(
        JobStatus.PENDING,
        expect=(JobStatus.SUBMITTING,),
        not_before=timezone.now() + dt.timedelta(seconds=delay),
        error_code=code[:100],
        error_message=f"Attempt {attempts} failed ({reason}); retrying in {delay:.0f} s.",
        message=f"retry in {delay:.0f} s after: {reason}",
    )


# --- reconciliation -----------------------------------------------------------------------
def _expected_seconds(job: VideoJob) -> int | None:
    if job.kind != JobKind.EXTEND:
        return job.seconds
    parent = job.parent
    if parent is None:
        return None
    parent_seconds = parent.remote_payload.get("seconds") if parent.remote_payload else None
    try:
        return int(float(parent_seconds)) + job.seconds if parent_seconds else parent.seconds + job.seconds
    except (TypeError, ValueError):
        return None


def matches(job: VideoJob, video: RemoteVideo) -> bool:
    """Could ``video`` be what ``job``'s create made? Missing remote fields do not disqualify."""
    if video.prompt is not None and video.prompt.strip() != job.prompt_text.strip():
        return False
    if video.model and job.kind == JobKind.CREATE and video.model != job.model:
        return False
    if video.size and video.size != job.size:
        return False
    expected = _expected_seconds(job)
    if video.seconds is not None and expected is not None and video.seconds != expected:
        return False
    if job.kind == JobKind.REMIX and video.remixed_from and job.parent and video.remixed_from != job.parent.remote_id:
        return False
    return True


def reconcile(job: VideoJob, provider: Provider) -> bool | None:
    """Find the video ``job``'s create made, if any, and adopt it.

    True when adopted, False when the provider's list has no such video, None when the
    list could not be read (nothing can be concluded).
    """
    started = job.submit_started_at or job.created_at
    window = dt.timedelta(seconds=conf.get("RECONCILE_WINDOW"))
    candidates: list[RemoteVideo] = []
    try:
        for video in provider.iter_videos(order="desc"):
            if video.created_at and video.created_at < started - window:
                break
            if matches(job, video):
                candidates.append(video)
    except ProviderError as exc:
        log.warning("could not list videos at %s to reconcile job %s: %s", provider.name, job.pk, exc)
        return None
    taken = set(
        VideoJob.objects.filter(provider=job.provider, remote_id__in=[v.id for v in candidates]).values_list(
            "remote_id", flat=True
        )
    )
    for video in reversed(candidates):  # oldest first: closest to our attempt
        if video.id in taken:
            continue
        try:
            with transaction.atomic():
                if sync_from_remote(job, video, provider=provider, adopt=True):
                    log.info("job %s adopted remote video %s", job.pk, video.id)
                    return True
                return False  # the job moved on meanwhile
        except IntegrityError:
            continue
    return False


def recover_stale(provider: Provider) -> int:
    """Jobs left ``submitting`` past the grace period: adopt their video or ask a person."""
    cutoff = timezone.now() - dt.timedelta(seconds=stale_after())
    stale = VideoJob.objects.filter(
        provider=provider.name, status=JobStatus.SUBMITTING, submit_started_at__lt=cutoff
    ).select_related("parent")
    handled = 0
    for job in stale:
        handled += 1
        found = reconcile(job, provider)
        if found is not False:
            continue  # adopted, or the list could not be read: look again next sweep
        if job.error_code == UNVERIFIED:
            # the provider answered with an error and its list confirms it made nothing
            _retry_later(job, provider, job.error_message, None, "create_refused")
            continue
        job.transition(
            JobStatus.NEEDS_ATTENTION,
            expect=(JobStatus.SUBMITTING,),
            error_code=JobError.CREATE_UNCONFIRMED,
            error_message=(
                "The create request got no answer and no matching video appeared in the provider's list "
                f"within {stale_after():.0f} s, so it was probably not created. Nothing was re-sent, to never "
                "pay twice. Check the provider's dashboard; then use 'Re-submit' to try again."
            ),
        )
    return handled
