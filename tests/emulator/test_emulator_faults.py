"""Scripted faults, each seen from the real SDK (and a raw socket where the SDK hides it)."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import openai
import pytest

from videos.emulator.testing import EmulatorError

from .helpers import wait_for


def jobs_created(emulator) -> int:
    return emulator.stats()["jobs_created"]


def test_http_429_sends_retry_after_and_does_nothing(emulator, sdk):
    emulator.set_faults([{"endpoint": "create", "fault": "http_429", "times": 2, "retry_after": 2}])
    for _ in range(2):
        with pytest.raises(openai.RateLimitError) as caught:
            sdk.videos.create(prompt="A busy crossing")
        assert caught.value.response.headers["retry-after"] == "2"
        assert caught.value.response.headers["retry-after-ms"] == "2000"
        assert caught.value.body["code"] == "rate_limit_exceeded"
    assert jobs_created(emulator) == 0
    sdk.videos.create(prompt="A busy crossing")  # the rule is used up
    stats = emulator.stats()
    assert stats.pop("connections") >= 1
    assert stats == {
        "requests": {
            "create": 3,
            "retrieve": 0,
            "list": 0,
            "content": 0,
            "delete": 0,
            "remix": 0,
            "edit": 0,
            "extend": 0,
            "sync": 0,
            "models": 0,
        },
        "jobs_created": 1,
    }


def test_sdk_retries_honour_retry_after(emulator):
    emulator.set_faults([{"endpoint": "create", "fault": "http_429", "times": 2, "retry_after": 0.05}])
    video = emulator.client(max_retries=2).videos.create(prompt="Persistence")
    assert video.status == "queued"
    assert emulator.stats()["requests"]["create"] == 3 and jobs_created(emulator) == 1


@pytest.mark.parametrize(("fault", "status"), [("http_500", 500), ("http_502", 502), ("http_503", 503)])
def test_server_errors_do_not_perform_the_action(emulator, sdk, fault, status):
    video = sdk.videos.create(prompt="Before the outage")
    emulator.set_faults([{"endpoint": "*", "fault": fault, "times": None}])
    for call in (
        lambda: sdk.videos.create(prompt="x"),
        lambda: sdk.videos.delete(video.id),
        lambda: sdk.videos.retrieve(video.id),
    ):
        with pytest.raises(openai.APIStatusError) as caught:
            call()
        assert caught.value.status_code == status and caught.value.body["type"] == "server_error"
    emulator.clear_faults()
    assert jobs_created(emulator) == 1 and sdk.videos.retrieve(video.id).id == video.id  # not deleted


def test_slow_answers_late_but_normally(emulator, sdk):
    emulator.set_faults([{"endpoint": "list", "fault": "slow", "delay": 0.3}])
    started = time.monotonic()
    assert sdk.videos.list().data == []
    assert time.monotonic() - started >= 0.3


def test_slow_create_past_the_client_timeout_still_creates_the_job(emulator, sdk):
    emulator.set_faults([{"endpoint": "create", "fault": "slow", "delay": 0.5}])
    with pytest.raises(openai.APITimeoutError):
        sdk.videos.create(prompt="Too slow for the client", timeout=0.1)
    deadline = time.monotonic() + 5
    while jobs_created(emulator) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [v.prompt for v in sdk.videos.list()] == ["Too slow for the client"]


def test_drop_response_creates_the_job_but_the_client_never_hears(emulator, sdk):
    emulator.set_faults([{"endpoint": "create", "fault": "drop_response"}])
    with pytest.raises(openai.APIConnectionError):
        sdk.videos.create(prompt="A paid job nobody heard about")
    assert jobs_created(emulator) == 1
    assert [v.prompt for v in sdk.videos.list()] == ["A paid job nobody heard about"]


def test_drop_response_with_sdk_retries_duplicates_the_job(emulator):
    emulator.set_faults([{"endpoint": "create", "fault": "drop_response", "times": 1}])
    video = emulator.client(max_retries=2).videos.create(prompt="Paid twice")
    assert jobs_created(emulator) == 2
    assert video.id in [v.id for v in emulator.client().videos.list()]


def test_drop_response_on_delete_still_deletes(emulator, sdk):
    video = sdk.videos.create(prompt="Doomed")
    emulator.set_faults([{"endpoint": "delete", "fault": "drop_response"}])
    with pytest.raises(openai.APIConnectionError):
        sdk.videos.delete(video.id)
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve(video.id)


def test_truncate_cuts_the_download_short(emulator, sdk):
    video = sdk.videos.create(prompt="A long download")
    emulator.complete(video.id)
    emulator.set_faults([{"endpoint": "content", "fault": "truncate", "after_bytes": 1000, "times": 2}])

    with pytest.raises(openai.APIConnectionError):
        sdk.videos.download_content(video.id).read()

    url = urlsplit(emulator.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.request("GET", f"/v1/videos/{video.id}/content", headers={"Authorization": f"Bearer {emulator.api_key}"})
    response = connection.getresponse()
    promised = int(response.headers["Content-Length"])
    with pytest.raises(http.client.IncompleteRead) as caught:
        response.read()
    connection.close()
    assert len(caught.value.partial) == 1000 < promised == emulator.job(video.id)["emulator"]["assets"]["video"]["size"]
    assert len(sdk.videos.download_content(video.id).read()) == promised  # rule used up


def test_fail_job_fails_part_way_with_the_code(emulator, sdk):
    emulator.set_faults(
        [{"endpoint": "create", "fault": "fail_job", "error_code": "moderation_blocked", "at_progress": 40}]
    )
    doomed = sdk.videos.create(prompt="A harmless meadow")
    healthy = sdk.videos.create(prompt="Another harmless meadow")
    done, seen = wait_for(sdk, doomed.id)
    assert (done.status, done.error.code, done.progress) == ("failed", "moderation_blocked", 40)
    assert done.error.message and all(progress < 40 for status, progress in seen if status == "in_progress")
    assert wait_for(sdk, healthy.id)[0].status == "completed"


def test_fail_job_on_a_wildcard_waits_for_a_job_creating_call(emulator, sdk):
    source = sdk.videos.create(prompt="Source")
    emulator.complete(source.id)
    emulator.set_faults(
        [{"endpoint": "*", "fault": "fail_job", "error_code": "internal_error", "message": "GPU fell over"}]
    )
    sdk.videos.retrieve(source.id)
    sdk.videos.list()
    remix = sdk.videos.remix(source.id, prompt="Remix")
    view = emulator.complete(remix.id)
    assert (view["status"], view["error"]) == ("failed", {"code": "internal_error", "message": "GPU fell over"})


def test_match_limits_a_rule_to_one_variant(emulator, sdk):
    video = sdk.videos.create(prompt="Previews")
    emulator.complete(video.id)
    emulator.set_faults(
        [{"endpoint": "content", "fault": "http_500", "times": None, "match": {"variant": "thumbnail"}}]
    )
    with pytest.raises(openai.InternalServerError):
        sdk.videos.download_content(video.id, variant="thumbnail")
    assert sdk.videos.download_content(video.id).read()[4:8] == b"ftyp"
    assert sdk.videos.download_content(video.id, variant="spritesheet").read()[:2] == b"\xff\xd8"


def test_match_on_the_video_id(emulator, sdk):
    first, second = sdk.videos.create(prompt="one"), sdk.videos.create(prompt="two")
    emulator.set_faults(
        [{"endpoint": "retrieve", "fault": "http_503", "times": None, "match": {"video_id": second.id}}]
    )
    assert sdk.videos.retrieve(first.id).id == first.id
    with pytest.raises(openai.InternalServerError):
        sdk.videos.retrieve(second.id)


def test_probabilistic_storms_replay_identically(emulator, sdk):
    video = sdk.videos.create(prompt="Weather")
    rules = [{"endpoint": "retrieve", "fault": "http_503", "probability": 0.5, "times": None}]

    def storm() -> list[bool]:
        emulator.set_faults(rules)  # re-seeds the fault generator
        outcomes = []
        for _ in range(30):
            try:
                sdk.videos.retrieve(video.id)
                outcomes.append(True)
            except openai.InternalServerError:
                outcomes.append(False)
        return outcomes

    first = storm()
    assert storm() == first
    assert 0 < first.count(False) < 30
    assert emulator.faults()[0]["hits"] == first.count(False)


def test_rules_are_validated_listed_and_cleared(emulator):
    with pytest.raises(EmulatorError, match="400"):
        emulator.set_faults([{"endpoint": "create", "fault": "explode"}])
    with pytest.raises(EmulatorError, match="fail_job"):
        emulator.set_faults([{"endpoint": "retrieve", "fault": "fail_job"}])
    with pytest.raises(EmulatorError, match="probability"):
        emulator.set_faults([{"endpoint": "retrieve", "fault": "http_500", "probability": 2}])
    emulator.set_faults([{"endpoint": "list", "fault": "http_500", "times": 3}])
    assert [(r["endpoint"], r["fault"], r["times"], r["hits"]) for r in emulator.faults()] == [
        ("list", "http_500", 3, 0)
    ]
    emulator.clear_faults()
    assert emulator.faults() == []


def test_reset_forgets_jobs_faults_and_counts(emulator, sdk):
    sdk.videos.create(prompt="Soon forgotten")
    emulator.set_faults([{"endpoint": "list", "fault": "http_500"}])
    emulator.reset()
    assert emulator.faults() == [] and emulator.jobs() == []
    assert emulator.stats()["jobs_created"] == 0 and sum(emulator.stats()["requests"].values()) == 0
    assert sdk.videos.list().data == []
