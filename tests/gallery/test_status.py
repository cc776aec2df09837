"""The JSON status endpoints behind the live progress bars."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from videos import services
from videos.models import JobStatus, VideoJob
from videos.views.status import MAX_IDS

from ..profile_checks import queued_funcs
from ..support import settle

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in(client, viewer):
    client.force_login(viewer)
    return client


def test_one_job(signed_in, real_job):
    data = signed_in.get(reverse("videos:job_status", args=[real_job.uuid])).json()
    assert data["id"] == str(real_job.uuid)
    assert data["status"] == "completed" and data["done"] and not data["active"]
    assert data["progress"] == 100
    assert data["url"] == reverse("videos:detail", args=[real_job.uuid])
    assert "remote_payload" not in data
    missing = signed_in.get(reverse("videos:job_status", args=[uuid.uuid4()]))
    assert missing.status_code == 404 and "No such video" in missing.json()["error"]


def test_batch_is_one_query_for_many_jobs(signed_in, real_job, clone_jobs):
    jobs = clone_jobs(real_job, 60, status=JobStatus.IN_PROGRESS, progress=lambda i: i,
                      last_checked_at=timezone.now())
    url = reverse("videos:jobs_status")

    def count(ids):
        with CaptureQueriesContext(connection) as ctx:
            response = signed_in.get(url + "?ids=" + ",".join(str(j.uuid) for j in ids))
        assert response.status_code == 200
        return len([q for q in ctx.captured_queries if "sora_videos_videojob" in q["sql"]]), response.json()

    few_queries, _ = count(jobs[:2])
    many_queries, data = count(jobs)
    assert few_queries == many_queries == 1
    assert len(data["jobs"]) == 60
    assert data["jobs"][str(jobs[7].uuid)]["progress"] == 7
    assert data["jobs"][str(jobs[7].uuid)]["status_label"] == "In progress"


def test_batch_gives_the_card_of_a_finished_job(signed_in, real_job):
    url = reverse("videos:jobs_status") + f"?ids={real_job.uuid}&cards=1"
    item = signed_in.get(url).json()["jobs"][str(real_job.uuid)]
    assert item["done"]
    assert item["html"].lstrip().startswith(f'<article class="card card--completed" data-job="{real_job.uuid}"')
    assert reverse("videos:asset", args=[real_job.assets.get(variant="thumbnail").pk]) in item["html"]


def test_batch_rejects_bad_input_clearly(signed_in):
    url = reverse("videos:jobs_status")
    assert "Pass the job ids" in signed_in.get(url).json()["error"]
    bad = signed_in.get(url + "?ids=not-a-uuid")
    assert bad.status_code == 400 and "'not-a-uuid' is not a job id." == bad.json()["error"]
    many = ",".join(str(uuid.uuid4()) for _ in range(MAX_IDS + 1))
    too_many = signed_in.get(url + "?ids=" + many)
    assert too_many.status_code == 400 and f"At most {MAX_IDS} ids" in too_many.json()["error"]
    unknown = uuid.uuid4()
    assert signed_in.get(url + f"?ids={unknown}").json()["missing"] == [str(unknown)]


def test_stale_in_flight_job_is_left_to_the_sweep(signed_in, sora, viewer, settings):
    """A stale job is brought forward and the sweep kicked; the request never calls the provider."""
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "LIVE_REFRESH_AFTER": 1}
    job = services.create_video("A slow sunrise over a misty valley", size="1280x720", seconds=4, user=viewer)
    from ..support import drain

    drain()  # submitted: queued or in progress at the emulator
    job.refresh_from_db()
    assert job.status in JobStatus.in_flight()
    later = timezone.now() + dt.timedelta(hours=1)
    VideoJob.objects.filter(pk=job.pk).update(last_checked_at=timezone.now() - dt.timedelta(minutes=5),
                                               next_check_at=later)
    from django.core.cache import cache

    cache.clear()
    before = sora.stats()["requests"]
    for _ in range(3):
        data = signed_in.get(reverse("videos:jobs_status") + f"?ids={job.uuid}").json()
        assert data["jobs"][str(job.uuid)]["active"]
    assert sora.stats()["requests"] == before  # no provider call from the request
    job.refresh_from_db()
    assert job.next_check_at <= timezone.now()  # due now for the sweep
    assert queued_funcs().count("videos.tasks.sweep") == 1  # kicked once, not per request
    [job] = settle([job])
    assert job.status == JobStatus.COMPLETED
