"""The sequence admin: generate multi-shot sequences, watch their shots, fix one shot, stitch again.

A sequence is made of jobs, so the job permissions govern it: ``view_videojob`` to see
sequences, ``change_videojob`` to stitch again (spends nothing), ``delete_videojob`` to
delete one, and ``submit_videojob`` for everything that renders a shot (generate, retry,
replace: each is a new job, billed). Every change goes through :mod:`videos.sequences`;
every outcome is a message, never a 500.

Deleting a sequence removes its stitched files and its rows; the shots' jobs are kept
(each is a video of its own, shown in the gallery and counted in the budget).
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from .. import permissions, policy, sequences, visibility
from ..models import (
    AssetVariant,
    JobStatus,
    Sequence,
    SequenceAsset,
    SequenceShot,
)
from ..sequences import BAD
from .common import (
    SubmitPermissionMixin,
    admin_page,
    can_submit,
    run_each,
    safe_provider,
)
from .job_filters import ProviderFilter
from .sequence_generate import GenerateSequenceMixin
from .sequence_page import SequencePageMixin
from .sequence_tools import request_stitch, retry_bad_shots, sequence_asset_url

APPLY = "apply"


# --- changelist actions ----------------------------------------------------------------------
@admin.action(description="Stitch selected sequences again", permissions=["operate"])
def restitch_sequences(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
    run_each(request, queryset, request_stitch)


@admin.action(description="Retry the failed shots of selected sequences", permissions=["submit"])
def retry_failed_shots(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
    run_each(request, queryset, lambda sequence: retry_bad_shots(sequence, request.user))


@admin.action(description="Delete selected sequences (stitched files; the shots' jobs stay)…",
              permissions=["delete"])
def delete_sequences(modeladmin: "SequenceAdmin", request: HttpRequest, queryset: Any) -> HttpResponse | None:
    items = list(queryset.prefetch_related("assets", Prefetch("shots", SequenceShot.objects.select_related("job"))))
    if APPLY in request.POST:
        delete_confirmed(request, items)
        return None
    return modeladmin.delete_confirmation(request, items, action="delete_sequences")


def delete_confirmed(request: HttpRequest, items: list[Sequence]) -> int:
    def one(sequence: Sequence) -> str:
        kept = sequences.delete(sequence, user=request.user)
        return (f"deleted with its stitched files; its {len(kept)} shot job{'s' if len(kept) != 1 else ''} "
                f"({', '.join('#' + str(pk) for pk in kept) or 'none'}) stay in the job list.")

    return run_each(request, items, one)


class SequenceAdmin(SubmitPermissionMixin, SequencePageMixin, GenerateSequenceMixin, admin.ModelAdmin):
    list_display = ("thumb", "title_column", "status_column", "shots_column", "duration_column", "owner_column",
                    "created")
    list_display_links = ("thumb", "title_column")
    list_filter = ("status", ProviderFilter, "model", "size", "owner", "created_at")
    search_fields = ("title",)
    search_help_text = "Search the sequence titles."
    list_select_related = ("owner",)
    list_per_page = 50
    show_full_result_count = False
    actions = [restitch_sequences, retry_failed_shots, delete_sequences]
    change_form_template = "admin/sora_videos/sequence/change_form.html"
    change_list_template = "admin/sora_videos/sequence/change_list.html"
    fieldsets = (
        ("Sequence", {"fields": ("title", ("provider_column", "model"), ("size", "reference_fit"), "extra_params",
                                 ("owner", "created_at"), "uuid")}),
        ("Stitching", {
            "classes": ("collapse",),
            "fields": (("status", "revision", "stitched_revision"), ("stitched_at", "duration"),
                       ("stitch_started_at", "stitch_token"), "error_message", "updated_at"),
        }),
    )
    readonly_fields = ("provider_column", "uuid")

    class Media:
        css = {"all": ("sora_videos/admin/admin.css",)}

    # --- permissions (the job permissions: a sequence is made of jobs) -------------------------
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return user.is_active and (user.has_perm(permissions.VIEW) or user.has_perm(permissions.CHANGE))

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Adding a sequence renders every shot: it spends money."""
        return can_submit(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """The page is read-only; the buttons and actions change a sequence."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.has_perm(permissions.DELETE)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Stitch again: changes the sequence, spends nothing."""
        return request.user.is_active and request.user.has_perm(permissions.CHANGE)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        found = super().get_actions(request)
        found.pop("delete_selected", None)  # would leave the stitched files behind
        return found

    # --- changelist ---------------------------------------------------------------------------
    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": "Sequences", **(extra_context or {})})

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        thumbs = SequenceAsset.objects.filter(variant=AssetVariant.THUMBNAIL).only("id", "sequence_id", "variant")
        return visibility.scope(super().get_queryset(request), request.user).annotate(
            shot_count=Count("shots", distinct=True),
            done_count=Count("shots", filter=Q(shots__job__status=JobStatus.COMPLETED), distinct=True),
            bad_count=Count("shots", filter=Q(shots__job__isnull=True) | Q(shots__job__status__in=BAD),
                            distinct=True),
            requested_seconds=Sum("shots__seconds"),
        ).prefetch_related(Prefetch("assets", thumbs.order_by(), to_attr="thumbnails"))

    @admin.display(description="")
    def thumb(self, sequence: Sequence) -> str:
        found = getattr(sequence, "thumbnails", None)
        url = sequence_asset_url(found[0]) if found else None
        if url:
            return format_html('<img class="sora-thumb" src="{}" alt="" loading="lazy">', url)
        return format_html('<span class="sora-thumb sora-thumb-empty" title="{}"></span>',
                           sequence.get_status_display())

    @admin.display(description="Sequence", ordering="title")
    def title_column(self, sequence: Sequence) -> str:
        return format_html('{}<span class="sora-kind">{} · {}</span>', str(sequence), sequence.model, sequence.size)

    @admin.display(description="Status", ordering="status")
    def status_column(self, sequence: Sequence) -> str:
        return format_html('<span class="sora-badge sora-status-{}">{}</span>', sequence.status,
                           sequence.get_status_display())

    @admin.display(description="Shots")
    def shots_column(self, sequence: Sequence) -> str:
        total = getattr(sequence, "shot_count", 0) or 0
        done = getattr(sequence, "done_count", 0) or 0
        bad = getattr(sequence, "bad_count", 0) or 0
        percent = int(100 * done / total) if total else 0
        return format_html(
            '<span class="sora-shots" title="{} of {} shots completed">{} / {}{}</span>'
            '<span class="sora-mini" aria-hidden="true"><span style="width: {}%"></span></span>',
            done, total, done, total, format_html(' <span class="sora-note">· {} failed</span>', bad) if bad else "",
            percent,
        )

    @admin.display(description="Duration", ordering="duration")
    def duration_column(self, sequence: Sequence) -> str:
        if sequence.duration:
            return f"{sequence.duration:.1f} s"
        requested = getattr(sequence, "requested_seconds", None)
        return format_html('<span class="sora-meta">{} s requested</span>', requested) if requested else "—"

    @admin.display(description="Owner", ordering="owner__username")
    def owner_column(self, sequence: Sequence) -> str:
        return sequence.owner.get_username() if sequence.owner_id else "—"

    @admin.display(description="Created", ordering="created_at")
    def created(self, sequence: Sequence) -> str:
        return date_format(timezone.localtime(sequence.created_at), "M j, H:i")

    @admin.display(description="Provider")
    def provider_column(self, sequence: Sequence) -> str:
        config = safe_provider(sequence.provider)
        return config.display_name if config else sequence.provider

    # --- URLs ---------------------------------------------------------------------------------
    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/stitch/", wrap(self.stitch_view), name="sora_videos_sequence_stitch"),
            path("<path:object_id>/shots/<int:position>/retry/", wrap(self.retry_view),
                 name="sora_videos_sequence_retry_shot"),
            path("<path:object_id>/shots/<int:position>/replace/", wrap(self.replace_view),
                 name="sora_videos_sequence_replace_shot"),
            *super().get_urls(),
        ]

    def _sequence(self, object_id: str) -> Sequence:
        key = str(unquote(object_id))
        sequence = Sequence.objects.filter(pk=int(key)).select_related("owner").first() if key.isdigit() else None
        if sequence is None:
            raise Http404("No such sequence (it may have been deleted).")
        return sequence

    def _back(self, sequence: Sequence) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:sora_videos_sequence_change", args=[sequence.pk]))

    # --- delete -------------------------------------------------------------------------------
    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
                    ) -> HttpResponse:
        sequence = self._sequence(object_id)
        if not self.has_delete_permission(request, sequence):
            raise PermissionDenied
        if request.method == "POST" and APPLY in request.POST:
            if delete_confirmed(request, [sequence]):
                return HttpResponseRedirect(reverse("admin:sora_videos_sequence_changelist"))
            return self._back(sequence)
        return self.delete_confirmation(request, [sequence], action="", form_action=request.path)

    def delete_confirmation(self, request: HttpRequest, items: list[Sequence], *, action: str,
                            form_action: str | None = None) -> TemplateResponse:
        rows = []
        for sequence in items:
            shots = list(sequence.shots.all())
            rows.append({
                "obj": sequence,
                "url": reverse("admin:sora_videos_sequence_change", args=[sequence.pk]),
                "files": len(sequence.assets.all()),
                "jobs": [s.job for s in shots if s.job is not None],
                "note": "being stitched right now; delete it once the stitch is done"
                if policy.is_being_stitched(sequence) else "",
            })
        context = {
            **admin_page(self, request, "Delete sequences"),
            "rows": rows,
            "applicable": sum(1 for row in rows if not row["note"]),
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "form_action": form_action or reverse("admin:sora_videos_sequence_changelist"),
            "changelist_url": reverse("admin:sora_videos_sequence_changelist"),
            "cancel_url": reverse("admin:sora_videos_sequence_change", args=[items[0].pk]) if len(items) == 1 and not action
            else reverse("admin:sora_videos_sequence_changelist"),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/sora_videos/sequence/delete_confirmation.html", context)
