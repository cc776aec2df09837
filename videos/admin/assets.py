"""Stored files of jobs (read-only: they come from downloads and go with their job)."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html

from .. import visibility
from ..models import AssetVariant, VideoAsset
from ..storage import CONTENT_TYPES
from .common import asset_url
from .job_filters import ConfiguredValueFilter
from .large_tables import LargeTableAdminMixin


class ContentTypeFilter(ConfiguredValueFilter):
    """The content types the downloads store (one per variant)."""

    title = "content type"
    parameter_name = "content_type"

    def configured(self) -> list[tuple[str, str]]:
        return [(value, value) for value in sorted(set(CONTENT_TYPES.values()))]


class VideoAssetAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("preview", "variant", "job_link", "file_size", "dimensions", "duration_column", "derived",
                    "created_at")
    list_display_links = ("preview", "variant")
    # three rows per job: no filter reads the table for its choices, the date hierarchy probes the
    # created_at index (migration 0004), the count stops at 10,000 rows (large_tables)
    list_filter = ("variant", "derived", ContentTypeFilter, "created_at")
    search_fields = ("job__prompt_text", "job__remote_id", "=sha256")
    search_help_text = "Search the job's prompt, the provider's video id, or an exact SHA-256."
    date_hierarchy = "created_at"
    list_select_related = ("job",)
    # newest first from the created_at index (Meta.ordering, by job, would sort the joined job table);
    # a column sort keeps it as the tie-break
    ordering = ("-created_at", "-id")
    list_per_page = 50
    fields = ("player", "job_link", ("variant", "content_type", "derived"), ("file_size", "dimensions",
              "duration_column"), "file", "sha256", "download", "created_at")
    readonly_fields = ("player", "job_link", "file_size", "dimensions", "duration_column", "download")

    class Media:
        css = {"all": ("sora_videos/admin/admin.css",)}

    def get_queryset(self, request: HttpRequest) -> Any:
        return visibility.scope(super().get_queryset(request), request.user, "job__")  # VISIBILITY = "projects"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # delete the job instead: it deletes at the provider and every file

    @admin.display(description="")
    def preview(self, asset: VideoAsset) -> str:
        url = asset_url(asset)
        if url and asset.variant != AssetVariant.VIDEO:
            return format_html('<img class="sora-thumb" src="{}" alt="" loading="lazy">', url)
        return format_html('<span class="sora-thumb sora-thumb-empty sora-thumb-{}"></span>', asset.variant)

    @admin.display(description="Job", ordering="job_id")  # the (job, variant) index, not the job's own ordering
    def job_link(self, asset: VideoAsset) -> str:
        url = reverse("admin:sora_videos_videojob_change", args=[asset.job_id])
        return format_html('<a href="{}">#{} {}</a>', url, asset.job_id, asset.job.short_prompt)

    @admin.display(description="Size", ordering="bytes")
    def file_size(self, asset: VideoAsset) -> str:
        return filesizeformat(asset.bytes)

    @admin.display(description="Pixels")
    def dimensions(self, asset: VideoAsset) -> str:
        return f"{asset.width}×{asset.height}" if asset.width else "—"

    @admin.display(description="Duration", ordering="duration")
    def duration_column(self, asset: VideoAsset) -> str:
        return f"{asset.duration:.1f} s" if asset.duration else "—"

    @admin.display(description="Preview")
    def player(self, asset: VideoAsset) -> str:
        url = asset_url(asset)
        if not url:
            return "— (the media view videos:asset is not installed)"
        if asset.variant == AssetVariant.VIDEO:
            return format_html('<video class="sora-player" controls preload="metadata" src="{}"></video>', url)
        return format_html('<img class="sora-asset-image" src="{}" alt="{}">', url, asset.get_variant_display())

    @admin.display(description="Download")
    def download(self, asset: VideoAsset) -> str:
        url = asset_url(asset, download=True)
        return format_html('<a href="{}" download>Download</a>', url) if url else "—"
