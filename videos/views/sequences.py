"""Sequences in the gallery: a grid of multi-shot sequences, one page per sequence, live progress.

Same access rule as the rest of the gallery (``sora_videos.view_videojob``). Every page runs a
fixed number of queries whatever the number of sequences or shots: the grid is one
keyset-paginated query plus two prefetches (stitched files; shots with their jobs), the
detail page four (the sequence, its files, its shots with their jobs, the shots' files).
The JSON endpoints never call the provider; like the job endpoints they only nudge the
sweep (:func:`videos.pipeline.nudge`).
"""
from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from typing import Any, Iterable

from django import forms
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_safe

from .. import advice, conf, permissions, policy, visibility
from ..exceptions import SoraVideosError
from ..filters import MAX_SEARCH, PAGE_SIZE, FilterForm, OwnerField, keyset_page
from ..models import JobStatus, Sequence, SequenceAsset, SequenceShot, SequenceStatus, VideoAsset
from ..pipeline import nudge
from ..policy import Action
from ..sequences import BAD, SequenceProgress, progress
from .access import gallery_access, json_access
from .gallery import provider_labels
from .pages import render_page
from .status import parse_ids

#: The states in which a sequence still moves on its own (shots rendering, or stitching).
VARIANTS = ("video", "thumbnail", "spritesheet")


class SequenceFilterForm(FilterForm):
    q = forms.CharField(
        label="Search titles and shot prompts", required=False, max_length=MAX_SEARCH, strip=True,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search sequences…", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(label="Status", required=False)
    owner = OwnerField(label="Owner", required=False, queryset=None, empty_label="Anyone")

    FILTER_FIELDS = ("q", "status", "owner")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "Any status")] + list(SequenceStatus.choices)

    def apply(self, qs: QuerySet) -> QuerySet:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        for word in (data.get("q") or "").split()[:8]:
            in_shot = SequenceShot.objects.filter(sequence=OuterRef("pk"), prompt_text__icontains=word)
            qs = qs.filter(Q(title__icontains=word) | Exists(in_shot))
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        if data.get("owner"):
            qs = qs.filter(owner=data["owner"])
        return qs


# --- loading ---------------------------------------------------------------------------------
def _shots_prefetch(*, with_files: bool = False) -> Prefetch:
    shots = SequenceShot.objects.select_related("job").defer("job__remote_payload").order_by("position")
    if with_files:
        shots = shots.select_related("reference_image").prefetch_related(
            Prefetch("job__assets", VideoAsset.objects.order_by()))
    return Prefetch("shots", shots)


def list_queryset(request: HttpRequest) -> QuerySet:
    """The sequences this person may see (their projects, :mod:`videos.visibility`), ready to show."""
    return visibility.scope(Sequence.objects.all(), request.user).select_related("owner").prefetch_related(
        Prefetch("assets", SequenceAsset.objects.order_by()), _shots_prefetch())


def decorate(items: Iterable[Sequence]) -> list[Sequence]:
    """Give each (prefetched) sequence ``files``, ``shot_list``, ``report`` and display fields."""
    labels = provider_labels()
    result = []
    for sequence in items:
        shots = list(sequence.shots.all())
        report = progress(sequence, shots)
        sequence.files = {a.variant: a for a in sequence.assets.all()}  # type: ignore[attr-defined]
        sequence.shot_list = shots  # type: ignore[attr-defined]
        sequence.report = report  # type: ignore[attr-defined]
        sequence.label = report.label  # type: ignore[attr-defined]
        sequence.active = sequence.status in SequenceStatus.active()  # type: ignore[attr-defined]
        sequence.requested_seconds = sum(s.seconds for s in shots)  # type: ignore[attr-defined]
        sequence.provider_label = labels.get(sequence.provider, sequence.provider)  # type: ignore[attr-defined]
        result.append(sequence)
    return result


