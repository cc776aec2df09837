"""Every emulator fault: jobs end well or clearly, one create per job, nothing half-written."""
from __future__ import annotations

import pytest

from videos import policy, services
from videos.exceptions import ProviderError
from videos.models import JobStatus
from videos.policy import Action

from ..support import settle, sora_settings
from .helpers import assert_assets_match_emulator, assert_no_partial_files

pytestmark = pytest.mark.django_db(transaction=True)


def make(n: int = 1, prompt: str = "A tram crossing a bridge at night") -> list:
    return [services.create_video(f"{prompt} #{i}", size="1280x720", seconds=4) for i in range(n)]


def assert_completed_once(jobs, emu) -> None:
    for job in jobs:
        assert job.status == JobStatus.COMPLETED, (job.status, job.error_message)
        assert_assets_match_emulator(job, emu)
    assert emu.stats()["jobs_created"] == len(jobs)
    assert len({job.remote_id for job in jobs}) == len(jobs)
    assert_no_partial_files()


@pytest.mark.parametrize("fault", ["http_429", "http_500", "http_502", "http_503"])
def test_create_refused_then_retried(sora, fault):
    sora.set_faults([{"endpoint": "create", "fault": fault, "times": 2, "retry_after": 0.2}])
    jobs = settle(make(2))
    assert_completed_once(jobs, sora)
    assert sora.stats()["requests"]["create"] == 4  # two refused, two accepted


def test_retry_after_is_honoured(sora):
    from ..support import drain

    sora.set_faults([{"endpoint": "create", "fault": "http_429", "times": 1, "retry_after": 3}])
    [job] = make(1)
    drain()
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and job.error_code
    assert 2.5 < (job.not_before - job.updated_at).total_seconds() <= 3.5
    assert "retrying in 3 s" in job.error_message


def test_dropped_create_response_is_adopted_not_resent(sora):
    sora.set_faults([{"endpoint": "create", "fault": "drop_response", "times": 1}])
    jobs = settle(make(1))
    assert_completed_once(jobs, sora)
    assert sora.stats()["requests"]["create"] == 1


def test_dropped_responses_with_identical_prompts_each_adopt_their_own(sora):
    sora.set_faults([{"endpoint": "create", "fault": "drop_response", "times": 3}])
    jobs = [services.create_video("Same prompt for all", size="1280x720") for _ in range(3)]
    jobs = settle(jobs)
    assert_completed_once(jobs, sora)


def test_slow_create_past_the_timeout_is_adopted_later(emu, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu, SUBMIT_TIMEOUT=0.5, SUBMIT_GRACE=3.0)
    emu.set_faults([{"endpoint": "create", "fault": "slow", "delay": 1.5, "times": 1}])
    jobs = settle(make(1), timeout=30)
    assert_completed_once(jobs, emu)
    assert emu.stats()["requests"]["create"] == 1


def test_create_that_never_arrived_needs_attention(sora):
    """A worker died mid-submit and the provider has nothing: a person decides, nothing is re-sent."""
    from django.utils import timezone

    [job] = make(1)
    # the claim happened, then the worker was killed before its request went out
    assert job.transition(JobStatus.SUBMITTING, expect=(JobStatus.PENDING,), submit_started_at=timezone.now())
    [job] = settle([job], timeout=30)
    assert job.status == JobStatus.NEEDS_ATTENTION
    assert job.error_code == "create_unconfirmed" and "Re-submit" in job.error_message
    assert sora.stats()["jobs_created"] == 0 and sora.stats()["requests"]["create"] == 0


@pytest.mark.parametrize("fault", ["http_500", "http_503", "http_429", "drop_response", "slow"])
def test_status_checks_survive_faults(sora, fault):
    sora.set_faults([
        {"endpoint": "retrieve", "fault": fault, "times": 3, "retry_after": 0.1, "delay": 0.2},
        {"endpoint": "list", "fault": fault, "times": 3, "retry_after": 0.1, "delay": 0.2},
    ])
    jobs = settle(make(3))
    assert_completed_once(jobs, sora)


@pytest.mark.parametrize("fault", ["truncate", "http_500", "http_502", "drop_response", "slow"])
def test_broken_downloads_are_retried_and_never_visible(sora, fault):
    sora.set_faults([{"endpoint": "content", "fault": fault, "times": 2, "delay": 0.2, "retry_after": 0.1}])
    jobs = settle(make(1), timeout=60)
    assert_completed_once(jobs, sora)
    assert jobs[0].download_attempts >= (1 if fault == "slow" else 2)


def test_persistent_download_failure_needs_attention_then_retry_works(emu, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu, DOWNLOAD_MAX_ATTEMPTS=2)
    emu.set_faults([{"endpoint": "content", "fault": "truncate", "times": None}])
    [job] = settle(make(1), timeout=60)
    assert job.status == JobStatus.NEEDS_ATTENTION and job.error_code == "download_failed"
    assert "Retry download" in job.error_message and not job.assets.exists()
    assert_no_partial_files()
    emu.clear_faults()
    services.retry_download(job)
    [job] = settle([job])
    assert_completed_once([job], emu)


def test_content_gone_after_expiry_fails_with_reason(sora):
    import datetime as dt

    from django.utils import timezone

    from ..support import drain

    sora.set_faults([{"endpoint": "content", "fault": "http_503", "times": None}])
    [job] = make(1)
    while job.status != JobStatus.DOWNLOADING:  # run until the provider says completed
        drain()
        job.refresh_from_db()
        if policy.allows(Action.REFRESH, job):  # at the provider now
            services.refresh(job)
        job.refresh_from_db()
    sora.expire(job.remote_id)
    sora.clear_faults()
    job.update_fields(expires_at=timezone.now() - dt.timedelta(seconds=1), not_before=None)
    [job] = settle([job])
    assert job.status == JobStatus.FAILED and job.error_code == "content_expired"
    assert "expired" in job.error_message


def test_failed_job_reports_the_provider_code(sora):
    sora.set_faults([{"endpoint": "create", "fault": "fail_job", "error_code": "internal_error", "times": 1}])
    [job] = settle(make(1))
    assert job.status == JobStatus.FAILED and job.error_code == "internal_error"
    assert sora.stats()["jobs_created"] == 1


@pytest.mark.parametrize("fault", ["http_429", "http_500", "drop_response"])
def test_remix_faults(sora, fault):
    [source] = settle(make(1))
    sora.set_faults([{"endpoint": "remix", "fault": fault, "times": 1, "retry_after": 0.1}])
    remix = services.remix(source, "Now in black and white")
    [remix] = settle([remix])
    assert remix.status == JobStatus.COMPLETED, remix.error_message
    assert sora.stats()["jobs_created"] == 2


def test_delete_fault_is_reported_and_nothing_changes(sora):
    [job] = settle(make(1))
    sora.set_faults([{"endpoint": "delete", "fault": "http_500", "times": 1}])
    with pytest.raises(ProviderError):
        services.delete(job)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.assets.count() == 3
    services.delete(job)
    job.refresh_from_db()
    assert job.status == JobStatus.DELETED


def test_unauthorized_key_fails_with_the_variable_to_fix(emu, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setenv("SORA_TEST_API_KEY", "sk-wrong")
    settings.SORA_VIDEOS = sora_settings(emu)
    [job] = settle(make(1))
    assert job.status == JobStatus.FAILED
    assert "SORA_TEST_API_KEY" in job.error_message and "sk-wrong" not in job.error_message
