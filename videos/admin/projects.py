"""Projects (who belongs, what they may spend, when approval is needed), the review's
collections and the API tokens, kept by the operators."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .. import tokens
from ..models import Project


class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "monthly_budget", "approval_above", "job_count", "created_at")
    search_fields = ("name",)
    filter_horizontal = ("members", "member_groups")
    fields = ("name", "members", "member_groups", "monthly_budget", "approval_above")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(jobs_count=Count("jobs"))

    @admin.display(description="Videos", ordering="jobs_count")
    def job_count(self, project: Project) -> int:
        return project.jobs_count  # type: ignore[attr-defined]


class CollectionAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "created_at")
    search_fields = ("name",)
    raw_id_fields = ("jobs",)
    list_select_related = ("owner",)


@admin.action(description="Revoke selected tokens")
def revoke_tokens(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    for token in queryset:
        tokens.revoke(token)
    modeladmin.message_user(request, f"Revoked {queryset.count()} token(s): requests with them are refused.")


class TokenForm(forms.Form):
    user = forms.ModelChoiceField(get_user_model().objects.filter(is_active=True).order_by("username"))
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. 'n8n automation'.")
    days = forms.IntegerField(required=False, min_value=1, max_value=3650, help_text="Empty: it never expires.")


class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made here (for someone), on the profile page or with ``manage.py sora token
    create``, and shown once; managers see them and revoke them."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "prefix")
    list_select_related = ("user",)
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    exclude = ("digest",)
    actions = [revoke_tokens]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TokenForm(request.POST or None)
        raw = ""
        if request.method == "POST" and form.is_valid():
            token, raw = tokens.create(form.cleaned_data["user"], form.cleaned_data["name"],
                                       days=form.cleaned_data.get("days"))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form, "raw": raw,
                   "title": "Make an API token", "has_view_permission": True}
        return TemplateResponse(request, "admin/sora_videos/apitoken/add.html", context)


__all__ = ["ApiTokenAdmin", "CollectionAdmin", "ProjectAdmin"]
