"""The job page: the live panel (status, progress, player, the buttons videos.policy allows) and
the endpoint its script polls, which never calls the provider (it nudges the sweep)."""
from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse

from .. import advice, policy
from ..models import AssetVariant, SequenceShot, VideoJob
from ..pipeline import nudge
from ..policy import Action
from .common import (
    RETURN_FIELD,
    asset_url,
    can_submit,
    reference_image_url,
    safe_provider,
)
from .job_filters import STATUS_LABELS


class LivePanelMixin:
    """The job admin's change view, live panel and progress endpoint."""

    # --- the job page ------------------------------------------------------------------------
    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        job = self._job(request, object_id)
        context = {**(extra_context or {}), **self.page_context(request, job)} if job else extra_context
        return super().change_view(request, object_id, form_url, context)

    def _job(self, request: HttpRequest, object_id: str) -> VideoJob | None:
        return (
            VideoJob.objects.filter(pk=unquote(object_id)).select_related(
                "owner", "parent", "prompt", "reference_image").prefetch_related(
                "assets", "events", Prefetch("children", VideoJob.objects.order_by("created_at", "id"))).first()
            if str(unquote(object_id)).isdigit() else None
        )

    def page_context(self, request: HttpRequest, job: VideoJob) -> dict[str, Any]:
        config = safe_provider(job.provider)
        fit_url = None
        if job.reference_image_id and job.reference_image.size != job.size:
            fit_url = reverse("admin:sora_videos_referenceimage_fit", args=[job.reference_image_id, job.size,
                                                                        job.reference_fit or "crop"])
        return {
            "title": f"Job #{job.pk}",
            "subtitle": job.short_prompt,
            "job": job,
            "provider": config,
            "emulator": bool(config and config.emulator),
            "children": list(job.children.all()),
            "shot_of": list(SequenceShot.objects.filter(job=job).select_related("sequence").order_by("sequence_id")),
            "reference_url": reference_image_url(job.reference_image),
            "reference_fit_url": fit_url,
            "live": self.live_context(request, job, config),
            "show_delete_link": False,
        }

    def live_context(self, request: HttpRequest, job: VideoJob, config: Any = None) -> dict[str, Any]:
        assets = {asset.variant: asset for asset in job.assets.all()}
        downloads = [
            {"label": asset.get_variant_display(), "url": asset_url(asset, download=True), "bytes": asset.bytes,
             "width": asset.width, "height": asset.height, "duration": asset.duration}
            for variant in (AssetVariant.VIDEO, AssetVariant.THUMBNAIL, AssetVariant.SPRITESHEET)
            if (asset := assets.get(variant)) is not None
        ]
        events = list(job.events.all())
        return {
            "job": job,
            "version": self.version(job, len(events)),
            "progress_url": reverse("admin:sora_videos_videojob_progress", args=[job.pk]),
            "label": STATUS_LABELS.get(job.status, job.get_status_display()),
            "next_step": advice.for_job(job, advice.Surface.ADMIN),
            "shown_progress": job.percent,
            "active": job.is_active,
            "events": events,
            "video_url": asset_url(assets.get(AssetVariant.VIDEO)),
            "thumbnail_url": asset_url(assets.get(AssetVariant.THUMBNAIL)),
            "spritesheet_url": asset_url(assets.get(AssetVariant.SPRITESHEET)),
            "has_assets": bool(assets),
            "downloads": downloads,
            "tools": self.tools(request, job, config if config is not None else safe_provider(job.provider)),
            "changelist_url": reverse("admin:sora_videos_videojob_changelist"),
            "change_url": reverse("admin:sora_videos_videojob_change", args=[job.pk]),
            "return_field": RETURN_FIELD,
        }

    @staticmethod
    def version(job: VideoJob, events: int) -> str:
        """Changes whenever the live block must be drawn again (not for progress alone)."""
        return f"{job.status}|{job.stored_at and job.stored_at.timestamp()}|{job.error_code}|{events}"

    def tools(self, request: HttpRequest, job: VideoJob, config: Any) -> list[dict[str, Any]]:
        """The buttons that apply to this job for this user (the services still decide)."""
        submit = can_submit(request)
        operate = self.has_operate_permission(request)
        found = []

        def may(action: str) -> bool:
            return policy.allows_for(request.user, action, job)

        def add(action: str, label: str, *, when: bool, style: str = "", hint: str = "") -> None:
            if when:
                found.append({"action": action, "label": label, "style": style, "hint": hint})

        add("submit_jobs", "Submit", when=submit and may(Action.SUBMIT), style="primary")
        add("refresh_jobs", "Refresh status", when=operate and may(Action.REFRESH))
        add("remix_jobs", "Remix…", when=submit and may(Action.REMIX), style="primary",
            hint="A new video from this one with one change")
        add("edit_jobs", "Edit…", when=submit and may(Action.EDIT), hint="A new video editing this one")
        add("extend_jobs", "Extend…", when=submit and may(Action.EXTEND), hint="Continue this video")
        add("resubmit_jobs", "Re-submit as new job", when=submit and may(Action.RESUBMIT), hint="Same request, new job")
        add("retry_download_jobs", "Retry download", when=operate and may(Action.RETRY_DOWNLOAD))
        add("approve_jobs", "Approve", when=may(Action.APPROVE), style="primary", hint="It is sent and made")
        add("reject_jobs", "Reject…", when=may(Action.REJECT), hint="Not made; the maker sees why")
        if self.has_delete_permission(request, job) and may(Action.DELETE):
            found.append({"url": reverse("admin:sora_videos_videojob_delete", args=[job.pk]), "label": "Delete…",
                          "style": "danger", "hint": "At the provider and here"})
        return found

    def progress_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """Polled by the job page: status and progress, and the live block when it changed."""
        job = get_object_or_404(VideoJob, pk=unquote(object_id)) if str(unquote(object_id)).isdigit() else None
        if job is None:
            raise Http404
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        nudge([job])  # watched and stale: the sweep looks soon; a page never waits on the provider
        job = self._job(request, object_id)
        live = self.live_context(request, job)
        data = {
            "status": job.status,
            "status_display": job.get_status_display(),
            "label": live["label"],
            "progress": live["shown_progress"],
            "error": job.error_message,
            "active": job.is_active,
            "version": live["version"],
        }
        if request.GET.get("v") != live["version"]:
            data["html"] = render_to_string("admin/sora_videos/videojob/_live.html", {"live": live}, request=request)
        return JsonResponse(data)
