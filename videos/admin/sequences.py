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

import datetime as dt
import re
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from .. import advice, budgets, conf, sequences, services
from ..exceptions import InvalidRequest, JobStateError, SoraVideosError
from ..models import (
    AssetVariant,
    JobStatus,
    Sequence,
    SequenceAsset,
    SequenceShot,
    SequenceStatus,
    VideoAsset,
)
from ..queue import enqueue
from ..sequences import BAD
from .common import (
    SubmitPermissionMixin,
    asset_url,
    can_submit,
    describe,
    model_table,
    money,
    reference_image_url,
    run_each,
    safe_provider,
)
from .job_filters import ProviderFilter
from .sequence_forms import MAX_SHOTS, ReplaceShotForm, SequenceSettingsForm, ShotFormSet

ACTIVE = (SequenceStatus.RENDERING, SequenceStatus.STITCHING)
APPLY = "apply"
_SHOT_ERROR = re.compile(r"^Shot (\d+): (.*)$", re.S)


def sequence_asset_url(asset: Any, *, download: bool = False) -> str | None:
    if asset is None:
        return None
    try:
        url = reverse("videos:sequence_asset", args=[asset.pk])
    except NoReverseMatch:
        return None
    return url + "?download=1" if download else url


def job_admin_link(job: Any) -> str:
    return format_html('<a href="{}">job #{}</a>', reverse("admin:videos_videojob_change", args=[job.pk]), job.pk)


def shot_is_bad(shot: SequenceShot) -> bool:
    return shot.job is None or shot.job.status in BAD


def stitch_refusal(sequence: Sequence, shots: list[SequenceShot]) -> str:
    """Why the sequence cannot be stitched now ("" when it can)."""
    waiting = [s for s in shots if s.job is None or s.job.status != JobStatus.COMPLETED]
    if not shots:
        return "it has no shots"
    if waiting:
        listing = ", ".join(
            f"{s.position} ({s.job.get_status_display().lower() if s.job else 'no job'})" for s in waiting)
        return f"shot{'s' if len(waiting) > 1 else ''} {listing} {'are' if len(waiting) > 1 else 'is'} not completed"
    stale = timezone.now() - dt.timedelta(seconds=sequences.STITCH_STALE)
    started = sequence.stitch_started_at
    if sequence.status == SequenceStatus.STITCHING and started is not None and started > stale:
        return "it is being stitched right now"
    return ""


def request_stitch(sequence: Sequence) -> str:
    """Queue a stitch of the shots as they are now (again, if already stitched)."""
    refusal = stitch_refusal(sequence, sequences.shots_of(sequence))
    if refusal:
        raise JobStateError(f"Not stitched: {refusal}.")
    enqueue("videos.tasks.stitch_sequence", sequence.pk, True)
    return "stitching is queued; a worker joins the shots and stores the result (reload to see it)."


def retry_bad_shots(sequence: Sequence, user: Any) -> str:
    bad = [s for s in sequences.shots_of(sequence) if shot_is_bad(s)]
    if not bad:
        raise JobStateError("No shot needs a retry (none failed, needs attention or lost its job).")
    done = []
    for shot in bad:
        new = sequences.retry_shot(sequence, shot.position, user=user)
        done.append(format_html("shot {} as {} ({})", shot.position, job_admin_link(new.job),
                                money(new.job.estimated_cost)))
    return format_html("retried {}.", format_html_join(", ", "{}", ((d,) for d in done)))


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


