"""Library sync: mirror every video a provider lists as a job, and store what can still be stored.

Idempotent on ``(provider, remote_id)``: a second run finds every video already known
and changes nothing (videos still generating are brought up to date, as the sweep
would). New videos are adopted through ``tracking.import_remote`` (the same
``sync_from_remote`` a submitted job goes through), oldest first so a remix finds its
parent; completed ones are downloaded here unless ``download=False`` (then the queued
download tasks do it) while the provider still serves them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from .. import capabilities, downloads, tracking
from ..exceptions import InvalidRequest, ProviderError
from ..models import JobStatus, VideoJob
from ..providers import RemoteVideo, get_provider

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@dataclass
class SyncResult:
    remote_id: str
    outcome: str  # imported, updated, unchanged, skipped
    job: VideoJob | None = None
    note: str = ""


def parents_first(videos: list[RemoteVideo]) -> list[RemoteVideo]:
    """Oldest first, and every remix after the video it was made from (timestamps have 1 s steps)."""
    pending = sorted(videos, key=lambda v: (v.created_at or EPOCH, v.id))
    listed = {v.id for v in videos}
    ordered: list[RemoteVideo] = []
    placed: set[str] = set()
    while pending:
        waiting = [v for v in pending if v.remixed_from in listed and v.remixed_from not in placed]
        ready = [v for v in pending if v not in waiting]
        if not ready:  # a cycle cannot happen, but never loop forever on a server's data
            ordered.extend(waiting)
            break
        ordered.extend(ready)
        placed.update(v.id for v in ready)
        pending = waiting
    return ordered


def sync_library(
    provider_name: str | None = None,
    *,
    download: bool = True,
    on_listed: Callable[[int], None] | None = None,
    on_step: Callable[[SyncResult], None] | None = None,
) -> list[SyncResult]:
    provider = get_provider(provider_name)
    reason = capabilities.refusal(provider.config, "list")
    if reason is not None:
        raise InvalidRequest(f"Nothing to sync: {reason}", field="provider")
    try:
        videos = parents_first(list(provider.iter_videos(order="desc")))
    except ProviderError as exc:
        if exc.status_code is None or exc.retryable and exc.status_code != 500:
            raise
        tracking.learn_list_failure(provider, exc)
        raise InvalidRequest(
            f"Nothing to sync: {provider.config.display_name} cannot list its videos (it answered {exc}). "
            "Sync needs the list; videos made here are still tracked one by one.",
            field="provider",
        ) from exc
    if on_listed is not None:
        on_listed(len(videos))
    results: list[SyncResult] = []
    for video in videos:
        try:
            job, created = tracking.import_remote(provider, video)
        except InvalidRequest as exc:
            result = SyncResult(video.id, "skipped", note=exc.message)
        else:
            if created:
                result = SyncResult(video.id, "imported", job)
            elif job.status in JobStatus.in_flight():
                before = (job.status, job.progress)
                tracking.sync_from_remote(job, video, provider=provider)
                job.refresh_from_db()
                result = SyncResult(video.id, "updated" if (job.status, job.progress) != before else "unchanged", job)
            else:
                result = SyncResult(video.id, "unchanged", job)
            if download and job.status == JobStatus.DOWNLOADING:
                downloads.download(job.pk)  # claim-safe next to a worker's queued task
                job.refresh_from_db()
                if result.outcome == "unchanged" and job.status != JobStatus.DOWNLOADING:
                    result.outcome = "updated"
        results.append(result)
        if on_step is not None:
            on_step(result)
    return results
