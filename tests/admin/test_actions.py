"""Every admin action through the test client: what it does, and each refusal (wrong
status, missing permission, over budget, invalid input) with its message and no call."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from videos import services
from videos.models import JobKind, JobStatus, Prompt, VideoJob, WebhookEvent
from videos.storage import get_storage

from ..profile_checks import queued_funcs
from ..support import drain, settle, sora_settings
from .conftest import make_job

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "admin:sora_videos_videojob_changelist"


def act(client: Any, action: str, *objs: Any, url: str = CHANGELIST, **extra: Any) -> Any:
    """Choose an action in the changelist and press Go."""
    data = {"action": action, "_selected_action": [o.pk for o in objs], "index": "0", **extra}
    return client.post(reverse(url), data, follow=True)


def confirm(client: Any, action: str, *objs: Any, url: str = CHANGELIST, **extra: Any) -> Any:
    """Press the button on an action's confirmation page."""
    data = {"action": action, "_selected_action": [o.pk for o in objs], "apply": "1", **extra}
    return client.post(reverse(url), data, follow=True)


def texts(response: Any) -> str:
    """The messages shown, as a person reads them (links become their text)."""
    from django.utils.html import strip_tags

    return " | ".join(strip_tags(str(m)).replace("&#x27;", "'") for m in response.context["messages"])


def completed(**fields: Any) -> VideoJob:
    """A completed job as the database sees it (the services check state, not the remote)."""
    return make_job(status=JobStatus.COMPLETED, remote_id=fields.pop("remote_id", "video_done1"), progress=100,
                    **fields)


def no_calls(emu: Any) -> bool:
    return not any(emu.stats()["requests"].values())


# --- permissions -------------------------------------------------------------------------------
def test_spending_actions_are_hidden_without_the_permission(sora, op, wc):
    def choices(client: Any) -> set[str]:
        response = client.get(reverse(CHANGELIST))
        return {value for value, _ in response.context["action_form"].fields["action"].choices if value}

    spending = {"submit_jobs", "remix_jobs", "edit_jobs", "extend_jobs", "resubmit_jobs"}
    others = {"refresh_jobs", "retry_download_jobs", "delete_jobs"}
    assert choices(op) == spending | others | {"approve_jobs", "reject_jobs"}
    assert choices(wc) == others  # no spending, no approving
    assert "delete_selected" not in choices(op)


def test_posting_a_hidden_action_does_nothing(sora, wc, watcher):
    draft = make_job(status=JobStatus.DRAFT)
    job = completed()
    for action in ("submit_jobs", "resubmit_jobs"):
        response = act(wc, action, draft, job)
        assert "No action selected" in texts(response)
    response = confirm(wc, "remix_jobs", job, prompt="At night")
    assert VideoJob.objects.count() == 2
    draft.refresh_from_db()
    assert draft.status == JobStatus.DRAFT
    assert no_calls(sora)


def test_the_job_page_offers_only_allowed_buttons(sora, op, wc):
    job = completed()
    url = reverse("admin:sora_videos_videojob_change", args=[job.pk])
    mine = op.get(url).content.decode()
    theirs = wc.get(url).content.decode()
    for action in ("remix_jobs", "edit_jobs", "extend_jobs", "resubmit_jobs"):
        assert f'value="{action}"' in mine and f'value="{action}"' not in theirs
    assert "Delete…" in mine and "Delete…" in theirs


# --- submit -----------------------------------------------------------------------------------------
def test_submit_drafts(sora, op):
    draft = make_job(status=JobStatus.DRAFT)
    pending = make_job()
    response = act(op, "submit_jobs", draft, pending)
    draft.refresh_from_db()
    assert draft.status == JobStatus.PENDING
    assert queued_funcs() == ["videos.tasks.submit_due"]
    msgs = texts(response)
    assert f"#{draft.pk}" in msgs and "submitted" in msgs
    assert f"#{pending.pk}" in msgs and "Only a draft can be submitted" in msgs


def test_submit_over_budget(sora, op, operator, settings):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "USER_MONTHLY_BUDGET": "0.10"}
    draft = make_job(status=JobStatus.DRAFT, owner=operator)
    response = act(op, "submit_jobs", draft)
    assert "Over budget" in texts(response)
    draft.refresh_from_db()
    assert draft.status == JobStatus.DRAFT and queued_funcs() == []


