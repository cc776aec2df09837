"""What a member does to a video from its page: remix, edit, extend, re-submit, retry the
download, delete. Each is offered only when :func:`videos.policy.refusal_for` allows it (the
rule the admin asks too), confirmed on a page that shows what it costs, and done by
:mod:`videos.services`, which checks everything again.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from .. import budgets, conf, policy, services
from ..exceptions import InvalidRequest, SoraVideosError
from ..forms import ExtendForm, NewPromptForm, RejectForm
from ..models import JobStatus, VideoJob
from ..policy import Action
from .access import gallery_access, visible_jobs, visible_sequence
from .pages import render_page, spend_of

#: URL slug -> (action, button, what happens)
ACTIONS: dict[str, tuple[str, str, str]] = {
    "remix": (Action.REMIX, "Remix", "A new video made from this one with the one change you describe."),
    "edit": (Action.EDIT, "Edit", "A new video that edits this one as you describe."),
    "extend": (Action.EXTEND, "Extend", "A new, longer video: this one continued by the seconds you choose."),
    "resubmit": (Action.RESUBMIT, "Re-submit", "The same request made again as a new video."),
    "retry-download": (Action.RETRY_DOWNLOAD, "Retry download", "Fetch the paid video from the provider again "
                                                                "and store it. Nothing is paid again."),
    "delete": (Action.DELETE, "Delete", "The video is deleted at the provider (where it can) and every stored "
                                        "file here. This cannot be undone."),
    "approve": (Action.APPROVE, "Approve", "It is sent to the provider now and made. Its cost was reserved against "
                                          "the budget when it was asked for."),
    "reject": (Action.REJECT, "Reject", "It is not made and nothing is spent; the maker sees your reason."),
}
SPENDS = (Action.REMIX, Action.EDIT, Action.EXTEND, Action.RESUBMIT)


def offered(user: Any, job: VideoJob) -> list[dict[str, str]]:
    """The action buttons of a video's page for this member (slug, label, URL)."""
    return [{"slug": slug, "label": label, "url": reverse("videos:act", args=[job.uuid, slug])}
            for slug, (action, label, _) in ACTIONS.items() if policy.allows_for(user, action, job)]


def _form(action: str, job: VideoJob, data: Any) -> Any:
    if action == Action.EXTEND:
        try:
            choices = list(conf.provider(job.provider).model(job.model).extend_seconds)
        except SoraVideosError:
            choices = []
        return ExtendForm(data, choices=choices)
    if action in (Action.REMIX, Action.EDIT):
        return NewPromptForm(data)
    if action == Action.REJECT:
        return RejectForm(data)
    return None


def _do(action: str, job: VideoJob, user: Any, form: Any) -> VideoJob:
    data = form.cleaned_data if form is not None else {}
    return services.perform(action, job, user=user, prompt=data.get("prompt") or "", seconds=data.get("seconds"),
                            reason=data.get("reason") or "")


def _done(request: HttpRequest, action: str, job: VideoJob, result: VideoJob) -> HttpResponse:
    if action == Action.DELETE:
        note = f" {result.remote_note}" if result.remote_note else ""
        messages.success(request, f"Deleted “{job.short_prompt}”.{note}")
        return redirect("videos:gallery")
    if action == Action.RETRY_DOWNLOAD:
        messages.success(request, "The download is queued again; this page shows its progress.")
    elif action == Action.APPROVE:
        messages.success(request, "Approved: it is being sent to the provider.")
    elif action == Action.REJECT:
        messages.success(request, "Rejected: the maker sees your reason.")
    elif action == Action.RESUBMIT:
        messages.success(request, f"Re-submitted job {job.pk} as this new job; it is queued.")
    else:
        messages.success(request, f"Your {Action(action).label} of “{job.short_prompt}” is queued.")
    if services.workers_unreachable():
        messages.warning(request, services.WORKERS_UNREACHABLE)
    return redirect("videos:detail", uuid=result.uuid)


@gallery_access
def act(request: HttpRequest, uuid: Any, slug: str) -> HttpResponse:
    if slug not in ACTIONS:
        raise Http404("No such action.")
    action, label, explanation = ACTIONS[slug]
    job = visible_jobs(request).select_related("owner").filter(uuid=uuid).first()
    if job is None:
        raise Http404("No such video (it may have been deleted).")
    refusal = policy.refusal_for(request.user, action, job)
    form = _form(action, job, request.POST if request.method == "POST" else None)
    if request.method == "POST" and refusal is None and (form is None or form.is_valid()):
        try:
            return _done(request, action, job, _do(action, job, request.user, form))
        except InvalidRequest as exc:
            if form is not None and exc.field in form.fields:
                form.add_error(exc.field, exc.message)
            else:
                messages.error(request, exc.message)
        except SoraVideosError as exc:
            messages.error(request, str(exc))
    rate = services.job_cost(job, 1)
    cost = rate * int(form["seconds"].value() or 0) if action == Action.EXTEND else rate * job.seconds
    spendable = budgets.spendable(request.user, spend_of(request)) if action in SPENDS else None
    return render_page(request, "sora_videos/act.html", {
        "job": job, "action": action, "slug": slug, "label": label, "explanation": explanation,
        "refusal": refusal, "form": form, "spends": action in SPENDS, "cost": cost, "rate": rate,
        "spendable": spendable, "over_budget": spendable is not None and action in SPENDS and cost > spendable,
        "reserved": job.estimated_cost if action == Action.APPROVE else None,
        "currency": conf.get("CURRENCY"),
    }, status=403 if refusal is not None and refusal.code == policy.RefusalCode.NOT_PERMITTED else 200)


@require_POST
@gallery_access
def decide_sequence(request: HttpRequest, uuid: Any) -> HttpResponse:
    """Approve or reject every shot of a sequence that waits for approval, in one decision."""
    sequence = visible_sequence(request, uuid)
    waiting = list(VideoJob.objects.filter(sequence_shots__sequence=sequence, status=JobStatus.AWAITING_APPROVAL)
                   .select_related("owner"))
    approve = request.POST.get("decision") == "approve"
    try:
        with transaction.atomic():  # all the shots or none
            for job in waiting:
                _decide(request.user, job, approve, request.POST.get("reason", ""))
    except SoraVideosError as exc:
        messages.error(request, str(exc))
    else:
        word = "Approved" if approve else "Rejected"
        messages.success(request, f"{word} {len(waiting)} shot{'s' if len(waiting) != 1 else ''}.")
    return redirect("videos:sequence_detail", uuid=sequence.uuid)


def _decide(user: Any, job: VideoJob, approve: bool, reason: str) -> None:
    if approve:
        policy.require_for(user, Action.APPROVE, job)
        services.approve(job, user=user)
    else:
        policy.require_for(user, Action.REJECT, job)
        services.reject(job, reason, user=user)
