"""The one Python API of the app: admin, CLI, gallery and tests all come through here.

Every function validates its input before anything is written or sent (raising
:class:`~videos.exceptions.InvalidRequest` with a message for the user), writes its rows
in one transaction, and leaves the remote calls to the queue.
"""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction

from . import approvals, budgets, capabilities, conf, policy, queue, submitter, tracking, visibility
from .budgets import check_budget
from .exceptions import InvalidRequest, JobStateError, ProviderError, SoraVideosError
from .images import check_image
from .models import JobError, JobKind, JobStatus, Lease, Project, Prompt, ReferenceImage, VideoJob, VideoJobEvent
from .policy import Action
from .providers import get_provider
from .signals import approval_requested
from .storage import delete_key
from .validation import check_extra_params, check_prompt, check_request

log = logging.getLogger(__name__)

#: What a person who just queued work is told when the workers' broker could not take it.
WORKERS_UNREACHABLE = ("The workers cannot be reached right now (the task queue's broker is down): what you "
                       "queued is saved and will be submitted when they are. Nothing is lost and you need not "
                       "queue it again.")


def workers_unreachable() -> bool:
    """Whether the work just queued here could not be handed to the workers (their broker is
    down). It is saved all the same, and the sweep submits it once they can be reached."""
    return queue.unreachable()

FITS = ("crop", "letterbox")


def _who(user: Any) -> str:
    return f" by {user.get_username()}" if user is not None and getattr(user, "is_authenticated", False) else ""


def estimate_cost(*, model: str | None = None, size: str | None = None, seconds: int | str | None = None,
                  provider: str | None = None) -> Decimal:
    """Price per second times seconds, for the given (or default) choices."""
    config = conf.provider(provider)
    spec = config.model(model)
    return spec.cost(size or spec.sizes[0], seconds or spec.seconds[0])


def job_cost(job: VideoJob, seconds: int | str | None = None) -> Decimal:
    """What ``job``'s request costs again (``seconds``: another length; 0 if its provider is gone)."""
    try:
        return conf.provider(job.provider).model(job.model).cost(job.size, seconds or job.seconds)
    except SoraVideosError:
        return Decimal("0")


def save_reference_image(source: Any, *, user: Any = None) -> ReferenceImage:
    """Check an image (see :func:`videos.images.check_image`) and store it once per content."""
    checked = check_image(source)
    existing = ReferenceImage.objects.filter(sha256=checked.sha256).first()
    if existing is not None:
        return existing
    ref = ReferenceImage(
        original_name=checked.original_name, format=checked.format, sha256=checked.sha256,
        width=checked.width, height=checked.height, owner=user if getattr(user, "pk", None) else None,
    )
    ref.image.save(checked.original_name, ContentFile(checked.content), save=False)
    ref.save()
    return ref


def _commit_spend(user: Any, cost: Decimal, project: Any = None) -> None:
    """Check ``cost`` against the budgets under the one budget lock; the caller commits the spend
    (a new pending job, a draft turned pending) in the same transaction, so two spenders never
    both fit in the last dollar. Every path that spends goes through here."""
    if cost > 0 and budgets.limited(user, project):
        Lease.lock("budget")
    check_budget(user, cost, project)


def _new_job(user: Any, cost: Decimal, note: str, *, hold: bool | None = None, **fields: Any) -> VideoJob:
    """Create a pending job under the budget lock and queue its submission; or, when it costs
    more than may be spent without approval (``hold``), one awaiting approval (reserved, not sent)."""
    config = conf.provider(fields["provider"])
    project = fields.get("project")
    if hold is None:
        hold = approvals.needed(config, cost, project)
    status = JobStatus.AWAITING_APPROVAL if hold else JobStatus.PENDING
    with transaction.atomic():
        _commit_spend(user, cost, project)
        job = VideoJob.objects.create(
            status=status,
            estimated_cost=cost,
            owner=user if getattr(user, "pk", None) else None,
            **fields,
        )
        message = note + _who(user) + (f"; {approvals.why(config, cost, project)}" if hold else "")
        VideoJobEvent.objects.create(job=job, from_status="", to_status=status, message=message)
        if hold:
            transaction.on_commit(lambda: approval_requested.send(sender=VideoJob, job=job))
        else:
            submitter.queue_submissions(job.provider)
    return job


