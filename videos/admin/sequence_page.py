"""The sequence page: stitched player, shot table, and its buttons (stitch again, retry or replace a shot)."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from .. import advice, conf, sequences
from ..exceptions import InvalidRequest, SoraVideosError
from ..models import (
    AssetVariant,
    JobStatus,
    Sequence,
    SequenceStatus,
    VideoAsset,
)
from .common import (
    admin_page,
    asset_url,
    can_submit,
    describe,
    money,
    reference_image_url,
    run_each,
    safe_provider,
)
from .sequence_forms import ReplaceShotForm
from .sequence_tools import job_admin_link, request_stitch, sequence_asset_url, shot_is_bad, stitch_refusal


class SequencePageMixin:
    """The sequence admin's change view and the views behind its buttons."""

    # --- the sequence page ----------------------------------------------------------------------
    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        key = str(unquote(object_id))
        sequence = Sequence.objects.filter(pk=int(key)).select_related("owner").first() if key.isdigit() else None
        context = {**(extra_context or {}), **self.page_context(request, sequence)} if sequence else extra_context
        return super().change_view(request, object_id, form_url, context)

    def page_context(self, request: HttpRequest, sequence: Sequence) -> dict[str, Any]:
        config = safe_provider(sequence.provider)
        shots = list(
            sequence.shots.select_related("job", "reference_image").defer("job__remote_payload")
            .prefetch_related(Prefetch("job__assets", VideoAsset.objects.filter(
                variant=AssetVariant.THUMBNAIL).order_by(), to_attr="thumbnails"))
            .order_by("position")
        )
        assets = {a.variant: a for a in sequence.assets.all()}
        report = sequences.progress(sequence, shots)
        sequence.report = report  # type: ignore[attr-defined]
        sequence.label = report.label  # type: ignore[attr-defined]
        submit = can_submit(request)
        rows = []
        for shot, state in zip(shots, report.shots):
            job = shot.job
            thumbs = getattr(job, "thumbnails", []) if job else []
            active = job is not None and job.status in (JobStatus.DRAFT, *JobStatus.active())
            rows.append({
                "shot": shot,
                "state": state,
                "job": job,
                "thumbnail_url": asset_url(thumbs[0]) if thumbs else None,
                "reference_url": reference_image_url(shot.reference_image),
                "job_url": reverse("admin:sora_videos_videojob_change", args=[job.pk]) if job else None,
                "status_label": job.get_status_display() if job else "No job",
                "active": active,
                "bad": shot_is_bad(shot),
                "can_retry": submit and shot_is_bad(shot),
                "can_replace": submit and not active,
            })
        refusal = stitch_refusal(sequence, shots)
        tools = []
        if self.has_operate_permission(request) and not refusal:
            tools.append({"url": reverse("admin:sora_videos_sequence_stitch", args=[sequence.pk]),
                          "label": "Stitch again" if assets.get("video") else "Stitch now", "post": True,
                          "hint": "Join the shots as they are now into one MP4"})
        try:
            gallery_url = reverse("videos:sequence_detail", args=[sequence.uuid])
        except NoReverseMatch:
            gallery_url = None
        if gallery_url:
            tools.append({"url": gallery_url, "label": "View in the gallery", "post": False})
        if self.has_delete_permission(request, sequence):
            tools.append({"url": reverse("admin:sora_videos_sequence_delete", args=[sequence.pk]), "label": "Delete…",
                          "style": "danger", "post": False, "hint": "The stitched files and the sequence; jobs stay"})
        downloads = [
            {"label": "Stitched video (MP4)" if variant == "video" else asset.get_variant_display(),
             "url": sequence_asset_url(asset, download=True), "bytes": asset.bytes, "width": asset.width,
             "height": asset.height, "duration": asset.duration}
            for variant in ("video", "thumbnail", "spritesheet") if (asset := assets.get(variant)) is not None
        ]
        try:
            status_url = reverse("videos:sequence_status", args=[sequence.uuid])
        except NoReverseMatch:
            status_url = ""
        return {
            "title": f"Sequence #{sequence.pk}",
            "subtitle": str(sequence),
            "sequence": sequence,
            "provider": config,
            "emulator": bool(config and config.emulator),
            "report": report,
            "next_step": advice.for_sequence(sequence, advice.Surface.ADMIN),
            "rows": rows,
            "video_url": sequence_asset_url(assets.get("video")),
            "thumbnail_url": sequence_asset_url(assets.get("thumbnail")),
            "spritesheet_url": sequence_asset_url(assets.get("spritesheet")),
            "downloads": downloads,
            "tools": tools,
            "stitch_refusal": refusal,
            "stale": report.stale_note if assets.get("video") else "",
            "active": sequence.status in SequenceStatus.active(),
            "watch": report.moving,
            "status_url": status_url,
            "version": report.version,
            "can_submit": submit,
            "requested_seconds": sum(s.seconds for s in shots),
            "estimated_cost": sum((s.job.estimated_cost for s in shots if s.job), 0),
            "currency": conf.get("CURRENCY"),
        }

    # --- buttons --------------------------------------------------------------------------------
    def stitch_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        sequence = self._sequence(object_id)
        if not self.has_operate_permission(request):
            raise PermissionDenied
        run_each(request, [sequence], request_stitch)
        return self._back(sequence)

    def retry_view(self, request: HttpRequest, object_id: str, position: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        sequence = self._sequence(object_id)
        if not can_submit(request):
            raise PermissionDenied

        def one(seq: Sequence) -> str:
            shot = sequences.retry_shot(seq, position, user=request.user)
            return format_html("shot {} is rendered again as {} ({}); the other shots are kept.", position,
                               job_admin_link(shot.job), money(shot.job.estimated_cost))

        run_each(request, [sequence], one)
        return self._back(sequence)

    def replace_view(self, request: HttpRequest, object_id: str, position: int) -> HttpResponse:
        sequence = self._sequence(object_id)
        if not can_submit(request):
            raise PermissionDenied
        try:
            shot = sequences.get_shot(sequence, position)
        except SoraVideosError as exc:
            messages.error(request, str(exc))
            return self._back(sequence)
        config = safe_provider(sequence.provider)
        spec = config.models.get(sequence.model) if config else None
        choices = list(spec.seconds) if spec else None
        initial = {"prompt": shot.prompt_text, "seconds": str(shot.seconds)}
        form = ReplaceShotForm(request.POST if request.method == "POST" else None,
                               request.FILES if request.method == "POST" else None,
                               initial=initial, seconds_choices=choices)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            prompt = (data.get("prompt") or "").strip()
            try:
                new = sequences.replace_shot(
                    sequence, position,
                    prompt=prompt if prompt and prompt != shot.prompt_text else None,
                    image=data.get("image"), drop_image=bool(data.get("drop_image")),
                    seconds=data["seconds"] if data.get("seconds") and data["seconds"] != str(shot.seconds) else None,
                    user=request.user,
                )
            except InvalidRequest as exc:
                field = {"prompt": "prompt", "reference_image": "image", "seconds": "seconds"}.get(exc.field or "")
                form.add_error(field, exc.message)
            except SoraVideosError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, format_html(
                    "{}: shot {} is rendered from the new request as {} ({}); the other shots are kept.",
                    describe(sequence), position, job_admin_link(new.job), money(new.job.estimated_cost)))
                return self._back(sequence)
        refusal = ""
        if shot.job is not None and shot.job.status in (JobStatus.DRAFT, *JobStatus.active()):
            refusal = (f"Shot {position} is still {shot.job.get_status_display().lower()} (job {shot.job.pk}); "
                       "wait for it to finish before you replace it.")
        per_second = spec.cost(sequence.size, 1) if spec else None
        context = {
            **admin_page(self, request, f"Replace shot {position} of sequence #{sequence.pk}"),
            "sequence": sequence,
            "shot": shot,
            "form": form,
            "refusal": refusal,
            "reference_url": reference_image_url(shot.reference_image),
            "price_per_second": per_second,
            "currency": conf.get("CURRENCY"),
            "emulator": bool(config and config.emulator),
            "provider": config,
            "media": self.media + form.media,
            "change_url": reverse("admin:sora_videos_sequence_change", args=[sequence.pk]),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/sora_videos/sequence/replace_shot.html", context)
