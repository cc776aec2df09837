"""Webhooks: verified with the SDK, stored once per event id, and they trigger a refresh."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time

import pytest
from django.db.models import F
from django_q.brokers import get_broker

from videos import pipeline, services
from videos.models import JobStatus, VideoJob, WebhookEvent
from videos.pipeline import sweep_once
from videos.providers import get_provider

from ..support import drain, queued_funcs, settle, sora_settings

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def signed(body: dict, *, secret: str = SECRET, timestamp: int | None = None, msg_id: str | None = None) -> tuple:
    raw = json.dumps(body).encode()
    msg_id = msg_id or f"msg_{secrets.token_hex(8)}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = base64.b64decode(secret.removeprefix("whsec_"))
    sig = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + raw, hashlib.sha256).digest()).decode()
    headers = {"HTTP_WEBHOOK_ID": msg_id, "HTTP_WEBHOOK_TIMESTAMP": str(timestamp), "HTTP_WEBHOOK_SIGNATURE": f"v1,{sig}"}
    return raw, headers


def event(video_id: str, kind: str = "video.completed") -> dict:
    return {"id": f"evt_{secrets.token_hex(6)}", "object": "event", "created_at": int(time.time()), "type": kind,
            "data": {"id": video_id}}


@pytest.fixture
def hooked(settings, emu, tmp_path, monkeypatch):
    monkeypatch.setenv("SORA_TEST_WEBHOOK_SECRET", SECRET)
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu, provider={"WEBHOOK_SECRET_ENV": "SORA_TEST_WEBHOOK_SECRET"})
    return emu


def post(client, body: bytes, headers: dict, provider: str = "emu"):
    return client.post(f"/webhooks/{provider}/", data=body, content_type="application/json", **headers)


def test_emulator_webhooks_complete_jobs_with_one_status_call_each(emulators, settings, tmp_path, monkeypatch,
                                                                   live_server):
    emu = emulators.get(webhook_url=f"{live_server.url}/webhooks/emu/", webhook_secret=SECRET, generation_time=0.5)
    monkeypatch.setenv("SORA_TEST_WEBHOOK_SECRET", SECRET)
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu, provider={"WEBHOOK_SECRET_ENV": "SORA_TEST_WEBHOOK_SECRET"})
    jobs = [services.create_video(f"Fireflies over a pond #{i}") for i in range(3)]
    jobs = settle(jobs, timeout=30)
    assert all(j.status == JobStatus.COMPLETED for j in jobs), [j.error_message for j in jobs]
    stats = emu.stats()["requests"]
    assert stats["retrieve"] + stats["list"] <= 3  # one refresh per job, triggered by its event
    assert WebhookEvent.objects.filter(outcome="processed").count() == 3
    assert {e.video_id for e in WebhookEvent.objects.all()} == {j.remote_id for j in jobs}


def test_event_for_a_job_triggers_refresh_and_download(hooked, client):
    job = services.create_video("Fireflies over a pond")
    drain()
    job.refresh_from_db()
    assert job.status in (JobStatus.QUEUED, JobStatus.IN_PROGRESS)
    hooked.complete(job.remote_id)
    body, headers = signed(event(job.remote_id))
    response = post(client, body, headers)
    assert response.status_code == 200 and response.json()["duplicate"] is False
    drain()
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.assets.count() == 3


def test_the_webhook_task_stores_the_video_itself_instead_of_queueing_a_download(hooked, client):
    """Fresh news must not wait at the back of a queue full of submissions: the one task
    that processes the event also downloads and stores, and queues nothing behind it."""
    jobs = [services.create_video(f"Fireflies over a pond #{i}") for i in range(2)]
    drain()
    for job in jobs:
        job.refresh_from_db()
        assert job.status in (JobStatus.QUEUED, JobStatus.IN_PROGRESS)
        hooked.complete(job.remote_id)
    queued_before = queued_funcs()
    post(client, *signed(event(jobs[0].remote_id)))
    assert queued_funcs() == [*queued_before, "videos.tasks.process_webhook"]
    assert drain(limit=len(queued_before) + 1) == len(queued_before) + 1  # exactly what was queued, nothing after
    assert queued_funcs() == []
    done, other = (VideoJob.objects.get(pk=job.pk) for job in jobs)
    assert done.status == JobStatus.COMPLETED and done.assets.count() == 3
    assert other.status in (JobStatus.QUEUED, JobStatus.IN_PROGRESS)  # no event yet: the sweep's business


def test_an_event_whose_task_never_ran_is_processed_by_the_next_sweep_once(hooked, client):
    """Stored while the broker was down, or its task lost: it must not stay pending for good."""
    job = services.create_video("Fireflies over a pond")
    drain()
    job.refresh_from_db()
    hooked.complete(job.remote_id)
    post(client, *signed(event(job.remote_id)))
    get_broker().purge_queue()  # the process_webhook task is gone
    provider = get_provider("emu")
    sweep_once(provider)
    assert WebhookEvent.objects.get().outcome == "pending"  # young: its task may still be on its way
    WebhookEvent.objects.update(received_at=F("received_at") - dt.timedelta(seconds=11))
    retrieves = hooked.stats()["requests"]["retrieve"]

    assert sweep_once(provider) is None  # nothing left to do
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.assets.count() == 3
    assert WebhookEvent.objects.get().outcome == "processed"
    pipeline.process_webhook(WebhookEvent.objects.get().pk)  # the task, had it survived: nothing more
    assert hooked.stats()["requests"]["retrieve"] == retrieves + 1


def test_a_delivery_while_the_broker_is_down_is_stored_and_answered_200(hooked, client, broker_down, caplog):
    """The provider must not retry (or give up on) an event we have: the sweep processes it later."""
    job = VideoJob.objects.create(provider="emu", model="sora-2", size="720x1280", seconds=4, prompt_text="x",
                                  status=JobStatus.QUEUED, remote_id="video_outage")
    response = post(client, *signed(event(job.remote_id)))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome == "pending"
    assert "the broker cannot be reached" in caplog.text


def test_replayed_delivery_is_counted_not_reprocessed(hooked, client):
    job = services.create_video("Fireflies over a pond")
    drain()
    job.refresh_from_db()
    hooked.complete(job.remote_id)
    body, headers = signed(event(job.remote_id), msg_id="msg_same")
    assert post(client, body, headers).json()["duplicate"] is False
    assert post(client, body, headers).json()["duplicate"] is True
    drain()
    stored = WebhookEvent.objects.get()
    assert stored.deliveries == 2 and stored.outcome == "processed"
    assert hooked.stats()["requests"]["retrieve"] == 1


@pytest.mark.parametrize(
    "tamper, reason",
    [
        (lambda b, h: (b, {**h, "HTTP_WEBHOOK_SIGNATURE": "v1,AAAA"}), "signature"),
        (lambda b, h: (b + b" ", h), "body changed"),
        (lambda b, h: signed(json.loads(b), secret="whsec_" + base64.b64encode(b"x" * 32).decode()), "wrong secret"),
        (lambda b, h: signed(json.loads(b), timestamp=int(time.time()) - 3600), "stale"),
        (lambda b, h: signed(json.loads(b), timestamp=int(time.time()) + 3600), "from the future"),
        (lambda b, h: (b, {k: v for k, v in h.items() if k != "HTTP_WEBHOOK_SIGNATURE"}), "unsigned"),
    ],
)
def test_bad_deliveries_get_400_and_change_nothing(hooked, client, tamper, reason):
    job = services.create_video("Fireflies over a pond")
    drain()
    job.refresh_from_db()
    body, headers = tamper(*signed(event(job.remote_id)))
    response = post(client, body, headers)
    assert response.status_code == 400, reason
    assert "error" in response.json()
    assert WebhookEvent.objects.count() == 0
    drain()
    job.refresh_from_db()
    assert job.status in (JobStatus.QUEUED, JobStatus.IN_PROGRESS)


def test_unknown_provider_gets_400(hooked, client):
    body, headers = signed(event("video_x"))
    assert post(client, body, headers, provider="nobody").status_code == 400
    assert WebhookEvent.objects.count() == 0


def test_provider_without_secret_gets_400(emu, settings, client, monkeypatch):
    monkeypatch.delenv("SORA_TEST_WEBHOOK_SECRET", raising=False)
    settings.SORA_VIDEOS = sora_settings(emu, provider={"WEBHOOK_SECRET_ENV": "SORA_TEST_WEBHOOK_SECRET"})
    body, headers = signed(event("video_x"))
    response = post(client, body, headers)
    assert response.status_code == 400 and "SORA_TEST_WEBHOOK_SECRET" in response.json()["error"]
    assert SECRET not in response.content.decode()


def test_event_for_an_unknown_video_is_ignored(hooked, client):
    body, headers = signed(event("video_not_ours"))
    assert post(client, body, headers).status_code == 200
    drain()
    assert WebhookEvent.objects.get().outcome == "ignored"


def test_get_is_not_allowed(hooked, client):
    assert client.get("/webhooks/emu/").status_code == 405


def test_a_webhook_id_longer_than_the_column_is_deduplicated_exactly(hooked, client):
    job = services.create_video("Fireflies over a pond")
    drain()
    job.refresh_from_db()
    hooked.complete(job.remote_id)
    long_id = "msg_" + "x" * 1996  # 2,000 characters
    body, headers = signed(event(job.remote_id), msg_id=long_id)
    first, again = post(client, body, headers), post(client, body, headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    # another id sharing its first 255 characters is another event, not a duplicate that fails
    body2, headers2 = signed(event(job.remote_id), msg_id=long_id[:255] + "y" * 100)
    other = post(client, body2, headers2)
    assert other.status_code == 200 and other.json()["duplicate"] is False
    assert WebhookEvent.objects.count() == 2
    assert WebhookEvent.objects.filter(deliveries=2).count() == 1
