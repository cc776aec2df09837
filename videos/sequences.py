"""Multi-shot sequences: create them, follow them, stitch them, retry or replace a shot.

A sequence is a list of shots (prompt, optional reference image, seconds) rendered as
one job each through :func:`videos.services.create_video`, all at one provider, model
and size. When the last shot's video is stored (``job_stored``), a ``stitch_sequence``
task joins the clips in order (:func:`videos.media.stitch`) and stores the MP4 with a
thumbnail and spritesheet under ``storage.sequence_key``.

Stitching is claimed with a conditional update (one winner among workers, a stale
claim is taken over after ``STITCH_STALE`` seconds) and tied to the sequence's
``revision``: retrying or replacing a shot bumps it, so a stitch of the old shots can
never be recorded as the current one.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from typing import Sequence as Seq

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import approvals, conf, services, storage, visibility
from .budgets import check_budget
from .exceptions import InvalidRequest, JobStateError
from .images import check_image
from .models import (
    JobStatus,
    ReferenceImage,
    Sequence,
    SequenceShot,
    SequenceStatus,
    VideoJob,
)
from .policy import STITCH_STALE, stitch_refusal
from .queue import enqueue
from .signals import job_status_changed, job_stored
from .validation import check_request

log = logging.getLogger(__name__)

#: Separates per-shot prompts in one prompt string: "shot one || shot two".
SHOT_SEPARATOR = "||"

BAD = (JobStatus.FAILED, JobStatus.NEEDS_ATTENTION, JobStatus.DELETED)


@dataclass
class ShotSpec:
    """One shot to render: ``image`` is a ReferenceImage, a path, a file or bytes."""

    prompt: str
    image: Any = None
    seconds: int | str | None = None


@dataclass
class ShotState:
    position: int
    prompt: str
    seconds: int
    job: VideoJob | None
    status: str
    progress: int
    error: str
    attempts: int


@dataclass
class SequenceProgress:
    sequence: Sequence
    shots: list[ShotState] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for s in self.shots if s.status == JobStatus.COMPLETED)

    @property
    def percent(self) -> int:
        """0-100 over the shots; stitching is the last step."""
        if not self.shots:
            return 0
        shots = sum(s.progress for s in self.shots) / len(self.shots)
        if self.sequence.is_current:
            return 100
        return min(99, int(shots))

    @property
    def failed(self) -> list[ShotState]:
        return [s for s in self.shots if s.status in BAD or s.job is None]

    @property
    def moving(self) -> bool:
        """Something is still under way: the sequence renders or stitches, or a shot still renders
        (one shot can fail while another is still being made). Pages poll while this holds."""
        return self.sequence.status in SequenceStatus.active() or any(
            s.status in JobStatus.active() for s in self.shots)

    @property
    def label(self) -> str:
        """The status in words, the same on the admin and the gallery."""
        sequence, total = self.sequence, len(self.shots)
        if sequence.status == SequenceStatus.RENDERING:
            if total and self.done == total:
                return "Waiting to stitch"
            return f"Rendering shots ({self.done} of {total} done)"
        if sequence.status == SequenceStatus.COMPLETED and not sequence.is_current:
            return "Shots changed; waiting to stitch again"
        return sequence.get_status_display()

    @property
    def stale_note(self) -> str:
        """Why the stored stitch is not the shots as they are now ("" when it is)."""
        sequence = self.sequence
        if sequence.is_current:
            return ""
        if sequence.stitched_revision != sequence.revision:
            return ("This is the previous stitch: a shot changed since, and the sequence is stitched again once "
                    "every shot is done.")
        if sequence.status == SequenceStatus.STITCHING:
            return "This is the previous stitch; the sequence is being stitched again."
        return "This is the previous stitch; the last attempt to stitch again did not finish."

    @property
    def version(self) -> str:
        """Changes when a page must be drawn again (a shot finished or failed, a stitch landed)."""
        s = self.sequence
        return f"{s.status}|{s.revision}|{s.stitched_revision}|{self.done}|{len(self.failed)}"


def split_prompts(text: str) -> list[str]:
    """``"a || b"`` -> ``["a", "b"]``; an empty part is an error (a stray separator)."""
    parts = [part.strip() for part in (text or "").split(SHOT_SEPARATOR)]
    if len(parts) > 1 and not all(parts):
        empty = [str(n) for n, part in enumerate(parts, 1) if not part]
        raise InvalidRequest(
            f"Shot prompt {', '.join(empty)} is empty: separate shot prompts with '{SHOT_SEPARATOR}' and write "
            "something for each.",
            field="prompt",
        )
    return parts


def plan_shots(prompts: Seq[str], images: Seq[Any], *, seconds: int | str | None = None) -> list[ShotSpec]:
    """Pair prompts with images, in order.

    One prompt and several images: the prompt is used for every image. As many prompts as
    images: one each. Several prompts and at most one image: one shot per prompt, the
    image (if any) starting the first shot. Anything else is an error.
    """
    prompts, images = list(prompts), list(images)
    if not prompts:
        raise InvalidRequest("The prompt is empty: describe the video to generate.", field="prompt")
    if len(images) > 1 and len(prompts) not in (1, len(images)):
        raise InvalidRequest(
            f"{len(prompts)} shot prompts for {len(images)} images: give one prompt for all of them, or one "
            "per image in the same order.",
            field="prompt",
        )
    count = max(len(prompts), len(images), 1)
    if len(prompts) == 1:
        prompts = prompts * count
    return [ShotSpec(prompt=prompts[n], image=images[n] if n < len(images) else None, seconds=seconds)
            for n in range(count)]


def create_sequence(
    shots: Seq[ShotSpec],
    *,
    title: str = "",
    provider: str | None = None,
    model: str | None = None,
    size: str | None = None,
    seconds: int | str | None = None,
    extra_params: dict[str, Any] | None = None,
    user: Any = None,
    fit: str | None = None,
    project: Any = None,
) -> Sequence:
    """Validate every shot, then queue one job per shot; all or nothing.

    Every prompt, image, size, duration and the total cost are checked before anything
    is written, so a bad shot 3 leaves no shots 1 and 2 behind.
    """
    if not shots:
        raise InvalidRequest("A sequence needs at least one shot.", field="shots")
    config = conf.provider(provider)
    fit = fit or conf.get("REFERENCE_FIT")
    if fit not in services.FITS:
        raise InvalidRequest(f"Unknown fit {fit!r}: use crop or letterbox.", field="fit")
    checked = []
    total = Decimal("0")
    for n, shot in enumerate(shots, 1):
        try:
            req = check_request(
                config, prompt=shot.prompt, model=model, size=size,
                seconds=shot.seconds if shot.seconds not in (None, "") else seconds, extra_params=extra_params,
            )
            if shot.image is not None and not isinstance(shot.image, ReferenceImage):
                check_image(shot.image)
        except InvalidRequest as exc:
            raise InvalidRequest(f"Shot {n}: {exc.message}", field=exc.field) from None
        checked.append(req)
        total += req.model.cost(req.size, req.seconds)
    visibility.check_member(user, project)
    check_budget(user, total, project)
    hold = approvals.needed(config, total, project)  # the whole sequence's cost decides, for every shot
    refs = [
        shot.image if shot.image is None or isinstance(shot.image, ReferenceImage)
        else services.save_reference_image(shot.image, user=user)
        for shot in shots
    ]
    first = checked[0]
    with transaction.atomic():
        sequence = Sequence.objects.create(
            title=(title or "").strip()[:200] or first.prompt[:80],
            owner=user if getattr(user, "pk", None) else None,
            provider=config.name, model=first.model.name, size=first.size,
            extra_params=first.extra_params, reference_fit=fit, project=project,
        )
        for n, (req, ref) in enumerate(zip(checked, refs), 1):
            job = services.create_video(
                req.prompt, model=req.model.name, size=req.size, seconds=req.seconds, reference_image=ref,
                provider=config.name, user=user, extra_params=req.extra_params, fit=fit, hold=hold, project=project,
            )
            SequenceShot.objects.create(
                sequence=sequence, position=n, prompt_text=req.prompt, reference_image=ref, seconds=req.seconds,
                job=job,
            )
    return sequence


# --- following -----------------------------------------------------------------------------
def shots_of(sequence: Sequence) -> list[SequenceShot]:
    return list(sequence.shots.select_related("job", "reference_image").order_by("position"))


def progress(sequence: Sequence, shots: list[SequenceShot] | None = None) -> SequenceProgress:
    """Per-shot state and overall progress."""
    report = SequenceProgress(sequence)
    for shot in shots if shots is not None else shots_of(sequence):
        job = shot.job
        report.shots.append(ShotState(
            position=shot.position, prompt=shot.prompt_text, seconds=shot.seconds, job=job,
            status=job.status if job else "missing",
            progress=job.percent if job else 0,
            error=(job.error_message if job else "The shot's job was removed; retry the shot."),
            attempts=shot.attempts,
        ))
    return report


def _attention_message(sequence: Sequence, bad: list[SequenceShot]) -> str:
    parts = []
    for shot in bad:
        if shot.job is None:
            parts.append(f"shot {shot.position} has no job")
        else:
            reason = shot.job.error_message or shot.job.get_status_display().lower()
            parts.append(f"shot {shot.position} (job {shot.job.pk}) is {shot.job.status}: {reason}")
    return "; ".join(parts).rstrip(".") + "."  # what to do is said per surface (videos.advice)


def update_status(sequence: Sequence) -> Sequence:
    """Recompute rendering / needs-attention from the shots (stitch states are the stitcher's)."""
    sequence.refresh_from_db()
    if sequence.status not in (SequenceStatus.RENDERING, SequenceStatus.NEEDS_ATTENTION):
        return sequence
    shots = shots_of(sequence)
    bad = [s for s in shots if s.job is None or s.job.status in BAD]
    if bad:
        target, message = SequenceStatus.NEEDS_ATTENTION, _attention_message(sequence, bad)
    else:
        target, message = SequenceStatus.RENDERING, ""
    if (target, message) != (sequence.status, sequence.error_message):
        Sequence.objects.filter(
            pk=sequence.pk, revision=sequence.revision,
            status__in=(SequenceStatus.RENDERING, SequenceStatus.NEEDS_ATTENTION),
        ).update(status=target, error_message=message, updated_at=timezone.now())
        sequence.refresh_from_db()
    return sequence


def ready_to_stitch(shots: list[SequenceShot]) -> bool:
    return bool(shots) and all(s.job is not None and s.job.status == JobStatus.COMPLETED for s in shots)


def request_stitch(sequence: Sequence) -> None:
    """Queue a stitch of the shots as they are now (again, if already stitched), unless
    :func:`videos.policy.stitch_refusal` refuses (its typed refusal is on the error)."""
    found = stitch_refusal(sequence, shots_of(sequence))
    if found is not None:
        raise found.error()
    enqueue("videos.tasks.stitch_sequence", sequence.pk, True)


def on_job_stored(job: VideoJob) -> None:
    """A job's files are stored: queue the stitch of every sequence it completes (none when
    the job says it is no shot: ``is_shot``, as the download reads it)."""
    if getattr(job, "is_shot", True) is False:
        return
    for sequence in Sequence.objects.filter(shots__job=job).distinct():
        if ready_to_stitch(shots_of(sequence)):
            enqueue("videos.tasks.stitch_sequence", sequence.pk)
        else:
            update_status(sequence)


def on_job_status_changed(job: VideoJob, old_status: str, new_status: str) -> None:
    """A shot failed (or recovered): say so on its sequence.

    Only a change into or out of a bad state can change a sequence's status, so the common
    path of every job (pending -> ... -> downloading) costs no sequence lookup.
    """
    if new_status == JobStatus.COMPLETED:
        return  # job_stored follows
    if new_status not in BAD and old_status not in BAD:
        return
    for sequence in Sequence.objects.filter(shots__job=job).distinct():
        update_status(sequence)


# --- fixing a shot -------------------------------------------------------------------------
def get_shot(sequence: Sequence, position: int) -> SequenceShot:
    shot = sequence.shots.select_related("job", "reference_image").filter(position=position).first()
    if shot is None:
        count = sequence.shots.count()
        raise InvalidRequest(f"Sequence {sequence.pk} has no shot {position}; its shots are 1 to {count}.",
                             field="shot")
    return shot


def _check_replaceable(shot: SequenceShot, *, force: bool, action: str) -> None:
    job = shot.job
    if job is not None and job.status in (JobStatus.DRAFT, *JobStatus.active()):
        raise JobStateError(
            f"Shot {shot.position} is still {job.get_status_display().lower()} (job {job.pk}); wait for it to "
            f"finish before you {action} it."
        )
    if job is not None and job.status == JobStatus.COMPLETED and not force:
        raise JobStateError(
            f"Shot {shot.position} is already completed (job {job.pk}); {action} it anyway with --force, or "
            "replace it with a new prompt or image."
        )


def _repoint(sequence: Sequence, shot: SequenceShot, job: VideoJob, **changes: Any) -> None:
    SequenceShot.objects.filter(pk=shot.pk).update(job=job, attempts=shot.attempts + 1, updated_at=timezone.now(),
                                                   **changes)
    Sequence.objects.filter(pk=sequence.pk).update(
        revision=F("revision") + 1, status=SequenceStatus.RENDERING, stitch_token="", error_message="",
        updated_at=timezone.now(),
    )


def retry_shot(sequence: Sequence, position: int, *, user: Any = None, force: bool = False) -> SequenceShot:
    """Render one shot again as a new job (same prompt, image and length); the others stay."""
    shot = get_shot(sequence, position)
    _check_replaceable(shot, force=force, action="retry")
    with transaction.atomic():
        job = services.create_video(
            shot.prompt_text, model=sequence.model, size=sequence.size, seconds=shot.seconds,
            reference_image=shot.reference_image, provider=sequence.provider, user=user,
            extra_params=sequence.extra_params, fit=sequence.reference_fit,
        )
        _repoint(sequence, shot, job)
    sequence.refresh_from_db()
    return get_shot(sequence, position)


def replace_shot(
    sequence: Sequence,
    position: int,
    *,
    prompt: str | None = None,
    image: Any = None,
    drop_image: bool = False,
    seconds: int | str | None = None,
    user: Any = None,
) -> SequenceShot:
    """Render one shot from a new prompt, image or length as a new job; the others stay."""
    shot = get_shot(sequence, position)
    _check_replaceable(shot, force=True, action="replace")
    if prompt is None and image is None and not drop_image and seconds in (None, ""):
        raise InvalidRequest("Say what to replace: a new prompt, image or length (or use retry).", field="prompt")
    new_image = None if drop_image else (image if image is not None else shot.reference_image)
    with transaction.atomic():
        job = services.create_video(
            prompt if prompt is not None else shot.prompt_text, model=sequence.model, size=sequence.size,
            seconds=seconds if seconds not in (None, "") else shot.seconds, reference_image=new_image,
            provider=sequence.provider, user=user, extra_params=sequence.extra_params, fit=sequence.reference_fit,
        )
        _repoint(sequence, shot, job, prompt_text=job.prompt_text, reference_image=job.reference_image,
                 seconds=job.seconds)
    sequence.refresh_from_db()
    return get_shot(sequence, position)


# --- deleting ------------------------------------------------------------------------------
def delete(sequence: Sequence, *, user: Any = None) -> list[int]:
    """Delete a sequence: its stitched files and its rows (shots, assets); the ids of the kept jobs.

    The shots' jobs are kept: each is a video of its own (in the gallery, billed, maybe
    remixed), so delete them from the job list if they should go too. Refused while a
    worker holds a live stitching claim; the delete is conditional on that, so a stitch
    can never start on a sequence being deleted.
    """
    stale = timezone.now() - dt.timedelta(seconds=STITCH_STALE)
    stitching = Q(status=SequenceStatus.STITCHING, stitch_started_at__gte=stale)
    jobs = [pk for pk in sequence.shots.order_by("position").values_list("job_id", flat=True) if pk]
    keys = set(sequence.assets.values_list("file", flat=True))
    with transaction.atomic():
        deleted, _ = Sequence.objects.filter(pk=sequence.pk).exclude(stitching).delete()
    if not deleted:
        if Sequence.objects.filter(pk=sequence.pk).exists():
            raise JobStateError(
                f"Sequence {sequence.pk} is being stitched right now; delete it once the stitch is done."
            )
        return jobs  # already gone
    for key in sorted(keys):
        try:
            storage.delete_key(key)
        except Exception:  # the rows are gone; a file left behind is only wasted space
            log.warning("could not delete %s of sequence %s", key, sequence.pk, exc_info=True)
    log.info("sequence %s deleted%s; its %d jobs are kept", sequence.pk,
             f" by {user}" if getattr(user, "pk", None) else "", len(jobs))
    return jobs


# --- what moves a sequence on: its shots' jobs (connected in VideosConfig.ready) -------------
def _shot_stored(sender: Any, job: VideoJob, **kwargs: Any) -> None:
    on_job_stored(job)


def _shot_status_changed(sender: Any, job: VideoJob, old_status: str, new_status: str, **kwargs: Any) -> None:
    on_job_status_changed(job, old_status, new_status)


def connect_receivers() -> None:
    job_stored.connect(_shot_stored, dispatch_uid="videos.sequences.job_stored")
    job_status_changed.connect(_shot_status_changed, dispatch_uid="videos.sequences.job_status_changed")
