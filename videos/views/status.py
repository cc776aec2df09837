"""Live progress as JSON, for the gallery's in-flight cards and the detail page.

``jobs/<uuid>/status.json`` answers for one job; ``jobs/status.json?ids=a,b,c`` for up to
:data:`MAX_IDS` at once in one query. Neither ever calls the provider: when a watched
in-flight job's last check is older than ``LIVE_REFRESH_AFTER`` seconds its next check is
brought forward and the provider's sweep is kicked (queued, once per provider per
interval), so the queue does the remote call and many watchers cost one sweep.
"""
from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_safe

from ..models import JobStatus, VideoJob
from ..pipeline import nudge
from .access import json_access, visible_jobs
from .gallery import gallery_queryset, provider_labels, with_files

MAX_IDS = 100


def payload(job: VideoJob) -> dict[str, Any]:
    active = job.status in JobStatus.active()
    return {
        "id": str(job.uuid),
        "status": job.status,
        "status_label": job.get_status_display(),
        "progress": job.percent,
        "active": active,
        "done": not active,
        "error": job.error_message if job.status in (JobStatus.FAILED, JobStatus.NEEDS_ATTENTION) else "",
        "note": job.note,
        "updated_at": job.updated_at.isoformat() if job.updated_at else None,
        "url": reverse("videos:detail", args=[job.uuid]),
    }


@require_safe
@json_access
def job_status(request: HttpRequest, uuid: uuidlib.UUID) -> JsonResponse:
    job = visible_jobs(request).filter(uuid=uuid).first()
    if job is None:
        return JsonResponse({"error": "No such video (it may have been deleted)."}, status=404)
    nudge([job])
    return JsonResponse(payload(job))


def parse_ids(request: HttpRequest, noun: str) -> list[uuidlib.UUID] | JsonResponse:
    """The ``?ids=<uuid>,<uuid>`` of a batch status request, or the 400 that explains what is wrong."""
    raw = [part.strip() for part in request.GET.get("ids", "").split(",") if part.strip()]
    if not raw:
        return JsonResponse({"error": f"Pass the {noun} ids to watch: ?ids=<uuid>,<uuid>."}, status=400)
    if len(raw) > MAX_IDS:
        return JsonResponse({"error": f"At most {MAX_IDS} ids per request; got {len(raw)}."}, status=400)
    ids = []
    for value in raw:
        try:
            ids.append(uuidlib.UUID(value))
        except ValueError:
            return JsonResponse({"error": f"{value[:40]!r} is not a {noun} id."}, status=400)
    return ids


@require_safe
@json_access
def jobs_status(request: HttpRequest) -> JsonResponse:
    """Many jobs at once: ``?ids=<uuid>,<uuid>``; ``&cards=1`` adds the card HTML of finished ones."""
    ids = parse_ids(request, "job")
    if isinstance(ids, JsonResponse):
        return ids
    jobs = list(gallery_queryset(request).filter(uuid__in=ids))
    nudge(jobs)
    with_cards = request.GET.get("cards") == "1"
    labels = provider_labels() if with_cards else {}
    result: dict[str, Any] = {}
    finished = [j for j in jobs if j.status not in JobStatus.active()]
    if with_cards and finished:
        with_files(finished)
    for job in jobs:
        item = payload(job)
        if with_cards and job in finished:
            job.provider_label = labels.get(job.provider, job.provider)  # type: ignore[attr-defined]
            item["html"] = render_to_string("sora_videos/_card.html", {"job": job}, request=request)
        result[str(job.uuid)] = item
    missing = [str(i) for i in ids if str(i) not in result]
    return JsonResponse({"jobs": result, "missing": missing, "poll_after": 2.0,
                         "at": dt.datetime.now(dt.timezone.utc).isoformat()})
