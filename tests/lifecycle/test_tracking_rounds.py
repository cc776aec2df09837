"""What keeping many jobs current costs, counted (never timed): list calls per full round
proportional to the pages, one bulk write for the jobs whose state did not change, and a
bounded number of queries per pass whatever the number of jobs."""
from __future__ import annotations

import datetime as dt
import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from videos import pipeline
from videos.models import JobStatus, VideoJob
from videos.providers import get_provider

from ..factories import VideoJobFactory
from ..support import sora_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def slow_emu(emulators, settings, tmp_path):
    """Jobs that stay in progress for the whole test, never rendered (`--no-render`)."""
    emu = emulators.get(generation_time=86_400, extra_args=("--no-render",))
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu, POLL_INTERVAL=5.0)
    yield emu
    emu.reset()  # the next test's list pages hold only its own jobs


def _in_flight(emu, count: int, *, due: int) -> list[VideoJob]:
    """``count`` jobs rendering at the emulator; the oldest ``due`` are due for a check, the rest later."""
    client = emu.client()
    now = timezone.now()
    jobs = []
    for n in range(count):
        video = client.videos.create(prompt=f"Fireflies over a pond #{n}", size="1280x720", seconds="4")
        later = None if n < due else now + dt.timedelta(seconds=60)
        jobs.append(VideoJobFactory(status=JobStatus.QUEUED, remote_id=video.id, remote_status="queued",
                                    submitted_at=now, next_check_at=later))
    return jobs


def _job_writes(ctx: CaptureQueriesContext) -> int:
    return sum(1 for q in ctx.captured_queries if q["sql"].startswith('UPDATE "sora_videos_videojob"'))


def test_one_pass_checks_every_job_on_the_pages_it_reads(slow_emu):
    jobs = _in_flight(slow_emu, 150, due=40)
    before = slow_emu.stats()["requests"].get("list", 0)
    pipeline.sweep_once(get_provider("emu"))
    pages = slow_emu.stats()["requests"]["list"] - before
    assert pages == math.ceil(150 / 100)  # the due 40 are the oldest: the pass reads to the end
    checked = VideoJob.objects.filter(pk__in=[j.pk for j in jobs], last_checked_at__isnull=False).count()
    assert checked == 150  # every job on those pages, not just the 40 that were due
    assert slow_emu.job(jobs[0].remote_id)["emulator"]["render"]["state"] == "skipped"  # --no-render: no CPU spent
    # nothing is due any more: the next pass asks the provider nothing
    pipeline.sweep_once(get_provider("emu"))
    assert slow_emu.stats()["requests"]["list"] - before == pages


@pytest.mark.parametrize("count", [30, 150])
def test_unchanged_jobs_cost_one_write_and_a_bounded_number_of_queries(slow_emu, count):
    jobs = _in_flight(slow_emu, count, due=count)
    pipeline.sweep_once(get_provider("emu"))  # first sight: whatever the emulator says lands
    VideoJob.objects.filter(pk__in=[j.pk for j in jobs]).update(next_check_at=None)
    with CaptureQueriesContext(connection) as ctx:
        pipeline.sweep_once(get_provider("emu"))
    assert _job_writes(ctx) == 1  # one bulk update of the check times, not one per job
    assert len(ctx.captured_queries) <= 20 + math.ceil(count / 100)  # a few per pass, one per page
    assert VideoJob.objects.filter(pk__in=[j.pk for j in jobs], status__in=JobStatus.in_flight(),
                                   last_checked_at__isnull=False, next_check_at__isnull=False).count() == count


@pytest.mark.parametrize("others_due_in, pages", [(2, 3), (60, 1)])
def test_one_walk_takes_the_jobs_due_within_half_an_interval(slow_emu, others_due_in, pages):
    """The newest 100 are due (the first page); the older 150 fall due ``others_due_in`` s later.
    Within half the 5 s interval they are checked on the same walk (no second walk from page one
    a moment later); a minute away, the walk stops after the page that held the due jobs."""
    jobs = _in_flight(slow_emu, 250, due=0)
    soon = timezone.now() + dt.timedelta(seconds=others_due_in)
    VideoJob.objects.filter(pk__in=[j.pk for j in jobs[:150]]).update(next_check_at=soon)
    VideoJob.objects.filter(pk__in=[j.pk for j in jobs[150:]]).update(next_check_at=None)
    before = slow_emu.stats()["requests"].get("list", 0)
    pipeline.sweep_once(get_provider("emu"))
    assert slow_emu.stats()["requests"]["list"] - before == pages
    checked = VideoJob.objects.filter(pk__in=[j.pk for j in jobs], last_checked_at__isnull=False).count()
    assert checked == (250 if pages == 3 else 100)


@pytest.mark.parametrize("count", [30, 150])
def test_jobs_that_only_moved_along_cost_one_write_per_round(slow_emu, count):
    """Progress in the same state (the common news while a video renders) lands on every job
    in one UPDATE per 500 jobs, not one per job."""
    jobs = _in_flight(slow_emu, count, due=count)
    provider = get_provider("emu")
    pipeline.sweep_once(provider)
    seen = dict(VideoJob.objects.filter(pk__in=[j.pk for j in jobs]).values_list("pk", "progress"))
    long_ago = timezone.now() - dt.timedelta(hours=1)
    VideoJob.objects.filter(pk__in=[j.pk for j in jobs]).update(progress=99, next_check_at=None,
                                                                last_news_at=long_ago)
    with CaptureQueriesContext(connection) as ctx:
        pipeline.sweep_once(provider)
    assert _job_writes(ctx) == 1
    assert len(ctx.captured_queries) <= 20 + 2 * math.ceil(count / 100)
    after = VideoJob.objects.filter(pk__in=[j.pk for j in jobs])
    assert dict(after.values_list("pk", "progress")) == seen  # what the provider says, on every job
    assert after.filter(last_news_at__gt=long_ago, next_check_at__isnull=False).count() == count


def test_the_look_for_lost_work_runs_every_few_seconds_not_every_pass(slow_emu):
    """Lost tasks and dead workers are found by definition tens of seconds late: a sweep's
    passes look for them every ``RECOVER_EVERY`` seconds (the first pass in a worker always)."""
    _in_flight(slow_emu, 5, due=5)
    provider = get_provider("emu")
    pipeline._recovered_at.clear()
    pipeline._orphans_due.clear()
    looked = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as ctx:
            pipeline.sweep_once(provider, recover=pipeline._recovery_due("emu"))
        looked.append(any('"sora_videos_webhookevent"' in q["sql"] for q in ctx.captured_queries))
    assert looked == [True, False, False]
    pipeline._recovered_at["emu"] -= pipeline.RECOVER_EVERY  # the interval has passed
    assert pipeline._recovery_due("emu")
    assert not pipeline._recovery_due("emu")
    # webhook events the last look left for later (more than one look's worth) are due now: look again now
    pipeline._orphans_due["emu"] = timezone.now()
    assert pipeline._recovery_due("emu")
    pipeline._orphans_due.clear()
