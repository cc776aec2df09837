"""Submissions enter the queue at the provider's pace: one submitter task per provider, not one per job."""
from __future__ import annotations

import datetime as dt

import pytest
from django_q.brokers import get_broker

from videos import services, submitter
from videos.models import JobStatus, Lease, VideoJob

from ..support import queued_funcs, settle, sora_settings

pytestmark = pytest.mark.django_db(transaction=True)


def forget_queued_tasks() -> None:
    """As a broker outage would: the tasks are gone, the marks that say one is queued stay."""
    get_broker().purge_queue()


def test_a_burst_of_creates_queues_one_submitter_and_creates_each_job_once(sora):
    jobs = [services.create_video(f"Burst shot {i}: gulls over a pier", seconds=4) for i in range(25)]

    assert queued_funcs() == ["videos.tasks.submit_due"]  # not 25 tasks in front of every webhook
    settle(jobs)

    assert sora.stats()["jobs_created"] == 25
    assert set(VideoJob.objects.values_list("status", flat=True)) == {JobStatus.COMPLETED}
    assert VideoJob.objects.exclude(submit_attempts=1).count() == 0


def test_a_submitter_works_one_slice_then_goes_to_the_back_of_the_queue(settings, sora):
    settings.SORA_VIDEOS = sora_settings(sora, SUBMIT_CONCURRENCY=1)  # one create per round
    for i in range(3):
        services.create_video(f"Slice shot {i}: rain on a window", seconds=4)
    forget_queued_tasks()

    assert submitter.submit_due("emu", slice_seconds=0) == 1  # at least one round per slice
    assert queued_funcs() == ["videos.tasks.submit_due"]  # its successor, behind whatever came meanwhile
    assert sora.stats()["jobs_created"] == 1
    assert VideoJob.objects.filter(status=JobStatus.PENDING).count() == 2

    assert submitter.submit_due("emu", slice_seconds=60) == 2
    assert sora.stats()["jobs_created"] == 3


def test_one_submitter_works_at_a_time_and_the_one_at_work_leaves_no_job_behind(sora):
    services.create_video("Busy shot: a ferry leaving", seconds=4)
    forget_queued_tasks()
    assert Lease.acquire("submitter:emu", "another worker", 60)

    assert submitter.submit_due("emu") == 0  # the other workers stay free for webhooks and downloads
    assert sora.stats()["jobs_created"] == 0

    Lease.release("submitter:emu", "another worker")
    assert submitter.submit_due("emu") == 1 and sora.stats()["jobs_created"] == 1


@pytest.mark.parametrize("limit, reason", [
    ({"MAX_IN_FLIGHT": 3}, "waiting: 3 jobs in flight at emu (limit 3)"),
    ({"CREATES_PER_MINUTE": 3}, "waiting: 3 creates per minute reached at emu"),
])
def test_when_the_provider_limits_say_wait_the_rest_wait_with_one_reason(settings, sora, limit, reason):
    settings.SORA_VIDEOS = sora_settings(sora, provider=limit)
    jobs = [services.create_video(f"Limited shot {i}: a tram at dusk", seconds=4) for i in range(8)]
    forget_queued_tasks()

    assert submitter.submit_due("emu", slice_seconds=60) == 3

    assert sora.stats()["jobs_created"] == 3
    waiting = VideoJob.objects.filter(pk__in=[j.pk for j in jobs], status=JobStatus.PENDING)
    assert waiting.count() == 5
    assert {(j.not_before, j.error_message) for j in waiting} == {(waiting[0].not_before, reason)}
    assert queued_funcs() == []  # the sweep submits them when they are due, not a spinning submitter
    if "CREATES_PER_MINUTE" in limit:  # due when the first of the three leaves the minute
        first = min(VideoJob.objects.exclude(submit_started_at=None).values_list("submit_started_at", flat=True))
        assert abs((waiting[0].not_before - first - dt.timedelta(minutes=1)).total_seconds()) < 1


def test_a_lost_submitter_is_replaced_by_the_sweep(sora):
    """A create whose submitter task vanished (a broker flushed, a worker killed) is still sent, once."""
    job = services.create_video("Lost task shot: fog over a harbour", seconds=4)
    forget_queued_tasks()
    VideoJob.objects.filter(pk=job.pk).update(created_at=job.created_at.replace(year=job.created_at.year - 1))

    [job] = settle([job])

    assert job.status == JobStatus.COMPLETED and sora.stats()["jobs_created"] == 1

