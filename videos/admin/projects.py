"""Projects (who belongs, what they may spend, when approval is needed), the review's
collections and the API tokens, kept by the operators."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

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


class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made on the profile page or with ``manage.py sora token create`` (shown once);
    here managers see them and revoke them."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "prefix")
    list_select_related = ("user",)
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    exclude = ("digest",)
    actions = [revoke_tokens]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


__all__ = ["ApiTokenAdmin", "CollectionAdmin", "ProjectAdmin"]
