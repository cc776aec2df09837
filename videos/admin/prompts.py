"""Saved prompts: free text or storyboard fields, and generating from several at once."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from ..models import Prompt
from ..models.prompt import STRUCTURED_FIELDS
from . import actions
from .common import SubmitPermissionMixin, can_submit


class PromptAdmin(SubmitPermissionMixin, admin.ModelAdmin):
    list_display = ("title", "composed_preview", "owner", "job_count", "updated_at")
    list_filter = ("owner", "updated_at", "created_at")
    search_fields = ("title", "text", "subject", "action", "setting", "shot", "style", "lighting")
    date_hierarchy = "updated_at"
    list_select_related = ("owner",)
    show_full_result_count = False
    list_per_page = 50
    actions = [actions.generate_from_prompts]
    readonly_fields = ("composed", "owner", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("title", "text")}),
        ("Storyboard", {
            "fields": tuple(name for name, _ in STRUCTURED_FIELDS),
            "description": "The prompting guide's parts. When any is filled, they are composed (style first) "
                           "and the free text is added after them.",
        }),
        ("As sent", {"fields": ("composed", "owner", ("created_at", "updated_at"))}),
    )
    change_form_template = "admin/sora_videos/prompt/change_form.html"

    class Media:
        css = {"all": ("sora_videos/admin/admin.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # explicit order: Meta.ordering does not apply to GROUP BY queries (the autocomplete paginates this)
        return super().get_queryset(request).annotate(job_total=Count("jobs")).order_by("-updated_at", "-pk")

    @admin.display(description="Prompt as sent")
    def composed_preview(self, prompt: Prompt) -> str:
        text = prompt.compose()
        return text if len(text) <= 100 else text[:97] + "..."

    @admin.display(description="Prompt as sent")
    def composed(self, prompt: Prompt) -> str:
        return prompt.compose() or "— (empty: write the text or the storyboard fields)"

    @admin.display(description="Jobs", ordering="job_total")
    def job_count(self, prompt: Prompt) -> int:
        return getattr(prompt, "job_total", 0)

    def save_model(self, request: HttpRequest, obj: Prompt, form: Any, change: bool) -> None:
        if not change and obj.owner_id is None:
            obj.owner = request.user
        super().save_model(request, obj, form, change)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        context = dict(extra_context or {})
        if can_submit(request) and str(object_id).isdigit():
            context["generate_url"] = reverse("admin:sora_videos_videojob_add") + f"?prompt={object_id}"
        return super().change_view(request, object_id, form_url, context)
