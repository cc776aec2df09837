"""The job admin: the operators' studio for generating, watching and handling videos."""
from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from .. import budgets, conf, policy, services
from ..exceptions import InvalidRequest, SoraVideosError
from ..models import AssetVariant, JobKind, JobStatus, ReferenceImage, SequenceShot, VideoAsset, VideoJob
from ..policy import Action
from . import actions
from .common import (
    RETURN_FIELD,
    SubmitPermissionMixin,
    all_sizes,
    asset_url,
    can_submit,
    model_table,
    money,
    reference_image_url,
    safe_provider,
)
from .forms import GenerateForm
from .large_tables import IndexedDateHierarchyChangeList, LargeTablePaginator

#: services' InvalidRequest.field -> the Generate form's field
FORM_FIELDS = {
    "prompt": "text",
    "reference_image": "reference_upload",
    "fit": "fit",
    "provider": "provider",
    "model": "model",
    "size": "size",
    "seconds": "seconds",
    "seed": "seed",
    "negative_prompt": "negative_prompt",
}

STATUS_LABELS = {
    JobStatus.DRAFT: "Draft: not submitted yet",
    JobStatus.PENDING: "Waiting for a worker to submit it",
    JobStatus.SUBMITTING: "Sending to the provider…",
    JobStatus.QUEUED: "Queued at the provider",
    JobStatus.IN_PROGRESS: "Generating",
    JobStatus.DOWNLOADING: "Downloading and checking the files…",
    JobStatus.COMPLETED: "Completed",
    JobStatus.FAILED: "Failed",
    JobStatus.NEEDS_ATTENTION: "Needs attention",
    JobStatus.DELETED: "Deleted",
}


def shown_progress(job: VideoJob) -> int:
    if job.status in (JobStatus.DOWNLOADING, JobStatus.COMPLETED):
        return 100
    if job.status in JobStatus.in_flight():
        return job.progress
    return 0


def status_badge(job: VideoJob) -> str:
    label = job.get_status_display()
    if job.status in JobStatus.in_flight():
        label = f"{label} {job.progress}%"
    return format_html('<span class="sora-badge sora-status-{}">{}</span>', job.status, label)


