"""The make page of the gallery: a member makes a video or a sequence without the admin.

It collects what the admin's Generate page collects (the same form, the same model table
for the page's script) and hands it to :mod:`videos.services` / :mod:`videos.sequences`,
so budgets, validation and "one paid create per job" hold exactly as everywhere else.
"""
from __future__ import annotations

import contextlib
import uuid
from decimal import Decimal

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_safe

from .. import budgets, conf, http, making, policy, sequences, services, visibility
from ..exceptions import InvalidRequest, SoraVideosError
from ..forms import MakeForm, model_table
from ..models import ReferenceImage, Sequence
from .access import gallery_access, no_access, visible_jobs
from .pages import render_page, spend_of

#: services' InvalidRequest.field -> the make form's field
FORM_FIELDS = {"prompt": "text", "reference_image": "reference_upload", "shots": "shot_images", "budget": None}


def _estimate(form: MakeForm, count: int) -> Decimal | None:
    with contextlib.suppress(SoraVideosError, ValueError):
        return services.estimate_cost(
            provider=form.value("provider") or None, model=form.value("model") or None,
            size=form.value("size") or None, seconds=form.value("seconds") or None) * count
    return None


def _shot_count(form: MakeForm) -> int:
    text = form.value("text") if form.is_bound else ""
    prompts = max(1, text.count(sequences.SHOT_SEPARATOR) + 1)
    files = len(form.files.getlist(form.add_prefix("shot_images"))) if form.is_bound else 0
    return max(prompts, files, 1)


def _make(request: HttpRequest, form: MakeForm) -> HttpResponse | None:
    """Queue the video or the sequence; on a refusal, put it on its field and return None."""
    data = form.cleaned_data
    text = form.prompt().compose()
    images = data.get("shot_images") or []
    common = {"provider": data["provider"], "model": data["model"], "size": data["size"],
              "fit": data.get("fit") or None, "extra_params": form.extra_params(), "user": request.user,
              "project": data.get("project")}
    try:
        made = making.make(sequences.split_prompts(text), images, seconds=data["seconds"],
                           reference=data.get("reference_upload") or data.get("reference_image"),
                           title=data.get("title") or "", **common)
        if isinstance(made, Sequence):
            messages.success(request, f"Sequence “{made.title}” is queued: {made.shots.count()} shots.")
            target = reverse("videos:sequence_detail", args=[made.uuid])
        else:
            messages.success(request, f"Your video is queued ({made.seconds} s, {made.size}, estimated "
                                      f"{made.estimated_cost:.2f} {conf.get('CURRENCY')}).")
            target = reverse("videos:detail", args=[made.uuid])
    except InvalidRequest as exc:
        field = FORM_FIELDS.get(exc.field or "", exc.field)
        form.add_error(field if field in form.fields else None, exc.message)
        return None
    except SoraVideosError as exc:
        form.add_error(None, str(exc))
        return None
    if services.workers_unreachable():
        messages.warning(request, services.WORKERS_UNREACHABLE)
    return redirect(target)


def _initial(request: HttpRequest) -> dict[str, str]:
    """``?from=<uuid>``: the make page filled with that video's request (to change and try again)."""
    source = request.GET.get("from", "")
    job = visible_jobs(request).filter(uuid=source).first() if _is_uuid(source) else None
    if job is None:
        return {}
    return {"text": job.prompt_text, "project": job.project_id or "", "provider": job.provider, "model": job.model,
            "size": job.size, "seconds": str(job.seconds), "fit": job.reference_fit or conf.get("REFERENCE_FIT"),
            "reference_image": job.reference_image_id or ""}


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@gallery_access
def create(request: HttpRequest) -> HttpResponse:
    if not policy.may_make(request.user):
        return no_access(request, needs="Video makers", doing="make videos")
    form = MakeForm(request.POST or None, request.FILES or None, initial=_initial(request),
                    projects=visibility.choosable(request.user))
    if request.method == "POST" and form.is_valid():
        response = _make(request, form)
        if response is not None:
            return response
    count = _shot_count(form)
    estimate = _estimate(form, count)
    spendable = budgets.spendable(request.user, spend_of(request))
    reference = None
    ref_id = str(form.value("reference_image") or "")
    if ref_id.isdigit():
        reference = ReferenceImage.objects.filter(pk=int(ref_id)).first()
    over = estimate is not None and spendable is not None and estimate > spendable
    return render_page(request, "sora_videos/create.html", {
        "form": form,
        "model_table": model_table(),
        "estimate": estimate,
        "count": count,
        "spendable": spendable,
        "over_budget": over,
        "reference": reference,
        "fit_url_template": reverse("videos:reference_fit", args=[999999999, "WxH", "MODE"]),
        "upload_url": reverse("videos:reference_upload"),
    }, status=400 if form.is_bound and form.errors else 200)


@gallery_access
def reference_upload(request: HttpRequest) -> JsonResponse:
    """The make page's script uploads the chosen image here to preview how it is fitted."""
    if request.method == "POST" and not policy.may_make(request.user):
        return JsonResponse({"error": "You may not make videos: ask to be added to 'Video makers'."}, status=403)
    return http.reference_upload(request)


@require_safe
@gallery_access
def reference_fit(request: HttpRequest, pk: int, size: str, mode: str) -> HttpResponse:
    return http.fitted(pk, size, mode)
