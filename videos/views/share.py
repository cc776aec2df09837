"""Share links: making and revoking them on a video's page, and the public page they open.

The public page and its files need no sign-in: the token is the credential. It shows the
player and a download button and nothing else of the site; a revoked, expired or unknown
link, or a video no longer shown, is a plain 404.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from .. import policy, sharing
from ..exceptions import SoraVideosError
from ..models import Collection, ShareLink, VideoAsset, VideoJob
from .access import gallery_access, visible_jobs
from .media import serve_variant

#: What the video page offers for how long a link lasts.
EXPIRY_CHOICES = [("1d", "1 day"), ("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days")]


def links_of(user: Any, job: VideoJob) -> list[ShareLink]:
    """The live links of a video this person may see (their own, or all for a manager)."""
    links = job.share_links.live().select_related("created_by")
    return list(links if policy.manages(user) else links.filter(created_by=user))


def _say_made(request: HttpRequest, link: ShareLink) -> None:
    url = request.build_absolute_uri(reverse("videos:share", args=[link.token]))
    messages.success(request, f"Share link made, valid until {link.expires_at:%Y-%m-%d %H:%M %Z}: {url}")


@require_POST
@gallery_access
def share_create(request: HttpRequest, uuid: Any) -> HttpResponse:
    job = visible_jobs(request).filter(uuid=uuid).first()
    if job is None:
        raise Http404("No such video (it may have been deleted).")
    try:
        link = sharing.create(job, user=request.user, expires=request.POST.get("expires") or sharing.DEFAULT_EXPIRY)
    except SoraVideosError as exc:
        messages.error(request, f"Not shared: {exc}")
    else:
        _say_made(request, link)
    return redirect("videos:detail", uuid=job.uuid)


@require_POST
@gallery_access
def share_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    link = get_object_or_404(ShareLink.objects.select_related("job"), pk=pk)
    if link.created_by_id != request.user.pk and not policy.manages(request.user):
        raise Http404("No such share link.")
    sharing.revoke(link)
    messages.success(request, "The share link is revoked: it opens nothing now.")
    if link.collection_id:
        return redirect(reverse("videos:gallery") + f"?collection={link.collection_id}")
    return redirect("videos:detail", uuid=link.job.uuid)


@require_safe
def share_page(request: HttpRequest, token: str) -> HttpResponse:
    link = sharing.open_link(token, count=True)
    jobs = sharing.shown_jobs(link) if link is not None else []
    items = [{"job": job, "files": {a.variant: a for a in job.assets.all()}} for job in jobs]
    items = [item for item in items if "video" in item["files"]]
    if not items:
        raise Http404("No such share link.")
    title = link.collection.name if link.collection_id else items[0]["job"].short_prompt
    response = render(request, "sora_videos/share.html", {"link": link, "items": items, "title": title})
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"  # the token never leaks to where a click leads
    return response


@require_safe
def share_file(request: HttpRequest, token: str, variant: str, uuid: Any = None) -> HttpResponse:
    link = sharing.open_link(token)
    if link is None or variant not in ("video", "thumbnail"):
        raise Http404("No such share link.")
    job = next((j for j in sharing.shown_jobs(link) if uuid is None or j.uuid == uuid), None)
    item = VideoAsset.objects.filter(job=job, variant=variant).first() if job is not None else None
    if item is None:
        raise Http404("No such file.")
    return serve_variant(request, item, job.prompt_text, job.uuid)


@require_POST
@gallery_access
def share_collection(request: HttpRequest, pk: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    back = reverse("videos:gallery") + f"?collection={collection.pk}"
    try:
        link = sharing.create_for_collection(collection, user=request.user,
                                             expires=request.POST.get("expires") or sharing.DEFAULT_EXPIRY)
    except SoraVideosError as exc:
        messages.error(request, f"Not shared: {exc}")
    else:
        _say_made(request, link)
    return redirect(back)
