"""Outbound webhooks: a video made through the API is announced to a real local HTTP receiver
that verifies the Standard Webhooks signature; a 500 is retried with the same event id; a day
of failures pauses the endpoint and tells its owner; private addresses are refused unless
allowed; nothing is sent from the web request itself."""
from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from videos import outbound, roles, services, tokens
from videos.exceptions import InvalidRequest
from videos.models import JobStatus, OutboundEvent, WebhookDelivery, WebhookEndpoint

from ..gallery.test_studio import member_of
from ..support import drain, queued_funcs, settle

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """A webhook receiver on 127.0.0.1 that verifies every signature and answers ``codes`` in turn."""

    def __init__(self, secret: str, codes: list[int]):
        self.calls: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                payload = Webhook(secret).verify(body, headers)  # raises on a bad signature
                receiver.calls.append({"id": headers["webhook-id"], "payload": payload})
                code = codes.pop(0) if codes else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok" if code < 300 else b"try later")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def secret():
    return outbound.new_secret()


def test_a_video_made_through_the_api_is_announced_signed_and_retried(sora, secret):
    receiver = Receiver(secret, codes=[500])
    try:
        owner = member_of(roles.MAKERS, "mia", email="mia@example.com")
        endpoint = WebhookEndpoint.objects.create(url=receiver.url, events=[OutboundEvent.VIDEO_STORED],
                                                  secret=secret, owner=owner.user)
        _, raw = tokens.create(owner.user, "automation")
        made = Client().post("/api/videos/", json.dumps({"prompt": "A kite over the sea", "seconds": 4}),
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert made.status_code == 201 and receiver.calls == []  # nothing sent from the request
        [job] = settle()
        assert job.status == JobStatus.COMPLETED
        drain()
        [delivery] = WebhookDelivery.objects.all()
        assert (delivery.attempts, delivery.status_code, delivery.delivered_at) == (1, 500, None)
        assert delivery.next_attempt_at > timezone.now() + dt.timedelta(seconds=30)  # a minute later
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())  # the minute has passed
        assert outbound.resend_due() == 1
        drain()
        delivery.refresh_from_db()
        assert delivery.delivered_at is not None and delivery.status_code == 200 and delivery.attempts == 2
        first, second = receiver.calls
        assert first["id"] == second["id"] == delivery.event_id  # the same event id on the retry
        payload = second["payload"]
        assert payload["type"] == "video.stored" and payload["data"]["id"] == made.json()["id"]
        assert set(payload["data"]["files"]) == {"video", "thumbnail", "spritesheet"}
        endpoint.refresh_from_db()
        assert endpoint.failures_in_a_row == 0
    finally:
        receiver.close()


def test_a_day_of_failures_pauses_the_endpoint_and_tells_its_owner(sora, secret):
    receiver = Receiver(secret, codes=[503] * 20)
    try:
        owner = member_of(roles.MANAGERS, "max", email="max@example.com")
        endpoint = WebhookEndpoint.objects.create(url=receiver.url, secret=secret, owner=owner.user)
        [delivery] = outbound.emit(OutboundEvent.VIDEO_FAILED, {"id": "x"})
        for _ in range(len(outbound.RETRY_AFTER) + 1):
            WebhookDelivery.objects.filter(pk=delivery.pk, next_attempt_at__isnull=False).update(
                next_attempt_at=timezone.now())
            outbound.deliver(delivery.pk)
        delivery.refresh_from_db()
        endpoint.refresh_from_db()
        assert delivery.gave_up_at is not None and delivery.attempts == len(outbound.RETRY_AFTER) + 1
        assert endpoint.paused_at is not None
        assert mail.outbox[-1].to == ["max@example.com"] and "paused" in mail.outbox[-1].subject
        assert outbound.emit(OutboundEvent.VIDEO_FAILED, {"id": "y"}) == []  # paused: nothing more queued
        outbound.send_again(delivery)
        assert "videos.tasks.deliver_webhook" in queued_funcs()
    finally:
        receiver.close()


def test_only_http_urls_and_no_private_addresses_unless_allowed(sora, settings):
    with pytest.raises(InvalidRequest, match="http:// or https://"):
        outbound.check_url("ftp://example.com/hook")
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "WEBHOOKS_ALLOW_PRIVATE": False}
    for url in ("http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://[::1]/hook", "http://localhost/hook"):
        with pytest.raises(InvalidRequest, match="private address"):
            outbound.check_url(url)


def test_approval_requests_and_subscriptions(sora, settings, secret):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "APPROVAL_ABOVE": "0.50"}
    receiver = Receiver(secret, codes=[])
    try:
        WebhookEndpoint.objects.create(url=receiver.url, secret=secret, events=[OutboundEvent.APPROVAL_REQUESTED])
        services.create_video("A long pan", seconds=8, size="1280x720", provider="emu")
        services.create_video("A short pan", seconds=4, size="1280x720", provider="emu")  # no approval: no event
        drain()
        assert [c["payload"]["type"] for c in receiver.calls] == ["approval.requested"]
        assert receiver.calls[0]["payload"]["data"]["prompt"] == "A long pan"
    finally:
        receiver.close()


def test_every_status_change_does_not_read_the_endpoints_again_but_a_new_one_is_seen_at_once():
    """Each status change of each job asks which endpoints listen: the list is read once a second
    at most, and forgotten the moment an endpoint is saved in this process."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    outbound._forget_endpoints(None)
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(20):
            assert outbound.emit(OutboundEvent.VIDEO_QUEUED, lambda: {"id": "x"}) == []
    assert sum('"sora_videos_webhookendpoint"' in q["sql"] for q in ctx.captured_queries) == 1
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/in", secret=outbound.new_secret(),
                                              events=[OutboundEvent.VIDEO_QUEUED])
    [delivery] = outbound.emit(OutboundEvent.VIDEO_QUEUED, lambda: {"id": "x"})
    assert delivery.endpoint == endpoint
    endpoint.active = False
    endpoint.save()
    assert outbound.emit(OutboundEvent.VIDEO_QUEUED, lambda: {"id": "x"}) == []
