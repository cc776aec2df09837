"""The job changelist's filters and status words; filter choices come from the configuration, never
from a scan of the table (see large_tables)."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from .. import conf
from ..images import all_sizes
from ..models import JobStatus, VideoJob

STATUS_LABELS = {
    JobStatus.DRAFT: "Draft: not submitted yet",
    JobStatus.AWAITING_APPROVAL: "Waiting for a reviewer to approve it (nothing sent yet)",
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


def status_badge(job: VideoJob) -> str:
    label = job.get_status_display()
    if job.status in JobStatus.in_flight():
        label = f"{label} {job.percent}%"
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
