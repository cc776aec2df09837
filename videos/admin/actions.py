"""Admin actions on jobs and prompts.

Every action goes through videos.services, reports per object with ``messages`` and
skips (never fails on) an object it cannot apply to. Actions that spend money need
``sora_videos.submit_videojob`` (``permissions=["submit"]``); the others need change or
delete permission on jobs.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from .. import conf, policy, services
from ..exceptions import InvalidRequest, SoraVideosError
from ..forms import model_table
from ..models import JobStatus, VideoJob
from ..policy import Action
from ..validation import check_prompt
from .common import (
    admin_page,
    describe,
    done,
    money,
    return_url,
    run_each,
    safe_provider,
    say_if_workers_unreachable,
)
from .forms import ExtendForm, NewPromptForm, RejectForm, VideoSettingsForm

APPLY = "apply"
SETTINGS_FIELDS = ("provider", "model", "size", "seconds")


def job_link(job: VideoJob) -> str:
    url = reverse("admin:sora_videos_videojob_change", args=[job.pk])
    return format_html('<a href="{}">job #{}</a>', url, job.pk)


def intermediate(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    action: str,
    title: str,
    intro: str,
    items: list[tuple[Any, str]],
    button: str,
    form: Any = None,
    cost: Any = None,
    danger: bool = False,
    form_action: str | None = None,
    outcome: str = "",
    extra: dict[str, Any] | None = None,
) -> TemplateResponse:
    """The confirmation page of an action: what will happen to each object, the form, the cost."""
    opts = modeladmin.model._meta
    media = modeladmin.media + (form.media if form is not None else type(modeladmin.media)())
    change = f"admin:{opts.app_label}_{opts.model_name}_change"
    rows = [{"obj": obj, "note": note, "url": reverse(change, args=[obj.pk])} for obj, note in items]
    providers = {getattr(obj, "provider", None) for obj, _ in items} - {None}
    if not providers:  # prompts: the provider is chosen on the page
        providers = {form.value("provider") if hasattr(form, "value") else None}
    configs = [safe_provider(name or None) for name in providers]
    emulators = [config for config in configs if config is not None and config.emulator]
    context = {
        **admin_page(modeladmin, request, title),
        "intro": intro,
        "action": action,
        "rows": rows,
        "applicable": sum(1 for _, note in items if not note),
        "currency": conf.get("CURRENCY"),
        "emulator": bool(emulators),
        "emulator_label": ", ".join(config.display_name for config in emulators),
        "form": form,
        "button": button,
        "outcome": outcome or f"Will {button.lower()}",
        "cost": cost,
        "danger": danger,
        "form_action": form_action or reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        "return_to": return_url(request) or "",
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        "media": media,
        **(extra or {}),
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/sora_videos/action_form.html", context)


# --- why an action would skip a job (shown on confirmation pages; the services decide) ---
def _skip_note(user: Any, job: VideoJob, action: str) -> str:
    found = policy.refusal_for(user, action, job)
    return found.message if found is not None else ""


# --- job actions that spend money ----------------------------------------------------------
@admin.action(description="Submit selected drafts", permissions=["submit"])
def submit_jobs(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> HttpResponse | None:
    def one(job: VideoJob) -> str:
        policy.require_for(request.user, Action.SUBMIT, job)
        services.submit(job)
        return "submitted; a worker will send it to the provider."

    run_each(request, queryset, one)
    return done(request)


def _prompt_action(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: Any,
    *,
    action: str,
    feature: str,
    verb: str,
    noun: str,
    call: Any,
    form_class: type = NewPromptForm,
    form_kwargs: dict[str, Any] | None = None,
    help_text: str = "",
) -> HttpResponse | None:
    jobs = list(queryset)
    form_kwargs = form_kwargs or {}
    form = form_class(request.POST if APPLY in request.POST else None, **form_kwargs)
    form.fields["prompt"].help_text = help_text
    if APPLY in request.POST and form.is_valid():
        try:
            text = check_prompt(form.cleaned_data["prompt"])
        except InvalidRequest as exc:
            form.add_error("prompt", exc.message)
        else:
            created: list[VideoJob] = []

            def one(job: VideoJob) -> str:
                policy.require_for(request.user, feature, job)
                new = call(job, text, form.cleaned_data)
                created.append(new)
                return format_html("{} queued as {} ({}).", noun, job_link(new), money(new.estimated_cost))

            run_each(request, jobs, one)
            return done(request, created)
    items = [(job, _skip_note(request.user, job, feature)) for job in jobs]
    per_second = sum((services.job_cost(job, 1) for job, note in items if not note), Decimal("0"))
    cost = sum((services.job_cost(job) for job, note in items if not note), Decimal("0"))
    if "seconds" in form.fields:  # an extension costs the added seconds
        chosen = (form.data.get("seconds") if form.is_bound else None) or form.fields["seconds"].initial
        cost = per_second * Decimal(str(chosen)) if str(chosen or "").isdigit() else None
    return intermediate(
        modeladmin, request, action=action, title=f"{verb.capitalize()} videos",
        intro=f"Each completed video below becomes the source of a new {noun.lower()}: a new job, billed again.",
        items=items, button=f"{verb.capitalize()}", form=form, cost=cost, outcome=f"A new {noun.lower()} of it",
        extra={"price_per_second": per_second if action == "extend_jobs" else None},
    )


@admin.action(description="Remix selected videos…", permissions=["submit"])
def remix_jobs(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> HttpResponse | None:
    return _prompt_action(
        modeladmin, request, queryset, action="remix_jobs", feature="remix", verb="remix", noun="Remix",
        call=lambda job, text, data: services.remix(job, text, user=request.user),
        help_text="Describe one focused change (e.g. “make it night, with rain”); the rest stays.",
    )


@admin.action(description="Edit selected videos…", permissions=["submit"])
def edit_jobs(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> HttpResponse | None:
    return _prompt_action(
        modeladmin, request, queryset, action="edit_jobs", feature="edit", verb="edit", noun="Edit",
        call=lambda job, text, data: services.edit(job, text, user=request.user),
        help_text="Say how to edit the video (e.g. “replace the red car with a blue bicycle”).",
    )


@admin.action(description="Extend selected videos…", permissions=["submit"])
def extend_jobs(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> HttpResponse | None:
    seconds: set[str] = set()
    for job in queryset:
        config = safe_provider(job.provider)
        if config is not None and job.model in config.models:
            seconds.update(config.models[job.model].extend_seconds)
    return _prompt_action(
        modeladmin, request, queryset, action="extend_jobs", feature="extend", verb="extend", noun="Extension",
        call=lambda job, text, data: services.extend(job, text, seconds=data["seconds"], user=request.user),
        form_class=ExtendForm, form_kwargs={"choices": sorted(seconds)},
        help_text="What happens next, continuing from the last frame.",
    )


@admin.action(description="Re-submit selected jobs as new jobs", permissions=["submit"])
def resubmit_jobs(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> HttpResponse | None:
    created: list[VideoJob] = []

    def one(job: VideoJob) -> str:
        policy.require_for(request.user, Action.RESUBMIT, job)
        new = services.resubmit(job, user=request.user)
        created.append(new)
        return format_html("re-submitted as {} ({}).", job_link(new), money(new.estimated_cost))

    run_each(request, queryset.select_related("prompt", "reference_image", "parent"), one)
    return done(request, created)


# --- job actions that do not spend money ----------------------------------------------------
@admin.action(description="Refresh status from the provider", permissions=["operate"])
def refresh_jobs(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> HttpResponse | None:
    def one(job: VideoJob) -> str:
        policy.require_for(request.user, Action.REFRESH, job)
        before = job.status
        services.refresh(job)
        if job.status == before:
            return f"still {job.get_status_display().lower()} ({job.percent}%)."
        return f"now {job.get_status_display().lower()}."

    run_each(request, queryset, one)
    return done(request)


@admin.action(description="Retry failed downloads", permissions=["operate"])
def retry_download_jobs(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> HttpResponse | None:
    def one(job: VideoJob) -> str:
        policy.require_for(request.user, Action.RETRY_DOWNLOAD, job)
        services.retry_download(job)
        return "download queued again."

    run_each(request, queryset, one)
    return done(request)


@admin.action(description="Approve selected jobs (they are sent)", permissions=["approve"])
def approve_jobs(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> HttpResponse | None:
    def one(job: VideoJob) -> str:
        policy.require_for(request.user, Action.APPROVE, job)
        services.approve(job, user=request.user)
        return format_html("approved; it is being sent ({}).", money(job.estimated_cost))

    run_each(request, queryset.select_related("owner"), one)
    return done(request)


@admin.action(description="Reject selected jobs…", permissions=["approve"])
def reject_jobs(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> HttpResponse | None:
    jobs = list(queryset.select_related("owner"))
    form = RejectForm(request.POST if APPLY in request.POST else None)
    if APPLY in request.POST and form.is_valid():
        def one(job: VideoJob) -> str:
            policy.require_for(request.user, Action.REJECT, job)
            services.reject(job, form.cleaned_data["reason"], user=request.user)
            return "rejected; its maker sees the reason."

        run_each(request, jobs, one)
        return done(request)
    return intermediate(
        modeladmin, request, action="reject_jobs", title="Reject videos",
        intro="Each video below is not made and nothing is spent; its maker sees your reason.",
        items=[(job, _skip_note(request.user, job, Action.REJECT)) for job in jobs], button="Reject", form=form,
        danger=True, outcome="Will be rejected",
    )


def delete_note(user: Any, job: VideoJob) -> str:
    if job.status == JobStatus.DELETED:
        return "already deleted"
    return _skip_note(user, job, Action.DELETE)


def delete_jobs_confirmed(request: HttpRequest, jobs: Iterable[VideoJob]) -> int:
    def one(job: VideoJob) -> str:
        policy.require_for(request.user, Action.DELETE, job)
        had_remote = bool(job.remote_id)
        note = services.delete(job, user=request.user).remote_note
        if note:
            return f"deleted here. {note}"
        where = "at the provider and here" if had_remote else "here (it never reached the provider)"
        return f"deleted {where}."

    return run_each(request, jobs, one)


@admin.action(description="Delete selected videos (provider and local files)…", permissions=["delete"])
def delete_jobs(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> HttpResponse | None:
    jobs = list(queryset.prefetch_related("assets"))
    if APPLY in request.POST:
        delete_jobs_confirmed(request, jobs)
        return done(request)
    return delete_confirmation(modeladmin, request, jobs, action="delete_jobs")


def delete_confirmation(
    modeladmin: admin.ModelAdmin, request: HttpRequest, jobs: list[VideoJob], *, action: str,
    form_action: str | None = None,
) -> TemplateResponse:
    return intermediate(
        modeladmin, request, action=action, title="Delete videos",
        intro="Each video is deleted at its provider (it cannot be downloaded again) and its stored files are "
        "removed here. The job rows stay, marked deleted, for the history and the budget.",
        items=[(job, delete_note(request.user, job)) for job in jobs], button="Yes, delete", danger=True,
        outcome="Will be deleted",
        form_action=form_action, extra={"show_assets": True},
    )


# --- prompts -----------------------------------------------------------------------------------
@admin.action(description="Generate videos from selected prompts…", permissions=["submit"])
def generate_from_prompts(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> HttpResponse | None:
    prompts = list(queryset)
    form = VideoSettingsForm(request.POST if APPLY in request.POST else None)
    if APPLY in request.POST and form.is_valid():
        created: list[VideoJob] = []
        settings_error: InvalidRequest | None = None
        for prompt in prompts:
            try:
                job = services.create_video(
                    prompt, provider=form.cleaned_data["provider"], model=form.cleaned_data["model"],
                    size=form.cleaned_data["size"], seconds=form.cleaned_data["seconds"], user=request.user,
                )
            except InvalidRequest as exc:
                if exc.field in SETTINGS_FIELDS:  # the same for every prompt: say it once, on the form
                    settings_error = exc
                    break
                messages.error(request, format_html("{}: skipped. {}", describe(prompt), str(exc)))
            except SoraVideosError as exc:
                messages.warning(request, format_html("{}: skipped. {}", describe(prompt), str(exc)))
            else:
                created.append(job)
                messages.success(
                    request, format_html("{}: queued as {} ({}).", describe(prompt), job_link(job),
                                         money(job.estimated_cost))
                )
        if settings_error is None:
            if created:
                say_if_workers_unreachable(request)
            return None
        form.add_error(settings_error.field if settings_error.field in form.fields else None, settings_error.message)
    items = [(prompt, "" if prompt.compose() else "empty prompt") for prompt in prompts]
    cost = None
    try:
        cost = services.estimate_cost(
            provider=form.value("provider") or None, model=form.value("model") or None,
            size=form.value("size") or None, seconds=form.value("seconds") or None,
        ) * sum(1 for _, note in items if not note)
    except SoraVideosError:
        pass
    return intermediate(
        modeladmin, request, action="generate_from_prompts", title="Generate videos from prompts",
        intro="One video per prompt below, with the settings you choose here.",
        items=items, button="Generate", form=form, cost=cost, outcome="One new video",
        extra={"model_table": model_table(), "count": sum(1 for _, note in items if not note), "settings_form": True},
    )
