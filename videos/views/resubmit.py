"""Re-submit from the gallery: a failed or forgotten video made again as a new (paid) job.

Nothing is ever re-sent automatically (that would pay again); a person with the submit
permission decides here, as in the admin and with ``manage.py sora resubmit``.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .. import permissions, policy, services
from ..exceptions import SoraVideosError
from ..models import VideoJob
from ..policy import Action
from .access import gallery_access


def can_resubmit(user: Any, job: VideoJob) -> bool:
    return user.has_perm(permissions.SUBMIT) and policy.allows(Action.RESUBMIT, job)


@require_POST
@gallery_access
def resubmit(request: HttpRequest, uuid: Any) -> HttpResponse:
    job = VideoJob.objects.visible().filter(uuid=uuid).first()
    if job is None:
        raise Http404("No such video (it may have been deleted).")
    if not request.user.has_perm(permissions.SUBMIT):
        raise PermissionDenied("You need the permission to submit videos; ask an administrator.")
    try:
        again = services.resubmit(job, user=request.user)
    except SoraVideosError as exc:
        messages.error(request, f"Not re-submitted: {exc}")
        return redirect("videos:detail", uuid=job.uuid)
    messages.success(request, f"Re-submitted job {job.pk} as this new job; it is queued.")
    if services.workers_unreachable():
        messages.warning(request, services.WORKERS_UNREACHABLE)
    return redirect("videos:detail", uuid=again.uuid)
