"""Download a video, a sequence or a collection as a ZIP with its provenance (see :mod:`videos.provenance`).

The archive is written to a temporary file first (never held in memory) and streamed from
there; the file goes away when the response is closed.
"""
from __future__ import annotations

import tempfile
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from .. import provenance, review, sequences
from ..models import Collection, JobStatus
from .access import gallery_access, visible_jobs, visible_sequence


def _zip_response(name: str, write: Any) -> HttpResponse:
    spool = tempfile.TemporaryFile()
    try:
        write(spool)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    response = FileResponse(spool, as_attachment=True, filename=name, content_type="application/zip")
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
@gallery_access
def export_job(request: HttpRequest, uuid: Any) -> HttpResponse:
    job = visible_jobs(request).select_related("owner", "prompt", "reference_image", "parent").filter(
        uuid=uuid).first()
    if job is None or job.status != JobStatus.COMPLETED or not job.assets.filter(variant="video").exists():
        raise Http404("Only a stored video can be exported.")
    name = f"{slugify(job.prompt_text)[:40] or 'video'}-{str(job.uuid)[:8]}.zip"
    return _zip_response(name, lambda out: provenance.write_zip(out, [job]))


@require_safe
@gallery_access
def export_sequence(request: HttpRequest, uuid: Any) -> HttpResponse:
    sequence = visible_sequence(request, uuid)
    jobs = [shot.job for shot in sequences.shots_of(sequence)
            if shot.job is not None and shot.job.status == JobStatus.COMPLETED]
    if not jobs:
        raise Http404("None of its shots is stored yet.")
    name = f"{slugify(sequence.title)[:40] or 'sequence'}-{str(sequence.uuid)[:8]}.zip"
    return _zip_response(name, lambda out: provenance.write_zip(out, jobs, sequence=sequence))


@require_safe
@gallery_access
def export_collection(request: HttpRequest, pk: int) -> HttpResponse:
    collection = Collection.objects.filter(pk=pk).first()
    jobs = list(review.stored_jobs(collection, request.user)) if collection is not None else []
    if not jobs:
        raise Http404("No stored video in this collection.")
    name = f"{slugify(collection.name)[:40] or 'collection'}.zip"
    return _zip_response(name, lambda out: provenance.write_zip(out, jobs))
