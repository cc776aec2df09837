"""Re-submit from the gallery: offered on a failed or forgotten video to its maker (or a manager)."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from videos.models import JobError, JobStatus, VideoJob, forgotten_message

from ..factories import VideoJobFactory
from .conftest import make_user

pytestmark = pytest.mark.django_db


def _forgotten(owner=None) -> VideoJob:
    return VideoJobFactory(prompt_text="A kite", status=JobStatus.FAILED, remote_id="video_gone", owner=owner,
                           error_code=JobError.FORGOTTEN, error_message=forgotten_message("404: Video not found"))


def test_a_forgotten_video_offers_resubmit_to_who_may_spend(sora, django_user_model):
    maker = make_user(django_user_model, "maker", "sora_videos.view_videojob", "sora_videos.submit_videojob")
    job = _forgotten(maker)
    client = Client()
    client.force_login(maker)
    page = client.get(reverse("videos:detail", args=[job.uuid])).content.decode()
    assert "no longer knows this video: it restarted or cleaned up" in page and "Re-submit as a new video" in page
    assert page.count("forgotten") == 0  # the code is not repeated at the member
    confirm = client.get(reverse("videos:resubmit", args=[job.uuid])).content.decode()
    assert "Estimated cost: <strong><span>0.40</span> USD" in confirm
    response = client.post(reverse("videos:resubmit", args=[job.uuid]), follow=True)
    again = VideoJob.objects.exclude(pk=job.pk).get()
    assert response.redirect_chain[-1][0] == reverse("videos:detail", args=[again.uuid])
    assert again.status == JobStatus.PENDING and again.prompt_text == job.prompt_text
    assert f"Re-submitted job {job.pk} as this new job" in response.content.decode()


def test_without_the_submit_permission_there_is_no_button_and_no_new_job(sora, viewer):
    job = _forgotten()
    client = Client()
    client.force_login(viewer)
    assert "Re-submit" not in client.get(reverse("videos:detail", args=[job.uuid])).content.decode()
    assert client.post(reverse("videos:resubmit", args=[job.uuid])).status_code == 403
    assert VideoJob.objects.count() == 1
    assert Permission.objects.filter(codename="submit_videojob").exists()


@pytest.mark.django_db(transaction=True)
def test_resubmit_while_the_broker_is_down_says_the_job_waits_for_the_workers(sora, django_user_model, broker_down):
    maker = make_user(django_user_model, "maker", "sora_videos.view_videojob", "sora_videos.submit_videojob")
    job = _forgotten(maker)
    client = Client()
    client.force_login(maker)
    response = client.post(reverse("videos:resubmit", args=[job.uuid]), follow=True)
    page = response.content.decode()
    assert f"Re-submitted job {job.pk} as this new job" in page
    assert "The workers cannot be reached right now" in page and "need not queue it again" in page
    assert VideoJob.objects.exclude(pk=job.pk).get().status == JobStatus.PENDING
