"""The Generate page (the job admin's add view): collect the request, let videos.services check
and queue it, and show its refusals on the fields they name."""
from __future__ import annotations

import contextlib
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from .. import budgets, conf, http, services
from ..exceptions import InvalidRequest, SoraVideosError
from ..forms import model_table
from ..models import ReferenceImage, VideoJob
from .common import (
    admin_page,
    money,
    reference_image_url,
    safe_provider,
    say_if_workers_unreachable,
)
from .forms import GenerateForm

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


class GeneratePageMixin:
    """The job admin's add view, its reference upload endpoint and their rendering."""

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
                    say_if_workers_unreachable(request)
                    return HttpResponseRedirect(reverse("admin:sora_videos_videojob_change", args=[job.pk]))
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
        remaining = budgets.spendable(request.user)
        context = {
            **admin_page(self, request, "Generate a video"),
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
            "fit_url_template": reverse("admin:sora_videos_referenceimage_fit", args=[999999999, "WxH", "MODE"]),
            "upload_url": reverse("admin:sora_videos_videojob_reference_upload"),
            "has_view_permission": self.has_view_permission(request),
            "add": True,
            "is_popup": False,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/sora_videos/videojob/generate.html", context)

    def reference_upload_view(self, request: HttpRequest) -> JsonResponse:
        """The Generate page's script uploads the chosen image here to preview the fitting."""
        if request.method == "POST" and not self.has_add_permission(request):
            raise PermissionDenied
        return http.reference_upload(request, admin_url="admin:sora_videos_referenceimage_change")