def create_video(
    prompt: str | Prompt,
    *,
    model: str | None = None,
    size: str | None = None,
    seconds: int | str | None = None,
    reference_image: Any = None,
    provider: str | None = None,
    user: Any = None,
    extra_params: dict[str, Any] | None = None,
    fit: str | None = None,
    hold: bool | None = None,
    project: Project | None = None,
) -> VideoJob:
    """Validate, then queue a new video. ``reference_image``: a ReferenceImage, path, file or bytes.
    ``hold``: wait for approval (None: when it costs more than ``APPROVAL_ABOVE``). ``project``:
    the project it belongs to (the person must be a member; its budget and threshold apply)."""
    config = conf.provider(provider)
    visibility.check_member(user, project)
    saved_prompt = prompt if isinstance(prompt, Prompt) else None
    text = saved_prompt.compose() if saved_prompt else prompt
    req = check_request(config, prompt=text, model=model, size=size, seconds=seconds, extra_params=extra_params)
    fit = fit or conf.get("REFERENCE_FIT")
    if fit not in FITS:
        raise InvalidRequest(f"Unknown fit {fit!r}: use crop or letterbox.", field="fit")
    cost = req.model.cost(req.size, req.seconds)
    check_budget(user, cost, project)  # early, before an image is stored
    ref = reference_image
    if ref is not None and not isinstance(ref, ReferenceImage):
        ref = save_reference_image(ref, user=user)
    return _new_job(
        user, cost, "created", hold=hold,
        provider=config.name, model=req.model.name, size=req.size, seconds=req.seconds,
        prompt_text=req.prompt, prompt=saved_prompt, reference_image=ref, reference_fit=fit,
        extra_params=req.extra_params, kind=JobKind.CREATE, project=project,
    )


def _derived(job: VideoJob, prompt: str, kind: str, user: Any, *, seconds: int | None = None) -> VideoJob:
    """A child job made from a completed one (remix, edit, extension)."""
    policy.require({JobKind.REMIX: Action.REMIX, JobKind.EDIT: Action.EDIT, JobKind.EXTEND: Action.EXTEND}[kind], job)
    config = conf.provider(job.provider)
    text = check_prompt(prompt)
    spec = config.model(job.model)
    if seconds is not None and str(seconds) not in spec.extend_seconds:
        raise InvalidRequest(
            f"An extension can add {', '.join(spec.extend_seconds)} seconds, not {seconds}.", field="seconds"
        )
    length = job.seconds if seconds is None else int(seconds)
    return _new_job(user, spec.cost(job.size, length), f"{JobKind(kind).label.lower()} of job {job.pk}",
                    provider=job.provider, model=job.model, size=job.size, seconds=length, prompt_text=text,
                    kind=kind, parent=job, project=job.project)


def remix(job: VideoJob, prompt: str, *, user: Any = None) -> VideoJob:
    """A new video from a completed one with one focused change described by ``prompt``."""
    return _derived(job, prompt, JobKind.REMIX, user)


def edit(job: VideoJob, prompt: str, *, user: Any = None) -> VideoJob:
    """A new video that edits a completed one as ``prompt`` says."""
    return _derived(job, prompt, JobKind.EDIT, user)


def extend(job: VideoJob, prompt: str, *, seconds: int | str, user: Any = None) -> VideoJob:
    """A continuation of a completed video; ``seconds`` is the added segment's length."""
    return _derived(job, prompt, JobKind.EXTEND, user, seconds=seconds)


def resubmit(job: VideoJob, *, user: Any = None) -> VideoJob:
    """A new job with the same request as ``job`` (which is left as it is)."""
    policy.require(Action.RESUBMIT, job)
    config = conf.provider(job.provider)
    spec = config.model(job.model)
    check_extra_params(config, spec, job.extra_params)
    return _new_job(
        user, spec.cost(job.size, job.seconds), f"re-submission of job {job.pk}",
        provider=job.provider, model=job.model, size=job.size, seconds=job.seconds, prompt_text=job.prompt_text,
        prompt=job.prompt, reference_image=job.reference_image, reference_fit=job.reference_fit,
        extra_params=job.extra_params, kind=job.kind, parent=job.parent, project=job.project,
    )


def submit(job: VideoJob) -> VideoJob:
    """Queue a draft for submission (or for approval, when it costs more than may be spent without)."""
    policy.require(Action.SUBMIT, job)
    config = conf.provider(job.provider)
    with transaction.atomic():
        _commit_spend(job.owner, job.estimated_cost, job.project)
        if approvals.needed(config, job.estimated_cost, job.project):
            job.transition(JobStatus.AWAITING_APPROVAL, expect=(JobStatus.DRAFT,),
                           message=f"submitted; {approvals.why(config, job.estimated_cost, job.project)}")
        elif job.transition(JobStatus.PENDING, expect=(JobStatus.DRAFT,), message="submitted"):
            submitter.queue_submissions(job.provider)
    return job


