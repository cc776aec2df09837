"""Keeping jobs current: one sweep per provider, as few API calls as it can.

``sync_from_remote`` is the only place a remote video's state lands on a job (the
submission, the sweep, webhooks and ``services.refresh`` all go through it);
``refresh_jobs`` brings many jobs up to date with as few calls as the server allows.
When to look again is :mod:`videos.pipeline`'s to decide.
"""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Iterable

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from . import capabilities, conf
from .exceptions import InvalidRequest, ProviderError
from .models import JobError, JobKind, JobStatus, VideoJob, VideoJobEvent
from .providers import Provider, RemoteVideo
from .providers import base as remote

log = logging.getLogger(__name__)

#: The remote states a job waits in, and ours for each.
WAITING = {remote.QUEUED: JobStatus.QUEUED, remote.IN_PROGRESS: JobStatus.IN_PROGRESS}


def _has_news(job: VideoJob, video: RemoteVideo) -> bool:
    """The provider reports another status or progress than we last stored."""
    return video.raw_status[:50] != job.remote_status or video.progress != job.progress


def _explain_failure(video: RemoteVideo) -> str:
    """What the provider said; what to do about it is :mod:`videos.advice`'s (per surface)."""
    code = video.error_code or "failed"
    return f"The provider failed this video ({code}): {video.error_message or 'The provider gave no reason.'}"


def poll_interval(provider: Provider, hint: float | None) -> float:
    """When to look again: the server's hint if it gave one, else our interval; rarely when
    webhooks announce the news."""
    if provider.config.webhook_secret():
        return max(hint or 0.0, float(conf.get("WEBHOOK_POLL_INTERVAL")))
    return max(0.1, hint) if hint is not None else float(conf.get("POLL_INTERVAL"))


def sync_from_remote(job: VideoJob, video: RemoteVideo, *, provider: Provider, poll_after: float | None = None,
                     adopt: bool = False) -> bool:
    """Mirror ``video`` onto ``job`` (dj-stripe's sync_from_remote). Returns False if the job moved on.

    With ``adopt`` the remote id is attached too (first answer to a create, or
    reconciliation), which fails with IntegrityError if another job already owns it.
    """
    now = timezone.now()
    fields: dict = {
        "remote_status": video.raw_status[:50],
        "remote_payload": video.raw,
        "last_checked_at": now,
        "progress": video.progress,
    }
    if adopt:
        fields.update(remote_id=video.id, submitted_at=now, last_news_at=now, not_before=None)
    elif _has_news(job, video):
        fields["last_news_at"] = now
    if video.completed_at:
        fields["completed_at"] = video.completed_at
    if video.expires_at:
        fields["expires_at"] = video.expires_at
    from_states = (JobStatus.SUBMITTING, JobStatus.NEEDS_ATTENTION) if adopt else (JobStatus.QUEUED, JobStatus.IN_PROGRESS)

    if video.status in WAITING:
        target = WAITING[video.status]
        fields["next_check_at"] = now + dt.timedelta(seconds=poll_interval(provider, poll_after))
        if adopt:
            fields.update(error_code="", error_message="")
        if job.status == target and not adopt:
            job.update_fields(**fields)
            return True
        return job.transition(target, expect=from_states, **fields)

    fields["next_check_at"] = None
    if video.status == remote.COMPLETED:
        fields.setdefault("completed_at", now)
        fields.update(progress=100, not_before=None, download_attempts=0, download_heartbeat_at=None,
                      error_code="", error_message="")
        return job.transition(JobStatus.DOWNLOADING, expect=from_states, **fields)  # the pipeline downloads it
    if video.status == remote.FAILED:
        fields.update(error_code=(video.error_code or "failed")[:100], error_message=_explain_failure(video))
        return job.transition(JobStatus.FAILED, expect=from_states, **fields)
    # expired or deleted at the provider before we stored anything
    what = "expired" if video.status == remote.EXPIRED else "was deleted"
    fields.update(
        error_code=video.status,
        error_message=f"The video {what} at the provider before it could be stored.",
    )
    return job.transition(JobStatus.FAILED, expect=from_states, **fields)