def problem(sequence: Sequence, report: SequenceProgress) -> str:
    """What went wrong, in words for the gallery (the operator's commands stay in the admin)."""
    if sequence.status == SequenceStatus.FAILED:
        return " ".join(filter(None, (sequence.error_message or "Stitching failed.",
                                      advice.for_sequence(sequence, advice.Surface.GALLERY))))
    if sequence.status == SequenceStatus.NEEDS_ATTENTION:
        bad = report.failed
        which = ", ".join(str(s.position) for s in bad) or "?"
        return (f"Shot{'s' if len(bad) > 1 else ''} {which} did not render. An operator can retry or replace "
                f"{'them' if len(bad) > 1 else 'it'} in the admin; the other shots are kept.")
    return ""


def shot_label(status: str) -> str:
    if status == "missing":
        return "No job"
    try:
        return JobStatus(status).label
    except ValueError:
        return status


def shot_payload(state: Any) -> dict[str, Any]:
    job = state.job
    visible = job is not None and job.status not in (JobStatus.DELETED, JobStatus.DRAFT)
    return {
        "position": state.position,
        "status": state.status,
        "status_label": shot_label(state.status),
        "progress": state.progress,
        "active": state.status in JobStatus.active(),
        "error": state.error if (state.status in BAD or state.status == "missing") else "",
        "job": str(job.uuid) if job else None,
        "url": reverse("videos:detail", args=[job.uuid]) if visible else None,
    }


def payload(sequence: Sequence, *, shots: bool = True) -> dict[str, Any]:
    report: SequenceProgress = sequence.report  # type: ignore[attr-defined]
    active = sequence.status in SequenceStatus.active()
    data: dict[str, Any] = {
        "id": str(sequence.uuid),
        "status": sequence.status,
        "status_label": sequence.label,  # type: ignore[attr-defined]
        "progress": report.percent,
        "current": sequence.is_current,
        "active": active,  # the sequence itself moves on (rendering or stitching)
        "watch": report.moving,  # worth polling: that, or a shot still rendering
        "done": not active,
        "shots_done": report.done,
        "shots_total": len(report.shots),
        "duration": sequence.duration,
        "error": problem(sequence, report),
        "version": report.version,
        "url": reverse("videos:sequence_detail", args=[sequence.uuid]),
    }
    if shots:
        data["shots"] = [shot_payload(state) for state in report.shots]
    return data


# --- pages -----------------------------------------------------------------------------------
@require_safe
@gallery_access
def sequence_list(request: HttpRequest) -> HttpResponse:
    form = SequenceFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    qs = form.apply(list_queryset(request))
    page = keyset_page(qs, after=request.GET.get("after", ""), before=request.GET.get("before", ""),
                       size=PAGE_SIZE)
    items = decorate(page.items)
    context = {
        "form": form,
        "page": page,
        "sequences": items,
        "next_url": f"?{form.querystring(after=page.next_cursor)}" if page.has_next else "",
        "prev_url": f"?{form.querystring(before=page.prev_cursor)}" if page.has_prev else "",
        "first_url": f"?{form.querystring()}" if not page.first else "",
        "clear_url": reverse("videos:sequences") if form.active_filters else "",
        "in_flight": any(s.active for s in items),  # type: ignore[attr-defined]
    }
    return render_page(request, "sora_videos/sequences.html", context)


def admin_links(request: HttpRequest, sequence: Sequence) -> dict[str, str]:
    """The admin's sequence page for staff who may operate it (empty without an admin)."""
    user = request.user
    links: dict[str, str] = {}
    if not getattr(user, "is_staff", False):
        return links
    try:
        if user.has_perm(permissions.CHANGE) or user.has_perm(permissions.SUBMIT):
            links["change"] = reverse("admin:sora_videos_sequence_change", args=[sequence.pk])
        if user.has_perm(permissions.DELETE):
            links["delete"] = reverse("admin:sora_videos_sequence_delete", args=[sequence.pk])
    except NoReverseMatch:
        return {}
    return links


