"""The job page, its live progress endpoint, and the other change pages."""
from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from videos import sequences, services
from videos.models import AssetVariant, JobStatus, Prompt, Sequence, SequenceShot, VideoAsset, WebhookEvent

from ..profile_checks import queued_funcs
from ..support import drain, settle, sora_settings
from .conftest import make_job, png

pytestmark = pytest.mark.django_db(transaction=True)


def change_url(job):
    return reverse("admin:sora_videos_videojob_change", args=[job.pk])


def progress(client, job, version=""):
    response = client.get(reverse("admin:sora_videos_videojob_progress", args=[job.pk]), {"v": version})
    assert response.status_code == 200
    return response.json()


def test_job_page_of_a_completed_video(sora, op, operator, monkeypatch):
    ref = services.save_reference_image(png(640, 480), user=operator)
    job = services.create_video("A lighthouse at dusk, waves", size="1280x720", seconds=4, reference_image=ref,
                                fit="letterbox", user=operator)
    [job] = settle([job])
    assert job.status == JobStatus.COMPLETED, job.error_message
    child = make_job(kind="remix", parent=job, prompt_text="The same at night")
    monkeypatch.setenv("SORA_TEST_API_KEY", "sk-this-must-never-be-shown")  # a real key is in the environment
    html = op.get(change_url(job)).content.decode()
    assets = {a.variant: a for a in job.assets.all()}
    video = reverse("videos:asset", args=[assets[AssetVariant.VIDEO].pk])
    assert '<video id="sora-player"' in html and f'src="{video}"' in html
    assert f'poster="{reverse("videos:asset", args=[assets[AssetVariant.THUMBNAIL].pk])}"' in html
    assert reverse("videos:asset", args=[assets[AssetVariant.SPRITESHEET].pk]) in html
    assert f'href="{video}?download=1"' in html
    assert "Status history (6)" in html and "created by operator" in html
    assert '<details class="sora-payload">' in html and job.remote_id in html
    assert f"#{child.pk} Remix: The same at night" in html  # lineage
    assert "0.40" in html and "Local emulator." in html
    assert reverse("admin:sora_videos_referenceimage_fit", args=[ref.pk, "1280x720", "letterbox"]) in html
    assert 'data-active="false"' in html
    assert "sk-this-must-never-be-shown" not in html and "sk-emulator" not in html
    child_html = op.get(change_url(child)).content.decode()
    assert f"Made from <a href=\"{change_url(job)}\">#{job.pk}" in child_html


def test_the_job_form_is_read_only(sora, op):
    job = make_job()
    response = op.post(change_url(job), {"prompt_text": "changed", "status": "completed"})
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.prompt_text != "changed" and job.status == JobStatus.PENDING
    html = op.get(change_url(job)).content.decode()
    assert 'name="_save"' not in html and 'name="prompt_text"' not in html


def test_progress_endpoint_follows_the_job(sora, op, emulators, settings):
    # a job that stays in flight until the test says so, whatever the machine's load
    slow = emulators.get(generation_time=120)
    settings.SORA_VIDEOS = sora_settings(slow)
    job = services.create_video("A lighthouse at dusk", size="1280x720", seconds=4)
    page = op.get(change_url(job)).content.decode()
    assert 'data-active="true"' in page
    version = page.split('data-version="')[1].split('"')[0]
    first = progress(op, job, version)
    assert first["status"] == "pending" and first["active"] and "html" not in first
    drain()  # submitted
    second = progress(op, job, version)
    assert second["status"] in ("queued", "in_progress") and "html" in second  # new state: redraw
    assert 'id="sora-live"' in second["html"] and "sora-player" not in second["html"]
    assert "html" not in progress(op, job, second["version"])
    job.refresh_from_db()
    slow.complete(job.remote_id)
    settle([job])
    done = progress(op, job, second["version"])
    assert done["status"] == "completed" and done["progress"] == 100 and not done["active"]
    assert '<video id="sora-player"' in done["html"] and 'value="remix_jobs"' in done["html"]


def test_progress_nudges_the_sweep_for_a_stale_job_without_waiting_on_the_provider(emulators, op, settings, tmp_path):
    slow = emulators.get(generation_time=120)  # still in flight when the page asks (not finished by a sweep)
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(slow, LIVE_REFRESH_AFTER=0)
    job = services.create_video("A lighthouse at dusk", size="1280x720", seconds=4)
    drain()
    job.refresh_from_db()
    assert job.status in JobStatus.in_flight()
    before = slow.stats()["requests"]["retrieve"]
    progress(op, job)
    assert slow.stats()["requests"]["retrieve"] == before  # the page did not call the provider ...
    job.refresh_from_db()
    assert job.next_check_at <= timezone.now() and "videos.tasks.sweep" in queued_funcs()  # ... the sweep will
    drain()
    assert slow.stats()["requests"]["retrieve"] == before + 1


def test_progress_needs_view_permission(sora, db, op):
    from django.test import Client

    job = make_job()
    anonymous = Client().get(reverse("admin:sora_videos_videojob_progress", args=[job.pk]))
    assert anonymous.status_code == 302  # to the admin login
    assert op.get(reverse("admin:sora_videos_videojob_progress", args=[987654])).status_code == 404