# --- remix, edit, extend -------------------------------------------------------------------------
def test_remix_asks_for_the_prompt_then_queues(sora, op, operator):
    job = completed()
    busy = make_job(status=JobStatus.IN_PROGRESS, remote_id="video_busy")
    page = act(op, "remix_jobs", job, busy)
    html = page.content.decode()
    assert page.status_code == 200 and 'name="prompt"' in html
    assert "Will be skipped: Only a completed video can be used to remix; this one is in progress." in html
    assert "0.40" in html  # the cost of the one that will be remixed
    response = confirm(op, "remix_jobs", job, busy, prompt="Same scene at night, with rain")
    remix = VideoJob.objects.get(kind=JobKind.REMIX)
    assert remix.parent == job and remix.prompt_text == "Same scene at night, with rain"
    assert remix.owner == operator and remix.status == JobStatus.PENDING
    msgs = texts(response)
    assert f"Remix queued as job #{remix.pk}" in msgs
    assert f"#{busy.pk}" in msgs and "Only a completed video can be used to remix" in msgs
    assert no_calls(sora)


def test_remix_from_the_job_page_lands_on_the_new_job(sora, op):
    job = completed()
    back = reverse("admin:sora_videos_videojob_change", args=[job.pk])
    response = confirm(op, "remix_jobs", job, prompt="Add snow", _return_to=back)
    remix = VideoJob.objects.get(kind=JobKind.REMIX)
    assert response.redirect_chain[-1][0] == reverse("admin:sora_videos_videojob_change", args=[remix.pk])


def test_remix_with_an_empty_prompt_is_a_form_error(sora, op):
    job = completed()
    response = confirm(op, "remix_jobs", job, prompt="   ")
    assert response.status_code == 200
    assert "The prompt is empty" in response.content.decode()
    assert VideoJob.objects.count() == 1 and no_calls(sora)


def test_remix_over_budget(sora, op, settings):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "USER_MONTHLY_BUDGET": "0.20"}
    job = completed()
    response = confirm(op, "remix_jobs", job, prompt="At night")
    assert "Over budget" in texts(response)
    assert VideoJob.objects.count() == 1


def test_remix_where_the_provider_has_no_remix(emulators, settings, tmp_path, op):
    emu = emulators.get("vllm-omni")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu)
    job = completed(model="Wan-AI/Wan2.2-TI2V-5B-Diffusers")
    page = act(op, "remix_jobs", job).content.decode()
    assert "cannot remix videos" in page and "Nothing selected can be handled this way" in page
    response = confirm(op, "remix_jobs", job, prompt="At night")
    assert "cannot remix videos (the vllm-omni dialect's default" in texts(response)
    assert VideoJob.objects.count() == 1
    change = op.get(reverse("admin:sora_videos_videojob_change", args=[job.pk])).content.decode()
    assert 'value="remix_jobs"' not in change


def test_edit(sora, op):
    job = completed()
    response = confirm(op, "edit_jobs", job, prompt="Replace the boat with a swan")
    edit = VideoJob.objects.get(kind=JobKind.EDIT)
    assert edit.parent == job and f"Edit queued as job #{edit.pk}" in texts(response)


def test_extend(sora, op):
    job = completed()
    page = act(op, "extend_jobs", job).content.decode()
    assert 'name="seconds"' in page and 'value="20"' in page and 'data-sora-rate="0.1000"' in page
    bad = confirm(op, "extend_jobs", job, prompt="The boat reaches the shore", seconds="7")
    assert bad.status_code == 200 and "Select a valid choice" not in bad.content.decode()
    assert "An extension can add 4, 8, 12, 16, 20 seconds, not 7" in texts(bad)
    response = confirm(op, "extend_jobs", job, prompt="The boat reaches the shore", seconds="8")
    ext = VideoJob.objects.get(kind=JobKind.EXTEND)
    assert ext.seconds == 8 and ext.estimated_cost == Decimal("0.80")
    assert "Extension queued" in texts(response)