@require_safe
@gallery_access
def sequence_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    sequence = (
        visibility.scope(Sequence.objects.all(), request.user).select_related("owner")
        .prefetch_related(Prefetch("assets", SequenceAsset.objects.order_by()), _shots_prefetch(with_files=True))
        .filter(uuid=uuid).first()
    )
    if sequence is None:
        raise Http404("No such sequence (it may have been deleted).")
    [sequence] = decorate([sequence])
    report: SequenceProgress = sequence.report  # type: ignore[attr-defined]
    rows = []
    for shot, state in zip(sequence.shot_list, report.shots):  # type: ignore[attr-defined]
        files = {a.variant: a for a in shot.job.assets.all()} if shot.job else {}
        rows.append({"shot": shot, "state": state, "files": files, **shot_payload(state)})
    files = sequence.files  # type: ignore[attr-defined]
    shots = sequence.shot_list  # type: ignore[attr-defined]
    try:
        currency = conf.get("CURRENCY")
    except SoraVideosError:
        currency = ""
    awaiting = [s.job for s in shots if s.job is not None and s.job.status == JobStatus.AWAITING_APPROVAL]
    context = {
        "sequence": sequence,
        "report": report,
        "rows": rows,
        "video": files.get("video"),
        "thumbnail": files.get("thumbnail"),
        "downloads": [files[v] for v in VARIANTS if v in files],
        "stale": report.stale_note if "video" in files else "",
        "version": report.version,
        "problem": problem(sequence, report),
        "estimated_cost": sum((s.job.estimated_cost for s in shots if s.job), 0),
        "currency": currency,
        "admin": admin_links(request, sequence),
        "active": sequence.status in SequenceStatus.active(),
        "watch": report.moving,
        "awaiting": awaiting,
        "may_decide": any(policy.allows_for(request.user, Action.APPROVE, job) for job in awaiting),
    }
    return render_page(request, "sora_videos/sequence_detail.html", context)


# --- JSON ------------------------------------------------------------------------------------
def _shot_jobs(items: Iterable[Sequence]) -> list[Any]:
    return [s.job for seq in items for s in seq.shot_list if s.job is not None]  # type: ignore[attr-defined]


@require_safe
@json_access
def sequence_status(request: HttpRequest, uuid: uuidlib.UUID) -> JsonResponse:
    sequence = list_queryset(request).filter(uuid=uuid).first()
    if sequence is None:
        return JsonResponse({"error": "No such sequence (it may have been deleted)."}, status=404)
    [sequence] = decorate([sequence])
    nudge(_shot_jobs([sequence]))
    return JsonResponse({**payload(sequence), "poll_after": 2.0})


@require_safe
@json_access
def sequences_status(request: HttpRequest) -> JsonResponse:
    """Many sequences at once: ``?ids=<uuid>,<uuid>``; ``&cards=1`` adds the card HTML of finished ones."""
    ids = parse_ids(request, "sequence")
    if isinstance(ids, JsonResponse):
        return ids
    items = decorate(list_queryset(request).filter(uuid__in=ids))
    nudge(_shot_jobs(items))
    with_cards = request.GET.get("cards") == "1"
    result: dict[str, Any] = {}
    for sequence in items:
        item = payload(sequence, shots=False)
        if with_cards and sequence.status not in SequenceStatus.active():
            item["html"] = render_to_string("sora_videos/_sequence_card.html", {"sequence": sequence}, request=request)
        result[str(sequence.uuid)] = item
    missing = [str(i) for i in ids if str(i) not in result]
    return JsonResponse({"sequences": result, "missing": missing, "poll_after": 2.0,
                         "at": dt.datetime.now(dt.timezone.utc).isoformat()})


__all__ = ["sequence_list", "sequence_detail", "sequence_status", "sequences_status"]