class SequenceAdmin(SubmitPermissionMixin, admin.ModelAdmin):
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
    change_form_template = "admin/videos/sequence/change_form.html"
    change_list_template = "admin/videos/sequence/change_list.html"
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
        css = {"all": ("videos/admin/admin.css",)}

    # --- permissions (the job permissions: a sequence is made of jobs) -------------------------
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return user.is_active and (user.has_perm("videos.view_videojob") or user.has_perm("videos.change_videojob"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Adding a sequence renders every shot: it spends money."""
        return can_submit(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """The page is read-only; the buttons and actions change a sequence."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.has_perm("videos.delete_videojob")

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Stitch again: changes the sequence, spends nothing."""
        return request.user.is_active and request.user.has_perm("videos.change_videojob")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        found = super().get_actions(request)
        found.pop("delete_selected", None)  # would leave the stitched files behind
        return found

    # --- changelist ---------------------------------------------------------------------------
    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": "Sequences", **(extra_context or {})})

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        thumbs = SequenceAsset.objects.filter(variant=AssetVariant.THUMBNAIL).only("id", "sequence_id", "variant")
        return super().get_queryset(request).annotate(
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
            path("<path:object_id>/stitch/", wrap(self.stitch_view), name="videos_sequence_stitch"),
            path("<path:object_id>/shots/<int:position>/retry/", wrap(self.retry_view),
                 name="videos_sequence_retry_shot"),
            path("<path:object_id>/shots/<int:position>/replace/", wrap(self.replace_view),
                 name="videos_sequence_replace_shot"),
            *super().get_urls(),
        ]

    def _sequence(self, object_id: str) -> Sequence:
        key = str(unquote(object_id))
        sequence = Sequence.objects.filter(pk=int(key)).select_related("owner").first() if key.isdigit() else None
        if sequence is None:
            raise Http404("No such sequence (it may have been deleted).")
        return sequence

    def _back(self, sequence: Sequence) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:videos_sequence_change", args=[sequence.pk]))

    # --- the sequence page ----------------------------------------------------------------------
    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        key = str(unquote(object_id))
        sequence = Sequence.objects.filter(pk=int(key)).select_related("owner").first() if key.isdigit() else None
        context = {**(extra_context or {}), **self.page_context(request, sequence)} if sequence else extra_context
        return super().change_view(request, object_id, form_url, context)

    def page_context(self, request: HttpRequest, sequence: Sequence) -> dict[str, Any]:
        from ..views.sequences import moving, payload, stale_note, status_label

        config = safe_provider(sequence.provider)
        shots = list(
            sequence.shots.select_related("job", "reference_image").defer("job__remote_payload")
            .prefetch_related(Prefetch("job__assets", VideoAsset.objects.filter(
                variant=AssetVariant.THUMBNAIL).order_by(), to_attr="thumbnails"))
            .order_by("position")
        )
        assets = {a.variant: a for a in sequence.assets.all()}
        report = sequences.progress(sequence, shots)
        sequence.report = report  # type: ignore[attr-defined]
        sequence.label = status_label(sequence, report)  # type: ignore[attr-defined]
        submit = can_submit(request)
        rows = []
        for shot, state in zip(shots, report.shots):
            job = shot.job
            thumbs = getattr(job, "thumbnails", []) if job else []
            active = job is not None and job.status in (JobStatus.DRAFT, *JobStatus.active())
            rows.append({
                "shot": shot,
                "state": state,
                "job": job,
                "thumbnail_url": asset_url(thumbs[0]) if thumbs else None,
                "reference_url": reference_image_url(shot.reference_image),
                "job_url": reverse("admin:videos_videojob_change", args=[job.pk]) if job else None,
                "status_label": job.get_status_display() if job else "No job",
                "active": active,
                "bad": shot_is_bad(shot),
                "can_retry": submit and shot_is_bad(shot),
                "can_replace": submit and not active,
            })
        refusal = stitch_refusal(sequence, shots)
        tools = []
        if self.has_operate_permission(request) and not refusal:
            tools.append({"url": reverse("admin:videos_sequence_stitch", args=[sequence.pk]),
                          "label": "Stitch again" if assets.get("video") else "Stitch now", "post": True,
                          "hint": "Join the shots as they are now into one MP4"})
        try:
            gallery_url = reverse("videos:sequence_detail", args=[sequence.uuid])
        except NoReverseMatch:
            gallery_url = None
        if gallery_url:
            tools.append({"url": gallery_url, "label": "View in the gallery", "post": False})
        if self.has_delete_permission(request, sequence):
            tools.append({"url": reverse("admin:videos_sequence_delete", args=[sequence.pk]), "label": "Delete…",
                          "style": "danger", "post": False, "hint": "The stitched files and the sequence; jobs stay"})
        downloads = [
            {"label": "Stitched video (MP4)" if variant == "video" else asset.get_variant_display(),
             "url": sequence_asset_url(asset, download=True), "bytes": asset.bytes, "width": asset.width,
             "height": asset.height, "duration": asset.duration}
            for variant in ("video", "thumbnail", "spritesheet") if (asset := assets.get(variant)) is not None
        ]
        try:
            status_url = reverse("videos:sequence_status", args=[sequence.uuid])
        except NoReverseMatch:
            status_url = ""
        return {
            "title": f"Sequence #{sequence.pk}",
            "subtitle": str(sequence),
            "sequence": sequence,
            "provider": config,
            "emulator": bool(config and config.emulator),
            "report": report,
            "next_step": advice.for_sequence(sequence, advice.Surface.ADMIN),
            "rows": rows,
            "video_url": sequence_asset_url(assets.get("video")),
            "thumbnail_url": sequence_asset_url(assets.get("thumbnail")),
            "spritesheet_url": sequence_asset_url(assets.get("spritesheet")),
            "downloads": downloads,
            "tools": tools,
            "stitch_refusal": refusal,
            "stale": stale_note(sequence) if assets.get("video") else "",
            "active": sequence.status in ACTIVE,
            "watch": moving(sequence, report),
            "status_url": status_url,
            "version": payload(sequence, shots=False)["version"],
            "can_submit": submit,
            "requested_seconds": sum(s.seconds for s in shots),
            "estimated_cost": sum((s.job.estimated_cost for s in shots if s.job), 0),
            "currency": conf.get("CURRENCY"),
        }

    # --- buttons --------------------------------------------------------------------------------
    def stitch_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        sequence = self._sequence(object_id)
        if not self.has_operate_permission(request):
            raise PermissionDenied
        run_each(request, [sequence], request_stitch)
        return self._back(sequence)

    def retry_view(self, request: HttpRequest, object_id: str, position: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        sequence = self._sequence(object_id)
        if not can_submit(request):
            raise PermissionDenied

        def one(seq: Sequence) -> str:
            shot = sequences.retry_shot(seq, position, user=request.user)
            return format_html("shot {} is rendered again as {} ({}); the other shots are kept.", position,
                               job_admin_link(shot.job), money(shot.job.estimated_cost))

        run_each(request, [sequence], one)
        return self._back(sequence)

    def replace_view(self, request: HttpRequest, object_id: str, position: int) -> HttpResponse:
        sequence = self._sequence(object_id)
        if not can_submit(request):
            raise PermissionDenied
        try:
            shot = sequences.get_shot(sequence, position)
        except SoraVideosError as exc:
            messages.error(request, str(exc))
            return self._back(sequence)
        config = safe_provider(sequence.provider)
        spec = config.models.get(sequence.model) if config else None
        choices = list(spec.seconds) if spec else None
        initial = {"prompt": shot.prompt_text, "seconds": str(shot.seconds)}
        form = ReplaceShotForm(request.POST if request.method == "POST" else None,
                               request.FILES if request.method == "POST" else None,
                               initial=initial, seconds_choices=choices)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            prompt = (data.get("prompt") or "").strip()
            try:
                new = sequences.replace_shot(
                    sequence, position,
                    prompt=prompt if prompt and prompt != shot.prompt_text else None,
                    image=data.get("image"), drop_image=bool(data.get("drop_image")),
                    seconds=data["seconds"] if data.get("seconds") and data["seconds"] != str(shot.seconds) else None,
                    user=request.user,
                )
            except InvalidRequest as exc:
                field = {"prompt": "prompt", "reference_image": "image", "seconds": "seconds"}.get(exc.field or "")
                form.add_error(field, exc.message)
            except SoraVideosError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, format_html(
                    "{}: shot {} is rendered from the new request as {} ({}); the other shots are kept.",
                    describe(sequence), position, job_admin_link(new.job), money(new.job.estimated_cost)))
                return self._back(sequence)
        refusal = ""
        if shot.job is not None and shot.job.status in (JobStatus.DRAFT, *JobStatus.active()):
            refusal = (f"Shot {position} is still {shot.job.get_status_display().lower()} (job {shot.job.pk}); "
                       "wait for it to finish before you replace it.")
        per_second = spec.cost(sequence.size, 1) if spec else None
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": f"Replace shot {position} of sequence #{sequence.pk}",
            "opts": opts,
            "app_label": opts.app_label,
            "sequence": sequence,
            "shot": shot,
            "form": form,
            "refusal": refusal,
            "reference_url": reference_image_url(shot.reference_image),
            "price_per_second": per_second,
            "currency": conf.get("CURRENCY"),
            "emulator": bool(config and config.emulator),
            "provider": config,
            "media": self.media + form.media,
            "change_url": reverse("admin:videos_sequence_change", args=[sequence.pk]),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/videos/sequence/replace_shot.html", context)

    # --- delete -------------------------------------------------------------------------------
    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
                    ) -> HttpResponse:
        sequence = self._sequence(object_id)
        if not self.has_delete_permission(request, sequence):
            raise PermissionDenied
        if request.method == "POST" and APPLY in request.POST:
            if delete_confirmed(request, [sequence]):
                return HttpResponseRedirect(reverse("admin:videos_sequence_changelist"))
            return self._back(sequence)
        return self.delete_confirmation(request, [sequence], action="", form_action=request.path)

    def delete_confirmation(self, request: HttpRequest, items: list[Sequence], *, action: str,
                            form_action: str | None = None) -> TemplateResponse:
        from django.contrib.admin import helpers

        opts = self.model._meta
        rows = []
        for sequence in items:
            shots = list(sequence.shots.all())
            rows.append({
                "obj": sequence,
                "url": reverse("admin:videos_sequence_change", args=[sequence.pk]),
                "files": len(sequence.assets.all()),
                "jobs": [s.job for s in shots if s.job is not None],
                "note": "being stitched right now; delete it once the stitch is done"
                if stitch_refusal(sequence, [s for s in shots if s.job]) == "it is being stitched right now" else "",
            })
        context = {
            **self.admin_site.each_context(request),
            "title": "Delete sequences",
            "opts": opts,
            "app_label": opts.app_label,
            "rows": rows,
            "applicable": sum(1 for row in rows if not row["note"]),
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "form_action": form_action or reverse("admin:videos_sequence_changelist"),
            "changelist_url": reverse("admin:videos_sequence_changelist"),
            "cancel_url": reverse("admin:videos_sequence_change", args=[items[0].pk]) if len(items) == 1 and not action
            else reverse("admin:videos_sequence_changelist"),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/videos/sequence/delete_confirmation.html", context)

    # --- the Generate sequence page (the add view) -----------------------------------------------
    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
                 ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return self.render_generate(request, SequenceSettingsForm(), ShotFormSet(prefix="shots"))
        form = SequenceSettingsForm(request.POST)
        shots, image_errors = self._bind_shots(request)
        form_ok = form.is_valid()
        shots_ok = shots.is_valid()
        for index, message in image_errors.items():
            if index < len(shots.forms):
                shots.forms[index].add_error("image", message)
                shots_ok = False
        if form_ok and shots_ok:
            filled = [f for f in shots.forms if f.filled]
            if not filled:
                shots._non_form_errors = shots.error_class(["Write the prompt of at least one shot."])
            else:
                sequence = self._create(request, form, filled)
                if sequence is not None:
                    jobs = list(sequence.shots.order_by("position").select_related("job"))
                    total = sum((s.job.estimated_cost for s in jobs if s.job), 0)
                    messages.success(request, format_html(
                        "Sequence #{} is queued: {} shot{} ({}), {} {} · {} · estimated {} in all. The shots are "
                        "stitched into one video when the last one is stored.",
                        sequence.pk, len(jobs), "s" if len(jobs) != 1 else "",
                        format_html_join(", ", "{}", ((job_admin_link(s.job),) for s in jobs if s.job)),
                        sequence.model, sequence.size, safe_provider(sequence.provider).display_name, money(total)))
                    return HttpResponseRedirect(reverse("admin:videos_sequence_change", args=[sequence.pk]))
        return self.render_generate(request, form, shots)

    def _bind_shots(self, request: HttpRequest) -> tuple[Any, dict[int, str]]:
        """Bind the shots, storing each uploaded image first so it survives an error elsewhere.

        A stored image goes back to the page as the shot's hidden ``reference_image`` (the
        browser cannot refill a file field); a refused one becomes that shot's error.
        """
        data = request.POST.copy()
        errors: dict[int, str] = {}
        try:
            total = min(int(data.get("shots-TOTAL_FORMS", "0")), MAX_SHOTS)
        except ValueError:
            total = 0
        for index in range(total):
            upload = request.FILES.get(f"shots-{index}-image")
            if upload is None:
                continue
            try:
                ref = services.save_reference_image(upload, user=request.user)
            except InvalidRequest as exc:
                errors[index] = exc.message
            else:
                data[f"shots-{index}-reference_image"] = str(ref.pk)
                data.pop(f"shots-{index}-clear_image", None)
        return ShotFormSet(data, prefix="shots"), errors

    def _create(self, request: HttpRequest, form: SequenceSettingsForm, filled: list[Any]) -> Sequence | None:
        data = form.cleaned_data
        specs = [sequences.ShotSpec(prompt=f.cleaned_data["prompt"].strip(), image=f.kept_image(),
                                    seconds=f.cleaned_data.get("seconds") or None) for f in filled]
        try:
            return sequences.create_sequence(
                specs, title=data.get("title") or "", provider=data["provider"], model=data["model"],
                size=data["size"], seconds=data["seconds"], user=request.user, fit=data.get("fit") or None,
            )
        except InvalidRequest as exc:
            field = exc.field or ""
            match = _SHOT_ERROR.match(exc.message)
            if match is None:
                form.add_error(field if field in form.fields else None, exc.message)
                return None
            number, text = int(match.group(1)), match.group(2)
            target = filled[number - 1] if 1 <= number <= len(filled) else None
            own_seconds = target is not None and bool(target.cleaned_data.get("seconds"))
            if field in ("provider", "model", "size") or (field == "seconds" and not own_seconds):
                form.add_error(field, text)  # a setting of the whole sequence
            elif target is not None:
                target.add_error({"prompt": "prompt", "reference_image": "image", "seconds": "seconds"}.get(field),
                                 text)
                form.add_error(None, exc.message)  # also at the top: the row may be far down the page
            else:
                form.add_error(None, exc.message)
        except SoraVideosError as exc:
            form.add_error(None, str(exc))
        return None

    def render_generate(self, request: HttpRequest, form: SequenceSettingsForm, shots: Any) -> TemplateResponse:
        opts = self.model._meta
        provider = safe_provider(form.value("provider") or None) or conf.provider()
        remaining = budgets.remaining(request.user)
        rows = [{"form": f, "number": n, "kept": f.kept_preview()} for n, f in enumerate(shots.forms, 1)]
        for row in rows:
            row["kept_url"] = reference_image_url(row["kept"])
        context = {
            **self.admin_site.each_context(request),
            "title": "Generate a sequence",
            "opts": opts,
            "app_label": opts.app_label,
            "form": form,
            "shots": shots,
            "rows": rows,
            "max_shots": MAX_SHOTS,
            "media": self.media + form.media,
            "model_table": model_table(),
            "remaining_text": money(remaining) if remaining is not None else "",
            "provider": provider,
            "emulator": provider.emulator,
            "has_view_permission": self.has_view_permission(request),
            "add": True,
            "is_popup": False,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/videos/sequence/generate.html", context)


__all__ = ["SequenceAdmin"]
