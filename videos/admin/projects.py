"""Projects (who belongs, what they may spend, when approval is needed) and the review's
collections, kept by the operators."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

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


__all__ = ["CollectionAdmin", "ProjectAdmin"]
