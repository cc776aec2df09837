"""Webhook deliveries, as received: for checking what the providers told us."""
from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from .. import webhooks
from ..models import VideoJob, WebhookEvent
from ..webhooks import HANDLED_TYPES
from .common import run_each
from .job_filters import ConfiguredValueFilter, ProviderFilter
from .large_tables import LargeTableAdminMixin


@admin.action(description="Process selected failed events again", permissions=["change"])
def process_again(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
    def one(event: WebhookEvent) -> str:
        webhooks.process_again(event)
        return "queued for processing."

    run_each(request, queryset, one)


class TypeFilter(ConfiguredValueFilter):
    """The event types the webhooks act on; another type (stored as ignored) still filters with ``?type=``."""

    title = "type"
    parameter_name = "type"

    def configured(self) -> list[tuple[str, str]]:
        return [(value, value) for value in HANDLED_TYPES]


class WebhookEventAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("type", "video_id", "provider", "outcome", "deliveries", "received_at", "processed_at")
    # one or two rows per job: no filter reads the table for its choices, the date hierarchy probes the
    # received_at index (migration 0004), the count stops at 10,000 rows (large_tables)
    list_filter = ("outcome", TypeFilter, ProviderFilter, "received_at")
    search_fields = ("=event_id", "video_id")
    search_help_text = "Search the provider's video id, or an exact webhook-id."
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")  # the received_at index; a column sort keeps it as the tie-break
    list_per_page = 100
    actions = [process_again]
    fields = (("type", "outcome"), ("provider", "event_id"), ("video_id", "job_link"), "message",
              ("deliveries", "received_at", "processed_at"), "payload_details")
    readonly_fields = ("job_link", "payload_details")

    class Media:
        css = {"all": ("sora_videos/admin/admin.css",)}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request)  # actions only; the form is read-only

    @admin.display(description="Job")
    def job_link(self, event: WebhookEvent) -> str:
        job = VideoJob.objects.filter(provider=event.provider, remote_id=event.video_id).first() if event.video_id \
            else None
        if job is None:
            return "—"
        url = reverse("admin:sora_videos_videojob_change", args=[job.pk])
        return format_html('<a href="{}">#{} {}</a>', url, job.pk, job.short_prompt)

    @admin.display(description="Payload")
    def payload_details(self, event: WebhookEvent) -> str:
        text = json.dumps(event.payload, indent=2, sort_keys=True, default=str)
        return format_html('<details class="sora-payload" open><summary>Event body</summary><pre>{}</pre></details>',
                           text)