def import_remote(provider: Provider, video: RemoteVideo) -> tuple[VideoJob, bool]:
    """Mirror a video the provider lists but no job knows yet (library sync); ``(job, created)``.

    Idempotent on ``(provider, remote_id)``: a known video returns its job untouched. A new
    one becomes a job adopted through :func:`sync_from_remote`, so it lands in the same
    state a submitted job would (a completed one goes on to download). It is a remix of
    its parent when the provider names one we know. Raises
    :class:`~videos.exceptions.InvalidRequest` for a video that cannot be mirrored.
    """
    existing = VideoJob.objects.filter(provider=provider.name, remote_id=video.id).first()
    if existing is not None:
        return existing, False
    if not video.id:
        raise InvalidRequest("The provider listed a video without an id.", field="id")
    size = (video.size or "").lower()
    w, sep, h = size.partition("x")
    if not (sep and w.isdigit() and h.isdigit()):
        raise InvalidRequest(
            f"Video {video.id} does not report its size (got {video.size!r}), so its file could not be checked.",
            field="size",
        )
    config = provider.config
    model = video.model or config.default_model
    spec = config.models.get(model)
    seconds = video.seconds or 0  # 0: the server did not say
    cost = spec.cost(size, seconds) if spec is not None and seconds else Decimal("0")
    parent = None
    if video.remixed_from:
        parent = VideoJob.objects.filter(provider=provider.name, remote_id=video.remixed_from).first()
    now = timezone.now()
    try:
        with transaction.atomic():
            job = VideoJob.objects.create(
                provider=provider.name, model=model[:100], size=size, seconds=seconds,
                prompt_text=video.prompt or "", kind=JobKind.REMIX if parent else JobKind.CREATE, parent=parent,
                status=JobStatus.SUBMITTING, estimated_cost=cost, created_at=video.created_at or now,
            )
            VideoJobEvent.objects.create(
                job=job, from_status="", to_status=JobStatus.SUBMITTING, message="imported from the provider's list"
            )
            sync_from_remote(job, video, provider=provider, adopt=True)
            job.update_fields(submitted_at=video.created_at or now)
    except IntegrityError:  # another sync imported it meanwhile
        return VideoJob.objects.get(provider=provider.name, remote_id=video.id), False
    return job, True


def refresh_jobs(provider: Provider, jobs: Iterable[VideoJob]) -> int:
    """Bring ``jobs`` up to date; one list request covers many where the dialect allows.

    A page of the list also brings every other in-flight job on it up to date (one query per
    page finds them), so a full round over n jobs costs n/100 list calls however the checks
    fall due. The walk goes on until it has also passed the jobs due within half an interval
    (checked a little early), so a round is one walk, not one per slice of due jobs. A job
    whose state did not change is not written one by one: all of them get one bulk update
    of their check times. Returns the number of API calls made.
    """
    pending = {job.remote_id: job for job in jobs if job.remote_id}
    calls = 0
    if len(pending) >= 2 and capabilities.supports(provider.config, "list"):
        oldest = min(job.submitted_at or job.created_at for job in pending.values())
        horizon = oldest - dt.timedelta(seconds=conf.get("RECONCILE_WINDOW"))
        due_soon = _due_soon(provider, pending)
        after = None
        unchanged: list[int] = []
        progressed: list[tuple[VideoJob, RemoteVideo]] = []
        try:
            while pending or due_soon:
                page = provider.list_page(after=after, limit=100, order="desc")
                calls += 1
                due_soon.difference_update(video.id for video in page.videos)
                seen = _in_flight_on_page(provider, page.videos, pending)
                for video in page.videos:
                    job = seen.get(video.id)
                    if job is None:
                        continue
                    if _unchanged(job, video):
                        unchanged.append(job.pk)
                    elif WAITING.get(video.status) == job.status:
                        progressed.append((job, video))
                    else:
                        sync_from_remote(job, video, provider=provider)
                if not page.has_more or (page.videos and page.videos[-1].created_at
                                         and page.videos[-1].created_at < horizon):
                    break
                after = page.last_id
        except ProviderError as exc:
            if exc.status_code == 429 or exc.retry_after:
                log.warning("list at %s failed (%s); backing off", provider.name, exc)
                _back_off(list(pending.values()), exc)
                return calls
            # A server whose list does not work (LiteLLM, gateways) must not strand the jobs:
            # ask for each one instead, and remember that its list does not work.
            log.warning("list at %s failed (%s); asking for each job instead", provider.name, exc)
            learn_list_failure(provider, exc)
        finally:
            _checked(provider, unchanged)
            _progressed(provider, progressed)
    for job in pending.values():
        calls += 1
        refresh_one(provider, job)
    return calls


def _due_soon(provider: Provider, pending: dict[str, VideoJob]) -> set[str]:
    """Remote ids of the other jobs in flight due within half an interval (or overdue beyond
    the pass's slice): the walk reads on until it has passed them too."""
    soon = timezone.now() + dt.timedelta(seconds=poll_interval(provider, None) / 2)
    ids = VideoJob.objects.filter(provider=provider.name, status__in=JobStatus.in_flight()).filter(
        Q(next_check_at__lte=soon) | Q(next_check_at__isnull=True)).exclude(remote_id="").values_list(
        "remote_id", flat=True)
    return set(ids) - pending.keys()


def _in_flight_on_page(provider: Provider, videos: list[RemoteVideo], pending: dict[str, VideoJob]
                       ) -> dict[str, VideoJob]:
    """The page's videos that are jobs in flight: the due ones (taken out of ``pending``) and
    the others, found with one query."""
    seen = {video.id: pending.pop(video.id) for video in videos if video.id in pending}
    others = [video.id for video in videos if video.id and video.id not in seen]
    if others:
        seen.update((job.remote_id, job) for job in VideoJob.objects.filter(
            provider=provider.name, remote_id__in=others, status__in=JobStatus.in_flight()).defer("remote_payload"))
    return seen