def test_failed_job_page_shows_the_error_and_offers_resubmit(sora, op):
    job = make_job(status=JobStatus.FAILED, error_code="moderation_blocked",
                   error_message="The provider failed this video (moderation_blocked): change the prompt.")
    html = op.get(change_url(job)).content.decode()
    assert "moderation_blocked" in html and 'role="alert"' in html
    assert "and generate it again: re-submitting it as it is would be refused again." in html
    assert 'value="resubmit_jobs"' in html and 'value="remix_jobs"' not in html


def test_reference_image_page_shows_fitted_previews(sora, op):
    upload = SimpleUploadedFile("shot.png", png(640, 480), content_type="image/png")
    response = op.post(reverse("admin:sora_videos_referenceimage_add"), {"image": upload}, follow=True)
    assert "Image checked and stored" in " ".join(str(m) for m in response.context["messages"])
    ref = response.context["ref"]
    html = response.content.decode()
    for size in ("720x1280", "1280x720", "1024x1792", "1792x1024"):
        for mode in ("crop", "letterbox"):
            assert reverse("admin:sora_videos_referenceimage_fit", args=[ref.pk, size, mode]) in html
    assert reverse("videos:reference_image", args=[ref.pk]) in html
    assert f"?reference_image={ref.pk}" in html  # generate from this image
    again = op.post(reverse("admin:sora_videos_referenceimage_add"),
                    {"image": SimpleUploadedFile("copy.png", png(640, 480), content_type="image/png")}, follow=True)
    assert "already stored" in " ".join(str(m) for m in again.context["messages"])
    bad = op.post(reverse("admin:sora_videos_referenceimage_add"),
                  {"image": SimpleUploadedFile("x.gif", b"GIF89a junk", content_type="image/gif")})
    assert bad.status_code == 200 and "not an image we can read" in bad.content.decode()


def test_generate_page_starts_from_a_prompt_or_an_image(sora, op, operator):
    prompt = Prompt.objects.create(title="Kite", text="A kite", owner=operator)
    ref = services.save_reference_image(png(640, 480), user=operator)
    html = op.get(reverse("admin:sora_videos_videojob_add") + f"?prompt={prompt.pk}&reference_image={ref.pk}"
                  ).content.decode()
    assert f'<option value="{prompt.pk}" selected>Kite</option>' in html
    assert f'data-ref-id="{ref.pk}"' in html
    page = op.get(reverse("admin:sora_videos_prompt_change", args=[prompt.pk])).content.decode()
    assert f"?prompt={prompt.pk}" in page and "Prompt as sent" in page


def test_prompt_add_sets_the_owner(sora, op, operator):
    response = op.post(reverse("admin:sora_videos_prompt_add"), {"title": "Burger", "subject": "A burger",
                                                            "style": "90s documentary"}, follow=True)
    assert response.status_code == 200
    prompt = Prompt.objects.get()
    assert prompt.owner == operator and prompt.compose() == "90s documentary. A burger."


def test_asset_and_webhook_pages(sora, op):
    job = services.create_video("A lighthouse at dusk", size="1280x720", seconds=4)
    [job] = settle([job])
    video = job.assets.get(variant=AssetVariant.VIDEO)
    html = op.get(reverse("admin:sora_videos_videoasset_change", args=[video.pk])).content.decode()
    assert "<video" in html and reverse("videos:asset", args=[video.pk]) + "?download=1" in html
    assert op.get(reverse("admin:sora_videos_videoasset_changelist") + "?variant__exact=video").status_code == 200
    assert op.get(reverse("admin:sora_videos_videoasset_add")).status_code == 403
    event = WebhookEvent.objects.create(provider="emu", event_id="evt_1", type="video.completed",
                                        video_id=job.remote_id, payload={"data": {"id": job.remote_id}})
    html = op.get(reverse("admin:sora_videos_webhookevent_change", args=[event.pk])).content.decode()
    assert change_url(job) in html and "&quot;id&quot;: &quot;" + job.remote_id in html
    assert VideoAsset.objects.count() == 3


@pytest.mark.parametrize("status, raw, shown", [
    (JobStatus.PENDING, 0, 0),
    (JobStatus.IN_PROGRESS, 40, 40),
    (JobStatus.IN_PROGRESS, 100, 98),  # the provider is done; nothing is stored yet
    (JobStatus.DOWNLOADING, 100, 99),
    (JobStatus.COMPLETED, 100, 100),
    (JobStatus.FAILED, 60, 0),
    (JobStatus.NEEDS_ATTENTION, 100, 0),
])
def test_every_surface_shows_the_same_progress(op, status, raw, shown):
    """One progress function (VideoJob.percent) behind the admin, the gallery, the CLI and sequences."""
    job = make_job(status=status, progress=raw, remote_id=f"video_{status}_{raw}")
    assert job.percent == shown
    assert progress(op, job)["progress"] == shown
    assert op.get(reverse("videos:job_status", args=[job.uuid])).json()["progress"] == shown
    out = io.StringIO()
    call_command("sora", "status", str(job.pk), "--json", stdout=out)
    assert json.loads(out.getvalue())[0]["progress"] == shown
    sequence = Sequence.objects.create(title="One shot", provider="emu", model="sora-2", size="1280x720")
    SequenceShot.objects.create(sequence=sequence, position=1, prompt_text="A shot", seconds=4, job=job)
    assert sequences.progress(sequence).shots[0].progress == shown
