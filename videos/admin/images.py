"""Reference images: upload (checked by the services), see them and how they are fitted."""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .. import conf, http, services
from ..exceptions import InvalidRequest
from ..images import FIT_MODES, FORMATS
from ..models import ReferenceImage, VideoJob
from ..storage import delete_key
from .common import admin_page, can_submit, reference_image_url
from .forms import ReferenceUploadForm
from .job_filters import ConfiguredValueFilter
from .large_tables import LargeTableAdminMixin


class FormatFilter(ConfiguredValueFilter):
    """The image formats the checks accept."""

    title = "format"
    parameter_name = "format"

    def configured(self) -> list[tuple[str, str]]:
        return [(value, value) for value in FORMATS]


class ReferenceImageAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("preview", "name", "dimensions", "format", "owner", "job_count", "created_at")
    list_display_links = ("preview", "name")
    # no filter reads the table for its choices, the date hierarchy probes the created_at index
    # (migration 0004), the count stops at 10,000 rows (large_tables)
    list_filter = (FormatFilter, "owner", "created_at")
    search_fields = ("original_name", "=sha256")
    date_hierarchy = "created_at"
    list_select_related = ("owner",)
    ordering = ("-created_at", "-id")  # the created_at index; a column sort keeps it as the tie-break
    list_per_page = 50
    fields = ("original_name", ("width", "height", "format"), "sha256", "owner", "created_at", "image")
    change_form_template = "admin/sora_videos/referenceimage/change_form.html"

    class Media:
        css = {"all": ("sora_videos/admin/admin.css",)}

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an image is stored as checked; upload another instead

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # a count per listed image on the jobs' reference_image index (a JOIN with GROUP BY would
        # aggregate every job that has a reference image before the page is cut)
        jobs = (VideoJob.objects.filter(reference_image=OuterRef("pk")).order_by().values("reference_image")
                .annotate(n=Count("pk")).values("n"))
        return super().get_queryset(request).annotate(
            job_total=Coalesce(Subquery(jobs, output_field=IntegerField()), 0))

    @admin.display(description="")
    def preview(self, ref: ReferenceImage) -> str:
        url = reference_image_url(ref)
        if not url:
            return format_html('<span class="sora-thumb sora-thumb-empty"></span>')
        return format_html('<img class="sora-thumb" src="{}" alt="" loading="lazy">', url)

    @admin.display(description="Name", ordering="original_name")
    def name(self, ref: ReferenceImage) -> str:
        return ref.original_name or ref.image.name

    @admin.display(description="Size", ordering="width")
    def dimensions(self, ref: ReferenceImage) -> str:
        return f"{ref.width}×{ref.height}"

    @admin.display(description="Jobs", ordering="job_total")
    def job_count(self, ref: ReferenceImage) -> int:
        return getattr(ref, "job_total", 0)

    def get_urls(self) -> list[Any]:
        return [
            path("<int:pk>/fit/<str:size>/<str:mode>/", self.admin_site.admin_view(self.fit_view),
                 name="sora_videos_referenceimage_fit"),
            *super().get_urls(),
        ]

    def fit_view(self, request: HttpRequest, pk: int, size: str, mode: str) -> HttpResponse:
        """The image as it would be sent for a video of ``size``: cropped or letterboxed (PNG)."""
        if not (self.has_view_permission(request) or can_submit(request)):
            raise PermissionDenied
        return http.fitted(pk, size, mode)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
                 ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ReferenceUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            existed = None
            try:
                upload = form.cleaned_data["image"]
                before = ReferenceImage.objects.count()
                ref = services.save_reference_image(upload, user=request.user)
                existed = ReferenceImage.objects.count() == before
            except InvalidRequest as exc:
                form.add_error("image", exc.message)
            else:
                text = "This image was already stored; here it is." if existed else "Image checked and stored."
                messages.success(request, text)
                return HttpResponseRedirect(reverse("admin:sora_videos_referenceimage_change", args=[ref.pk]))
        context = {
            **admin_page(self, request, "Upload a reference image"),
            "form": form,
            "media": self.media + form.media,
            "has_view_permission": self.has_view_permission(request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/sora_videos/referenceimage/upload.html", context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        ref = ReferenceImage.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        context = dict(extra_context or {})
        if ref is not None:
            provider = conf.provider()
            sizes: list[str] = []
            for spec in provider.models.values():
                sizes.extend(s for s in spec.sizes if s not in sizes)
            context.update({
                "ref": ref,
                "ref_url": reference_image_url(ref),
                "provider": provider,
                "emulator": provider.emulator,
                "fits": [
                    {"size": size, "same": size == ref.size, "modes": [
                        (mode, reverse("admin:sora_videos_referenceimage_fit", args=[ref.pk, size, mode]))
                        for mode in FIT_MODES]}
                    for size in sizes
                ],
                "can_generate": can_submit(request),
                "generate_url": reverse("admin:sora_videos_videojob_add") + f"?reference_image={ref.pk}",
                "recent_jobs": list(ref.jobs.order_by("-created_at")[:10]),
            })
        return super().change_view(request, object_id, form_url, context)

    def delete_model(self, request: HttpRequest, obj: ReferenceImage) -> None:
        name = obj.image.name
        super().delete_model(request, obj)
        delete_key(name)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        names = list(queryset.values_list("image", flat=True))
        super().delete_queryset(request, queryset)
        for name in names:
            delete_key(name)