# --- re-submit, refresh, retry download ----------------------------------------------------------------
def test_resubmit(sora, op):
    failed = make_job(status=JobStatus.FAILED, error_code="moderation_blocked", error_message="blocked")
    pending = make_job()
    response = act(op, "resubmit_jobs", failed, pending)
    new = VideoJob.objects.exclude(pk__in=[failed.pk, pending.pk]).get()
    assert new.prompt_text == failed.prompt_text and new.status == JobStatus.PENDING
    msgs = texts(response)
    assert f"re-submitted as job #{new.pk}" in msgs
    assert "Only a failed, completed or stuck job can be re-submitted" in msgs


def test_refresh(emulators, op, settings, tmp_path):
    slow = emulators.get(generation_time=120)  # still in flight when refreshed (not finished by a sweep)
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(slow)
    job = services.create_video("A lighthouse at dusk", size="1280x720", seconds=4)
    drain()  # submitted: the emulator has it, queued or in progress
    job.refresh_from_db()
    assert job.status in JobStatus.in_flight()
    done = make_job(status=JobStatus.COMPLETED, remote_id="video_x")
    before = slow.stats()["requests"]["retrieve"]
    response = act(op, "refresh_jobs", job, done)
    assert slow.stats()["requests"]["retrieve"] == before + 1
    msgs = texts(response)
    assert f"#{job.pk}" in msgs and ("still" in msgs or "now" in msgs)
    assert "Only a job queued or in progress at the provider can be refreshed" in msgs


def test_retry_download(sora, op):
    job = services.create_video("A lighthouse at dusk", size="1280x720", seconds=4)
    [job] = settle([job])
    job.assets.all().delete()
    job.transition(JobStatus.NEEDS_ATTENTION, error_code="download_failed", error_message="8 attempts failed")
    healthy = completed(remote_id="video_other")
    response = act(op, "retry_download_jobs", job, healthy)
    msgs = texts(response)
    assert "download queued again" in msgs and "Only a job whose download failed" in msgs
    [job] = settle([job])
    assert job.status == JobStatus.COMPLETED and job.assets.count() == 3


# --- delete -----------------------------------------------------------------------------------------------
def test_delete_confirms_then_deletes_remote_and_local(sora, op):
    job = services.create_video("A lighthouse at dusk", size="1280x720", seconds=4)
    [job] = settle([job])
    files = [asset.file.name for asset in job.assets.all()]
    storage = get_storage()
    assert all(storage.exists(name) for name in files)
    page = act(op, "delete_jobs", job)
    assert "Yes, delete" in page.content.decode() and "3 stored files" in page.content.decode()
    assert sora.stats()["requests"]["delete"] == 0
    response = confirm(op, "delete_jobs", job)
    job.refresh_from_db()
    assert job.status == JobStatus.DELETED and not job.assets.exists()
    assert sora.stats()["requests"]["delete"] == 1
    assert not any(storage.exists(name) for name in files)
    assert "deleted at the provider and here" in texts(response)
    again = confirm(op, "delete_jobs", job)
    assert "already deleted" in texts(again)