def _unchanged(job: VideoJob, video: RemoteVideo) -> bool:
    """Still where we last saw it (same status, same progress): nothing to write but the check time."""
    return WAITING.get(video.status) == job.status and not _has_news(job, video)


def _checked(provider: Provider, job_ids: list[int]) -> None:
    """One UPDATE for every job a check found unchanged: when it was checked, when to look again."""
    if not job_ids:
        return
    now = timezone.now()
    then = now + dt.timedelta(seconds=poll_interval(provider, None))
    for start in range(0, len(job_ids), 1000):  # well under any database's parameter limit
        VideoJob.objects.filter(pk__in=job_ids[start:start + 1000], status__in=JobStatus.in_flight()).update(
            last_checked_at=now, next_check_at=then)


def _progressed(provider: Provider, found: list[tuple[VideoJob, RemoteVideo]]) -> None:
    """One UPDATE for the jobs a list page found further along in the same state (progress
    or payload moved): what :func:`sync_from_remote` writes for each, a ``CASE`` per column
    whose value differs. Written as SQL: the ORM's ``Case(When(...))`` costs more to build
    per job than the UPDATE it saves. Only jobs still in that state are written."""
    if not found:
        return
    now = timezone.now()
    then = now + dt.timedelta(seconds=poll_interval(provider, None))
    news = [(job, {"remote_status": video.raw_status[:50], "remote_payload": video.raw, "progress": video.progress})
            for job, video in found]
    same = {"last_checked_at": now, "last_news_at": now, "next_check_at": then, "updated_at": now}
    for start in range(0, len(news), 500):
        chunk = news[start:start + 500]
        for status in {job.status for job, _ in chunk}:
            _write_progress([(job, values) for job, values in chunk if job.status == status], same, status)
    for job, values in news:
        for name, value in (*values.items(), *same.items()):
            setattr(job, name, value)


def _write_progress(rows: list[tuple[VideoJob, dict[str, object]]], same: dict[str, object], status: str) -> None:
    db = connections[router.db_for_write(VideoJob)]
    meta, quote = VideoJob._meta, db.ops.quote_name
    sets, params = [], []
    for name in rows[0][1]:
        field = meta.get_field(name)
        sets.append(f"{quote(field.column)} = CASE {quote(meta.pk.column)} "
                    + " ".join("WHEN %s THEN %s" for _ in rows) + " END")
        for job, values in rows:
            params += [job.pk, field.get_db_prep_save(values[name], db)]
    for name, value in same.items():
        field = meta.get_field(name)
        sets.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, db))
    ids = [job.pk for job, _ in rows]
    sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} WHERE {quote(meta.pk.column)} IN "
           f"({', '.join(['%s'] * len(ids))}) AND {quote(meta.get_field('status').column)} = %s")
    with db.cursor() as cursor:
        cursor.execute(sql, [*params, *ids, status])


def learn_list_failure(provider: Provider, exc: ProviderError) -> None:
    """A list that fails for a reason other than load (a 4xx, a 500 like LiteLLM's) is learned."""
    if exc.status_code is not None and exc.status_code not in (408, 429, 502, 503, 504):
        capabilities.learn(provider.config, "list", False, str(exc))


def refresh_one(provider: Provider, job: VideoJob) -> None:
    try:
        video, hint = provider.retrieve(job.remote_id, model=job.model)
    except ProviderError as exc:
        if exc.status_code == 404:
            job.forget(exc, expect=(JobStatus.QUEUED, JobStatus.IN_PROGRESS), next_check_at=None)
        else:
            _back_off([job], exc)
        return
    sync_from_remote(job, video, provider=provider, poll_after=hint)


def _back_off(jobs: list[VideoJob], exc: ProviderError) -> None:
    delay = exc.retry_after or max(float(conf.get("POLL_INTERVAL")), conf.backoff(2))
    VideoJob.objects.filter(pk__in=[j.pk for j in jobs]).update(
        next_check_at=timezone.now() + dt.timedelta(seconds=delay)
    )


def flag_stalled(provider_name: str) -> int:
    """In-flight jobs with no news for STALL_TIMEOUT seconds need a person to look."""
    cutoff = timezone.now() - dt.timedelta(seconds=conf.get("STALL_TIMEOUT"))
    stalled = VideoJob.objects.filter(provider=provider_name, status__in=JobStatus.in_flight()).filter(
        Q(last_news_at__lt=cutoff) | Q(last_news_at__isnull=True, submitted_at__lt=cutoff)
    )
    count = 0
    for job in stalled:
        count += job.transition(
            JobStatus.NEEDS_ATTENTION,
            expect=JobStatus.in_flight(),
            error_code=JobError.STALLED,
            error_message=f"No progress reported by the provider for {conf.get('STALL_TIMEOUT')} seconds "
            f"(last status {job.remote_status or 'unknown'!r}). Refresh it, or delete and re-submit.",
            next_check_at=None,
        )
    return count