def approve(job: VideoJob, *, user: Any = None) -> VideoJob:
    """A reviewer's yes: the job is submitted, once, even if two reviewers decide at the same moment."""
    policy.require(Action.APPROVE, job)
    with transaction.atomic():
        approved = job.transition(JobStatus.PENDING, expect=(JobStatus.AWAITING_APPROVAL,),
                                  message=f"approved{_who(user)}")
        if not approved:
            raise JobStateError("Another reviewer decided on this video a moment ago; it is sent at most once.")
        submitter.queue_submissions(job.provider)
    approvals.tell_maker(job, approved=True, by=user)
    return job


def reject(job: VideoJob, reason: str, *, user: Any = None) -> VideoJob:
    """A reviewer's no, with the reason the maker is shown; nothing was sent, nothing is spent."""
    policy.require(Action.REJECT, job)
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidRequest("Say why, so the maker knows what to change.", field="reason")
    words = f"Not approved{_who(user)}: {reason[:500]}"
    if not job.transition(JobStatus.FAILED, expect=(JobStatus.AWAITING_APPROVAL,), message=words,
                          error_code=JobError.REJECTED, error_message=words):
        raise JobStateError("Another reviewer decided on this video a moment ago.")
    approvals.tell_maker(job, approved=False, by=user, reason=reason)
    return job


def refresh(job: VideoJob) -> VideoJob:
    """Ask the provider for the job's state now and mirror it."""
    policy.require(Action.REFRESH, job)
    tracking.refresh_one(get_provider(job.provider), job)
    job.refresh_from_db()
    return job


def retry_download(job: VideoJob) -> VideoJob:
    """Try storing a paid video again (after download failures)."""
    policy.require(Action.RETRY_DOWNLOAD, job)
    job.transition(  # the pipeline queues the download once this commits
        JobStatus.DOWNLOADING,
        expect=(job.status,),
        download_attempts=0,
        download_heartbeat_at=None,
        not_before=None,
        message="download retried",
    )
    return job


def delete(job: VideoJob, *, user: Any = None) -> VideoJob:
    """Delete the video at the provider (fine if it is already gone) and every local file.

    A server without DELETE (LiteLLM, gateways) keeps its copy: ours goes anyway, and the
    returned job's ``remote_note`` (also in its history) says so; "" when it went there too.
    """
    job.remote_note = note = ""
    if job.status == JobStatus.DELETED:
        return job
    policy.require(Action.DELETE, job)
    if job.remote_id:
        config = conf.provider(job.provider)
        kept = f"its copy of {job.remote_id} stays there until the server drops it"
        if not capabilities.supports(config, "delete"):
            why = capabilities.get(config, "delete").explain(config)
            note = f"{config.display_name} cannot delete videos ({why}): {kept}."
        else:
            try:
                get_provider(job.provider).delete(job.remote_id, model=job.model)
            except ProviderError as exc:
                if exc.endpoint_missing:
                    capabilities.learn(config, "delete", False, f"DELETE answered {exc}")
                    note = f"{config.display_name} does not delete videos (it answered {exc}): {kept}."
                elif exc.status_code in (400, 409) and job.status in JobStatus.in_flight():
                    raise JobStateError(
                        f"{config.display_name} will not delete a video while it is generating ({exc}). "
                        "Try again when it is done."
                    ) from exc
                else:
                    raise
    for asset in list(job.assets.all()):
        delete_key(asset.file.name)
        asset.delete()
    job.transition(
        JobStatus.DELETED, expect=(job.status,), next_check_at=None,
        message="deleted" + _who(user) + (f"; {note}" if note else ""),
    )
    job.remote_note = note
    return job


def perform(action: str, job: VideoJob, *, user: Any = None, prompt: str = "", seconds: int | str | None = None,
            reason: str = "") -> VideoJob:
    """Do ``action`` to ``job`` (a :class:`videos.policy.Action`) with what the surface collected:
    the one dispatch behind the gallery's and the API's buttons. Returns the job it made or changed."""
    calls = {
        Action.SUBMIT: lambda: submit(job),
        Action.REMIX: lambda: remix(job, prompt, user=user),
        Action.EDIT: lambda: edit(job, prompt, user=user),
        Action.EXTEND: lambda: extend(job, prompt, seconds=seconds, user=user),
        Action.RESUBMIT: lambda: resubmit(job, user=user),
        Action.REFRESH: lambda: refresh(job),
        Action.RETRY_DOWNLOAD: lambda: retry_download(job),
        Action.APPROVE: lambda: approve(job, user=user),
        Action.REJECT: lambda: reject(job, reason, user=user),
        Action.DELETE: lambda: delete(job, user=user),
    }
    if action not in calls:
        raise ValueError(f"no service for action {action!r}")
    return calls[action]()
