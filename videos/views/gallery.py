"""The team gallery: a filterable grid of videos and one page per video.

Both pages run a fixed number of queries whatever the table holds: the grid is one
keyset-paginated query plus one prefetch of the page's files; the detail page loads the
family tree with recursive CTEs (see :mod:`videos.views.lineage`).
"""
from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_safe

from .. import advice, conf, permissions, policy, visibility
from ..exceptions import SoraVideosError
from ..filters import GalleryFilterForm, keyset_page
from ..models import JobStatus, SequenceShot, VideoAsset, VideoJob
from ..policy import Action
from .access import gallery_access, visible_jobs
from .actions import offered
from .lineage import lineage
from .pages import render_page
from .review import panel as review_panel
from .share import EXPIRY_CHOICES, links_of


def with_files(jobs: list[VideoJob]) -> list[VideoJob]:
    """Give each job a ``files`` dict of its assets by variant (from the prefetch)."""
    for job in jobs:
        job.files = {a.variant: a for a in job.assets.all()}  # type: ignore[attr-defined]
    return jobs


def provider_labels() -> dict[str, str]:
    try:
        return {name: p.display_name for name, p in conf.providers().items()}
    except SoraVideosError:
        return {}


def gallery_queryset(request: HttpRequest) -> QuerySet:
    assets = Prefetch("assets", queryset=VideoAsset.objects.order_by())
    return visibility.scope(VideoJob.objects.for_gallery(), request.user).prefetch_related(assets)


@require_safe
@gallery_access
def gallery(request: HttpRequest) -> HttpResponse:
    form = GalleryFilterForm(request.GET or None, user=request.user)
    if form.is_bound:
        form.is_valid()
    qs = form.apply(gallery_queryset(request))
    page = keyset_page(qs, after=request.GET.get("after", ""), before=request.GET.get("before", ""))
    with_files(page.items)
    labels = provider_labels()
    labels = labels if len(labels) > 1 else {}  # a card names its provider only where several make videos
    for job in page.items:
        job.provider_label = labels.get(job.provider, "")  # type: ignore[attr-defined]
    context = {
        "form": form,
        "page": page,
        "jobs": page.items,
        "next_url": f"?{form.querystring(after=page.next_cursor)}" if page.has_next else "",
        "prev_url": f"?{form.querystring(before=page.prev_cursor)}" if page.has_prev else "",
        "first_url": f"?{form.querystring()}" if not page.first else "",
        "clear_url": reverse("videos:gallery") if form.active_filters else "",
        "in_flight": any(job.is_active for job in page.items),
        "collection": form.cleaned_data.get("collection") if form.is_bound and form.is_valid() else None,
        "expiry_choices": EXPIRY_CHOICES,
    }
    return render_page(request, "sora_videos/gallery.html", context)


def admin_links(request: HttpRequest, job: VideoJob) -> dict[str, str]:
    """Links into the admin for an operator who may change or delete (empty without an admin)."""
    user = request.user
    links: dict[str, str] = {}
    try:
        if user.has_perm(permissions.CHANGE):
            links["change"] = reverse("admin:sora_videos_videojob_change", args=[job.pk])
        if user.has_perm(permissions.DELETE):
            links["delete"] = reverse("admin:sora_videos_videojob_delete", args=[job.pk])
    except NoReverseMatch:
        return {}
    return links


@require_safe
@gallery_access
def detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    job = (
        visible_jobs(request)
        .select_related("owner", "reference_image")
        .prefetch_related(Prefetch("assets", queryset=VideoAsset.objects.order_by("variant")))
        .filter(uuid=uuid)
        .first()
    )
    if job is None:
        raise Http404("No such video (it may have been deleted).")
    with_files([job])
    job.thumbs = [job.files["thumbnail"]] if "thumbnail" in job.files else []  # type: ignore[attr-defined]
    family = lineage(job)
    labels = provider_labels()
    job.provider_label = labels.get(job.provider, job.provider)  # type: ignore[attr-defined]
    video = job.files.get("video")  # type: ignore[attr-defined]
    downloads = sorted(job.files.values(), key=lambda a: ("video", "thumbnail", "spritesheet").index(a.variant)
                       if a.variant in ("video", "thumbnail", "spritesheet") else 9)  # type: ignore[attr-defined]
    try:
        currency = conf.get("CURRENCY")
    except SoraVideosError:
        currency = ""
    actions = offered(request.user, job)
    context = {
        "job": job,
        "video": video,
        "downloads": downloads,
        "lineage": family,
        "admin": admin_links(request, job),
        "actions": {a["slug"]: a for a in actions},
        "more_actions": [a for a in actions if a["slug"] not in ("approve", "reject", "delete")],
        "can_share": policy.allows_for(request.user, Action.SHARE, job),
        "share_links": links_of(request.user, job),
        "expiry_choices": EXPIRY_CHOICES,
        "review": review_panel(request.user, job) if job.status == JobStatus.COMPLETED else None,
        "failure": advice.explain(job),
        "currency": currency,
        "is_final": job.status in (*JobStatus.final(), JobStatus.NEEDS_ATTENTION),
        "shot_of": list(SequenceShot.objects.filter(job=job).select_related("sequence").order_by("sequence_id")),
    }
    return render_page(request, "sora_videos/detail.html", context)


__all__ = ["gallery", "detail"]
