"""The issue's end to end: ``curl`` with a token makes a video on a live site; a worker (as a
qcluster would) makes and stores it; a local receiver gets a correctly signed ``video.stored``
for it, and the automation never polls."""
from __future__ import annotations

import json
import subprocess
import time

import pytest

from videos import outbound, roles, tokens
from videos.models import OutboundEvent, WebhookEndpoint

from ..gallery.test_studio import member_of
from ..lifecycle.test_outbound_webhooks import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def test_curl_makes_a_video_and_a_receiver_is_told_it_is_stored(live_server, worker):
    secret = outbound.new_secret()
    receiver = Receiver(secret, codes=[])
    try:
        WebhookEndpoint.objects.create(url=receiver.url, events=[OutboundEvent.VIDEO_STORED], secret=secret)
        _, token = tokens.create(member_of(roles.MAKERS, "n8n").user, "automation")
        out = subprocess.run(
            ["curl", "-sS", "-X", "POST", f"{live_server.url}/api/videos/", "-H", f"Authorization: Bearer {token}",
             "-H", "Idempotency-Key: order-42", "-H", "Content-Type: application/json",
             "-d", json.dumps({"prompt": "A red kite over a green park", "seconds": 4})],
            capture_output=True, text=True, timeout=30, check=True)
        made = json.loads(out.stdout)
        assert made["status"] == "pending", made
        deadline = time.monotonic() + 30
        while not receiver.calls and time.monotonic() < deadline:
            time.sleep(0.1)
        [call] = receiver.calls  # verified by the receiver (Standard Webhooks signature)
        assert call["payload"]["type"] == "video.stored" and call["payload"]["data"]["id"] == made["id"]
        video = subprocess.run(["curl", "-sS", "-L", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                f"{live_server.url}/api/videos/{made['id']}/files/video/",
                                "-H", f"Authorization: Bearer {token}"], capture_output=True, text=True, check=True)
        code, size = video.stdout.split()
        assert code == "200" and int(size) > 1000
    finally:
        receiver.close()