class ConfiguredValueFilter(admin.SimpleListFilter):
    """A column's values from the configuration, not from a ``SELECT DISTINCT`` over every job
    (Django's default for a plain field). A value no longer configured still filters
    (``?model=old-model``) and is listed while selected."""

    def configured(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        choices = dict(self.configured())
        if self.value() and self.value() not in choices:
            choices[self.value()] = self.value()
        return list(choices.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{self.parameter_name: self.value()}) if self.value() else queryset

    def get_facet_counts(self, pk_attname: str, filtered_qs: QuerySet) -> dict[str, Count]:
        """For "Show counts": one ``COUNT(…) FILTER (WHERE column = …)`` per choice (Django's
        default is a ``pk IN (subquery)`` per choice)."""
        return {f"{i}__c": Count(pk_attname, filter=Q(**{self.parameter_name: value}))
                for i, (value, _label) in enumerate(self.lookup_choices)}


class ProviderFilter(ConfiguredValueFilter):
    """Configured providers by their labels."""

    title = "provider"
    parameter_name = "provider"

    def configured(self) -> list[tuple[str, str]]:
        return [(name, config.display_name) for name, config in conf.providers().items()]


class ModelFilter(ConfiguredValueFilter):
    """The configured providers' models."""

    title = "model"
    parameter_name = "model"

    def configured(self) -> list[tuple[str, str]]:
        names = sorted({spec.name for config in conf.providers().values() for spec in config.models.values()})
        return [(name, name) for name in names]


class SizeFilter(ConfiguredValueFilter):
    """The configured models' sizes."""

    title = "size"
    parameter_name = "size"

    def configured(self) -> list[tuple[str, str]]:
        return [(size, size) for size in sorted(all_sizes())]


class VideoJobAdmin(SubmitPermissionMixin, admin.ModelAdmin):
    list_display = ("thumb", "title", "status_column", "spec", "cost_column", "owner", "created")
    list_display_links = ("thumb", "title")
    # no filter reads the job table for its choices; the date hierarchy probes the created_at index;
    # the paginator counts at most 10,000 rows (large_tables)
    list_filter = ("status", "kind", ProviderFilter, ModelFilter, SizeFilter, "requested_by", "created_at")
    search_fields = ("prompt_text", "remote_id")
    search_help_text = "Search the prompt text or the provider's video id."
    date_hierarchy = "created_at"
    list_select_related = ("requested_by",)
    list_per_page = 50
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = [
        actions.submit_jobs, actions.remix_jobs, actions.edit_jobs, actions.extend_jobs, actions.resubmit_jobs,
        actions.refresh_jobs, actions.retry_download_jobs, actions.delete_jobs,
    ]
    change_form_template = "admin/videos/videojob/change_form.html"
    change_list_template = "admin/videos/videojob/change_list.html"
    fieldsets = (
        ("Request", {"fields": ("prompt_text", ("kind", "parent_link"), ("provider_column", "model"),
                                ("size", "seconds"), ("prompt_link", "reference_link"), "reference_fit",
                                "extra_params")}),
        ("Cost and owner", {"fields": (("cost_display", "requested_by"), "uuid")}),
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
        css = {"all": ("videos/admin/admin.css",)}

    # --- permissions ------------------------------------------------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        """Adding a job is generating a video: it spends money."""
        return can_submit(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Jobs mirror the provider: the form is read-only; actions change them."""
        return False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Refresh and retry downloads: changes the job, spends nothing."""
        return request.user.has_perm("videos.change_videojob")

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
        return super().get_queryset(request).order_by("-created_at", "-id").prefetch_related(
            Prefetch("assets", thumbs, to_attr="thumbnails"))

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

    @admin.display(description="Owner", ordering="requested_by__username")
    def owner(self, job: VideoJob) -> str:
        return job.requested_by.get_username() if job.requested_by_id else "—"

    @admin.display(description="Created", ordering="created_at")
    def created(self, job: VideoJob) -> str:
        return date_format(timezone.localtime(job.created_at), "M j, H:i")

    @admin.display(description="Spec", ordering="model")
    def spec(self, job: VideoJob) -> str:
        provider = f"{self.provider_column(job)} · " if len(conf.providers()) > 1 else ""
        return format_html('{}{}<span class="sora-kind">{} · {} s</span>', provider, job.model, job.size, job.seconds)

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
        url = reverse("admin:videos_videojob_change", args=[job.parent_id])
        return format_html('<a href="{}">#{} {}</a>', url, job.parent_id, job.parent.short_prompt)

    @admin.display(description="Saved prompt")
    def prompt_link(self, job: VideoJob) -> str:
        if not job.prompt_id:
            return "—"
        url = reverse("admin:videos_prompt_change", args=[job.prompt_id])
        return format_html('<a href="{}">{}</a>', url, job.prompt)

    @admin.display(description="Reference image")
    def reference_link(self, job: VideoJob) -> str:
        if not job.reference_image_id:
            return "—"
        url = reverse("admin:videos_referenceimage_change", args=[job.reference_image_id])
        return format_html('<a href="{}">{}</a>', url, job.reference_image)

    @admin.display(description="Remote payload")
    def payload(self, job: VideoJob) -> str:
        import json

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
            path("<path:object_id>/progress/", wrap(self.progress_view), name="videos_videojob_progress"),
            path("reference/upload/", wrap(self.reference_upload_view), name="videos_videojob_reference_upload"),
            *super().get_urls(),
        ]

    # --- the Generate page (the add view) -------------------------------------------------------
    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
                 ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial: dict[str, Any] = {}
        if request.method == "GET":
            for name in ("prompt", "reference_image"):
                value = request.GET.get(name, "")
                if value.isdigit():
                    initial["saved_prompt" if name == "prompt" else name] = int(value)
        form = GenerateForm(request.POST or None, request.FILES or None, admin_site=self.admin_site, initial=initial)
        if request.method == "POST" and form.is_valid():
            if "_preview" in request.POST:
                form = self._store_reference(request, form)
            else:
                job = self._generate(request, form)
                if job is not None:
                    messages.success(request, format_html(
                        "Job #{} is queued: {} {} · {} s · {} · estimated {}.", job.pk, job.model, job.size,
                        job.seconds, safe_provider(job.provider).display_name, money(job.estimated_cost)))
                    return HttpResponseRedirect(reverse("admin:videos_videojob_change", args=[job.pk]))
        return self.render_generate(request, form)

    def _store_reference(self, request: HttpRequest, form: GenerateForm) -> GenerateForm:
        """The no-script preview step: store the upload, then show how it will be fitted."""
        upload = form.cleaned_data.get("reference_upload")
        if upload is None:
            return form
        try:
            ref = services.save_reference_image(upload, user=request.user)
        except InvalidRequest as exc:
            form.add_error("reference_upload", exc.message)
            return form
        data = request.POST.copy()
        data["reference_image"] = str(ref.pk)
        rebound = GenerateForm(data, admin_site=self.admin_site)
        rebound.is_valid()
        return rebound

    def _generate(self, request: HttpRequest, form: GenerateForm) -> VideoJob | None:
        data = form.cleaned_data
        prompt = form.prompt()
        saving = prompt.pk is None and bool(data.get("save_as"))
        reference = data.get("reference_upload") or data.get("reference_image")
        try:
            with transaction.atomic() if saving else contextlib.nullcontext():
                if saving:
                    prompt.owner = request.user
                    prompt.save()
                return services.create_video(
                    prompt if prompt.pk else prompt.compose(),
                    provider=data["provider"], model=data["model"], size=data["size"], seconds=data["seconds"],
                    reference_image=reference, fit=data.get("fit") or None, extra_params=form.extra_params(),
                    user=request.user,
                )
        except InvalidRequest as exc:
            field = FORM_FIELDS.get(exc.field or "")
            if field == "text" and data.get("saved_prompt"):
                field = "saved_prompt"
            form.add_error(field, exc.message)
        except SoraVideosError as exc:
            form.add_error(None, str(exc))
        return None

    def render_generate(self, request: HttpRequest, form: GenerateForm) -> TemplateResponse:
        opts = self.model._meta
        provider = safe_provider(form.value("provider") or None) or conf.provider()
        estimate = None
        with contextlib.suppress(SoraVideosError):
            estimate = services.estimate_cost(
                provider=provider.name, model=form.value("model") or None, size=form.value("size") or None,
                seconds=form.value("seconds") or None,
            )
        reference = None
        ref_id = form.value("reference_image") or (form.initial.get("reference_image") if not form.is_bound else "")
        if ref_id and str(ref_id).isdigit():
            reference = ReferenceImage.objects.filter(pk=int(ref_id)).first()
        remaining = budgets.remaining(request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": "Generate a video",
            "opts": opts,
            "app_label": opts.app_label,
            "form": form,
            "media": self.media + form.media,
            "model_table": model_table(),
            "estimate": estimate,
            "remaining": remaining,
            "remaining_text": money(remaining) if remaining is not None else "",
            "provider": provider,
            "emulator": provider.emulator,
            "reference": reference,
            "reference_url": reference_image_url(reference),
            "fit_url_template": reverse("admin:videos_referenceimage_fit", args=[999999999, "WxH", "MODE"]),
            "upload_url": reverse("admin:videos_videojob_reference_upload"),
            "has_view_permission": self.has_view_permission(request),
            "add": True,
            "is_popup": False,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/videos/videojob/generate.html", context)

    def reference_upload_view(self, request: HttpRequest) -> JsonResponse:
        """The Generate page's script uploads the chosen image here to preview the fitting."""
        if request.method != "POST":
            return JsonResponse({"error": "POST an image."}, status=405)
        if not self.has_add_permission(request):
            raise PermissionDenied
        upload = request.FILES.get("image")
        if upload is None:
            return JsonResponse({"error": "Choose an image file to upload."}, status=400)
        try:
            ref = services.save_reference_image(upload, user=request.user)
        except InvalidRequest as exc:
            return JsonResponse({"error": exc.message}, status=400)
        return JsonResponse({
            "id": ref.pk, "name": ref.original_name, "width": ref.width, "height": ref.height, "format": ref.format,
            "url": reference_image_url(ref) or "",
            "admin_url": reverse("admin:videos_referenceimage_change", args=[ref.pk]),
        })

    # --- the job page ------------------------------------------------------------------------
    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        job = self._job(request, object_id)
        context = {**(extra_context or {}), **self.page_context(request, job)} if job else extra_context
        return super().change_view(request, object_id, form_url, context)

    def _job(self, request: HttpRequest, object_id: str) -> VideoJob | None:
        return (
            VideoJob.objects.filter(pk=unquote(object_id)).select_related(
                "requested_by", "parent", "prompt", "reference_image").prefetch_related(
                "assets", "events", Prefetch("children", VideoJob.objects.order_by("created_at", "id"))).first()
            if str(unquote(object_id)).isdigit() else None
        )

    def page_context(self, request: HttpRequest, job: VideoJob) -> dict[str, Any]:
        config = safe_provider(job.provider)
        fit_url = None
        if job.reference_image_id and job.reference_image.size != job.size:
            fit_url = reverse("admin:videos_referenceimage_fit", args=[job.reference_image_id, job.size,
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
            "progress_url": reverse("admin:videos_videojob_progress", args=[job.pk]),
            "label": STATUS_LABELS.get(job.status, job.get_status_display()),
            "shown_progress": shown_progress(job),
            "active": job.is_active,
            "events": events,
            "video_url": asset_url(assets.get(AssetVariant.VIDEO)),
            "thumbnail_url": asset_url(assets.get(AssetVariant.THUMBNAIL)),
            "spritesheet_url": asset_url(assets.get(AssetVariant.SPRITESHEET)),
            "has_assets": bool(assets),
            "downloads": downloads,
            "tools": self.tools(request, job, config if config is not None else safe_provider(job.provider)),
            "changelist_url": reverse("admin:videos_videojob_changelist"),
            "change_url": reverse("admin:videos_videojob_change", args=[job.pk]),
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
            return policy.allows(action, job)

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
        if self.has_delete_permission(request, job) and may(Action.DELETE):
            found.append({"url": reverse("admin:videos_videojob_delete", args=[job.pk]), "label": "Delete…",
                          "style": "danger", "hint": "At the provider and here"})
        return found

    def progress_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """Polled by the job page: status and progress, and the live block when it changed."""
        job = get_object_or_404(VideoJob, pk=unquote(object_id)) if str(unquote(object_id)).isdigit() else None
        if job is None:
            raise Http404
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        stale = timezone.now() - dt.timedelta(seconds=float(conf.get("LIVE_REFRESH_AFTER")))
        if policy.allows(Action.REFRESH, job) and (job.last_checked_at is None or job.last_checked_at < stale):
            with contextlib.suppress(SoraVideosError):  # watched and stale: ask now (the sweep may be busy)
                services.refresh(job)
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
            data["html"] = render_to_string("admin/videos/videojob/_live.html", {"live": live}, request=request)
        return JsonResponse(data)

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
                return HttpResponseRedirect(reverse("admin:videos_videojob_changelist"))
            return HttpResponseRedirect(reverse("admin:videos_videojob_change", args=[job.pk]))
        return actions.delete_confirmation(self, request, [job], action="", form_action=request.path)


__all__ = ["VideoJobAdmin"]