def test_delete_from_the_job_page(sora, op):
    job = make_job(status=JobStatus.FAILED)  # never reached the provider
    url = reverse("admin:sora_videos_videojob_delete", args=[job.pk])
    page = op.get(url)
    assert page.status_code == 200 and "Yes, delete" in page.content.decode()
    response = op.post(url, {"apply": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse(CHANGELIST)
    assert "it never reached the provider" in texts(response)
    job.refresh_from_db()
    assert job.status == JobStatus.DELETED and no_calls(sora)


def test_delete_while_submitting_is_refused(sora, op):
    job = make_job(status=JobStatus.SUBMITTING)
    response = confirm(op, "delete_jobs", job)
    assert "being submitted right now" in texts(response)
    job.refresh_from_db()
    assert job.status == JobStatus.SUBMITTING


def test_delete_needs_the_delete_permission(sora, db):
    from django.test import Client

    from .conftest import staff

    viewer = Client()
    viewer.force_login(staff("viewer", "view_videojob"))
    job = make_job(status=JobStatus.FAILED)
    assert viewer.get(reverse("admin:sora_videos_videojob_delete", args=[job.pk])).status_code == 403
    response = confirm(viewer, "delete_jobs", job)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert response.status_code == 200


# --- prompts ----------------------------------------------------------------------------------------------
PROMPTS = "admin:sora_videos_prompt_changelist"


def test_generate_from_several_prompts(sora, op, operator):
    a = Prompt.objects.create(title="Kite", text="A kite over a park")
    b = Prompt.objects.create(title="Boat", subject="A paper boat", action="drifts", style="macro")
    empty = Prompt.objects.create(title="Empty")
    page = act(op, "generate_from_prompts", a, b, empty, url=PROMPTS)
    html = page.content.decode()
    assert 'id="sora-models"' in html and 'data-sora-count="2"' in html
    assert "Will be skipped: empty prompt" in html
    response = confirm(op, "generate_from_prompts", a, b, empty, url=PROMPTS,
                       provider="emu", model="sora-2-pro", size="1792x1024", seconds="8")
    jobs = VideoJob.objects.order_by("pk")
    assert {j.prompt for j in jobs} == {a, b}
    assert all(j.model == "sora-2-pro" and j.size == "1792x1024" and j.estimated_cost == Decimal("4.00")
               for j in jobs)
    msgs = texts(response)
    assert msgs.count("queued as job") == 2 and "The prompt is empty" in msgs


def test_generate_from_prompts_with_invalid_settings(sora, op):
    a = Prompt.objects.create(title="Kite", text="A kite over a park")
    response = confirm(op, "generate_from_prompts", a, url=PROMPTS,
                       provider="emu", model="sora-2", size="1792x1024", seconds="4")
    assert response.status_code == 200
    assert "does not offer size 1792x1024" in response.content.decode()
    assert not VideoJob.objects.exists() and no_calls(sora)


def test_generate_from_prompts_over_budget(sora, op, settings):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "USER_MONTHLY_BUDGET": "0.50"}
    a = Prompt.objects.create(title="Kite", text="A kite over a park")
    b = Prompt.objects.create(title="Boat", text="A boat")
    response = confirm(op, "generate_from_prompts", a, b, url=PROMPTS,
                       provider="emu", model="sora-2", size="1280x720", seconds="4")
    assert VideoJob.objects.count() == 1
    msgs = texts(response)
    assert "queued as job" in msgs and "Over budget" in msgs


def test_generate_from_prompts_needs_the_permission(sora, wc):
    a = Prompt.objects.create(title="Kite", text="A kite over a park")
    response = confirm(wc, "generate_from_prompts", a, url=PROMPTS,
                       provider="emu", model="sora-2", size="1280x720", seconds="4")
    assert "No action selected" in texts(response)
    assert not VideoJob.objects.exists()


# --- webhooks ------------------------------------------------------------------------------------------------
def test_process_failed_webhook_events_again(sora, op):
    failed = WebhookEvent.objects.create(provider="emu", event_id="evt_1", type="video.completed",
                                         video_id="video_zzz", payload={}, outcome=WebhookEvent.Outcome.FAILED)
    done = WebhookEvent.objects.create(provider="emu", event_id="evt_2", type="video.completed",
                                       video_id="video_zzz", payload={}, outcome=WebhookEvent.Outcome.PROCESSED)
    response = act(op, "process_again", failed, done, url="admin:sora_videos_webhookevent_changelist")
    msgs = texts(response)
    assert "queued for processing" in msgs and "Only a failed event is processed again" in msgs
    assert queued_funcs() == ["videos.tasks.process_webhook"]
    drain()
    failed.refresh_from_db()
    assert failed.outcome == WebhookEvent.Outcome.IGNORED  # no job has that video id


# --- the provider answers with an error: a message, never a 500 -----------------------------------
def test_provider_errors_become_messages(sora, op):
    job = services.create_video("A lighthouse at dusk", size="1280x720", seconds=4)
    [job] = settle([job])
    sora.set_faults([{"endpoint": "delete", "fault": "http_500", "times": 1}])
    response = confirm(op, "delete_jobs", job)
    assert response.status_code == 200
    assert "skipped" in texts(response) and "500" in texts(response)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.assets.count() == 3


def test_deleting_a_video_while_it_generates(sora, op):
    job = services.create_video("A lighthouse at dusk", size="1280x720", seconds=4)
    drain()  # submitted; no sweep runs, so the row stays in flight
    job.refresh_from_db()
    assert job.status in JobStatus.in_flight()
    response = confirm(op, "delete_jobs", job)
    assert "deleted at the provider and here" in texts(response)
    assert sora.stats()["requests"]["delete"] == 1
    settle()
    job.refresh_from_db()
    assert job.status == JobStatus.DELETED
