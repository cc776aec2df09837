"""The job admin: the operators' studio for generating, watching and handling videos."""
from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from .. import conf, permissions, visibility
from ..models import AssetVariant, JobKind, VideoAsset, VideoJob
from . import actions
from .common import (
    SubmitPermissionMixin,
    asset_url,
    can_submit,
    money,
    safe_provider,
)
from .generate import GeneratePageMixin
from .job_filters import ModelFilter, ProviderFilter, SizeFilter, status_badge
from .large_tables import IndexedDateHierarchyChangeList, LargeTablePaginator
from .live import LivePanelMixin


class VideoJobAdmin(SubmitPermissionMixin, GeneratePageMixin, LivePanelMixin, admin.ModelAdmin):
    list_display = ("thumb", "title", "status_column", "spec", "cost_column", "owner_column", "created")
    list_display_links = ("thumb", "title")
    # no filter reads the job table for its choices; the date hierarchy probes the created_at index;
    # the paginator counts at most 10,000 rows (large_tables)
    list_filter = ("status", "kind", ProviderFilter, ModelFilter, SizeFilter, "owner", "created_at")
    search_fields = ("prompt_text", "remote_id")
    search_help_text = "Search the prompt text or the provider's video id."
    date_hierarchy = "created_at"
    list_select_related = ("owner",)
    list_per_page = 50
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = [
        actions.submit_jobs, actions.remix_jobs, actions.edit_jobs, actions.extend_jobs, actions.resubmit_jobs,
        actions.refresh_jobs, actions.retry_download_jobs, actions.approve_jobs, actions.reject_jobs,
        actions.delete_jobs,
    ]
    change_form_template = "admin/sora_videos/videojob/change_form.html"
    change_list_template = "admin/sora_videos/videojob/change_list.html"
    fieldsets = (
        ("Request", {"fields": ("prompt_text", ("kind", "parent_link"), ("provider_column", "model"),
                                ("size", "seconds"), ("prompt_link", "reference_link"), "reference_fit",
                                "extra_params")}),
        ("Cost and owner", {"fields": (("cost_display", "owner"), "uuid")}),
        ("Record as loaded", {
            "classes": ("collapse",),
            "description": "The row as it was when this page was loaded; the panel above updates live.",
            "fields": (("status", "remote_status", "progress"), "remote_id", "error_code", "error_message",
                       ("created_at", "submitted_at"), ("completed_at", "stored_at"), ("expires_at", "updated_at"),
                       ("submit_attempts", "submit_started_at"), ("download_attempts", "download_heartbeat_at"),
                       ("not_before", "next_check_at"), ("last_checked_at", "last_news_at")),
        }),
        ("Provider payload", {"fields": ("payload",)}),
    )
    readonly_fields = ("parent_link", "provider_column", "prompt_link", "reference_link", "cost_display", "uuid",
                       "payload")

    class Media:
        css = {"all": ("sora_videos/admin/admin.css",)}

    # --- permissions ------------------------------------------------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        """Adding a job is generating a video: it spends money."""
        return can_submit(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Jobs mirror the provider: the form is read-only; actions change them."""
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        """Approve or reject what waits for approval (APPROVAL_ABOVE)."""
        return request.user.has_perm(permissions.APPROVE)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Refresh and retry downloads: changes the job, spends nothing."""
        return request.user.has_perm(permissions.CHANGE)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        found = super().get_actions(request)
        found.pop("delete_selected", None)  # would drop rows without deleting at the provider
        return found

    # --- changelist ---------------------------------------------------------------------
    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type:
        return IndexedDateHierarchyChangeList

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().changelist_view(request, {"title": "Video jobs", **(extra_context or {})})
        context = getattr(response, "context_data", None) or {}
        paginator = getattr(context.get("cl"), "paginator", None)
        if paginator is not None and not getattr(paginator, "exact", True):  # not "All 120000 selected"
            context["selection_note_all"] = f"All {context['module_name']} selected ({paginator.count_label})"
        return response

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        thumbs = VideoAsset.objects.filter(variant=AssetVariant.THUMBNAIL).only("id", "job_id", "variant").order_by()
        # ordered explicitly, so a column sort keeps newest first within it (the changelist appends
        # this ordering): sorting by status reads the (status, -created_at) index, not the whole table
        jobs = visibility.scope(super().get_queryset(request), request.user)  # VISIBILITY = "projects"
        return jobs.order_by("-created_at", "-id").prefetch_related(Prefetch("assets", thumbs, to_attr="thumbnails"))

    @admin.display(description="")
    def thumb(self, job: VideoJob) -> str:
        found = getattr(job, "thumbnails", None)
        url = asset_url(found[0]) if found else None
        if url:
            return format_html('<img class="sora-thumb" src="{}" alt="" loading="lazy">', url)
        return format_html('<span class="sora-thumb sora-thumb-empty" title="{}"></span>', job.get_status_display())

    @admin.display(description="Video", ordering="prompt_text")
    def title(self, job: VideoJob) -> str:
        if job.kind == JobKind.CREATE:
            return job.short_prompt
        return format_html('{}<span class="sora-kind">{}</span>', job.short_prompt, self.kind_column(job))

    @admin.display(description="Status", ordering="status")
    def status_column(self, job: VideoJob) -> str:
        return status_badge(job)

    @admin.display(description="Kind", ordering="kind")
    def kind_column(self, job: VideoJob) -> str:
        if job.parent_id:
            return f"{job.get_kind_display()} of #{job.parent_id}"
        return job.get_kind_display()

    @admin.display(description="Provider", ordering="provider")
    def provider_column(self, job: VideoJob) -> str:
        config = safe_provider(job.provider)
        return config.display_name if config else job.provider

    @admin.display(description="Owner", ordering="owner__username")
    def owner_column(self, job: VideoJob) -> str:
        return job.owner.get_username() if job.owner_id else "—"

    @admin.display(description="Created", ordering="created_at")
    def created(self, job: VideoJob) -> str:
        return date_format(timezone.localtime(job.created_at), "M j, H:i")

    @admin.display(description="Spec", ordering="model")
    def spec(self, job: VideoJob) -> str:
        provider = f"{self.provider_column(job)} · " if len(conf.providers()) > 1 else ""
        return format_html('{}{}<span class="sora-kind">{} · {}</span>', provider, job.model, job.size,
                           job.requested_length)

    @admin.display(description="Est. cost", ordering="estimated_cost")
    def cost_column(self, job: VideoJob) -> str:
        return f"{job.estimated_cost:.2f}"

    @admin.display(description="Estimated cost")
    def cost_display(self, job: VideoJob) -> str:
        return money(job.estimated_cost)

    # --- change page fields ---------------------------------------------------------------
    @admin.display(description="Source video")
    def parent_link(self, job: VideoJob) -> str:
        if not job.parent_id:
            return "—"
        url = reverse("admin:sora_videos_videojob_change", args=[job.parent_id])
        return format_html('<a href="{}">#{} {}</a>', url, job.parent_id, job.parent.short_prompt)

    @admin.display(description="Saved prompt")
    def prompt_link(self, job: VideoJob) -> str:
        if not job.prompt_id:
            return "—"
        url = reverse("admin:sora_videos_prompt_change", args=[job.prompt_id])
        return format_html('<a href="{}">{}</a>', url, job.prompt)

    @admin.display(description="Reference image")
    def reference_link(self, job: VideoJob) -> str:
        if not job.reference_image_id:
            return "—"
        url = reverse("admin:sora_videos_referenceimage_change", args=[job.reference_image_id])
        return format_html('<a href="{}">{}</a>', url, job.reference_image)

    @admin.display(description="Remote payload")
    def payload(self, job: VideoJob) -> str:
        if not job.remote_payload:
            return "—"
        text = json.dumps(job.remote_payload, indent=2, sort_keys=True, default=str)
        return format_html(
            '<details class="sora-payload"><summary>The provider\'s last answer ({} fields)</summary>'
            "<pre>{}</pre></details>", len(job.remote_payload), text,
        )

    # --- URLs --------------------------------------------------------------------------------
    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/progress/", wrap(self.progress_view), name="sora_videos_videojob_progress"),
            path("reference/upload/", wrap(self.reference_upload_view), name="sora_videos_videojob_reference_upload"),
            *super().get_urls(),
        ]

    # --- delete -----------------------------------------------------------------------------
    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
                    ) -> HttpResponse:
        job = self._job(request, object_id)
        if job is None:
            raise Http404
        if not self.has_delete_permission(request, job):
            raise PermissionDenied
        if request.method == "POST" and actions.APPLY in request.POST:
            deleted = actions.delete_jobs_confirmed(request, [job])
            if deleted:
                return HttpResponseRedirect(reverse("admin:sora_videos_videojob_changelist"))
            return HttpResponseRedirect(reverse("admin:sora_videos_videojob_change", args=[job.pk]))
        return actions.delete_confirmation(self, request, [job], action="", form_action=request.path)


__all__ = ["VideoJobAdmin"]
