"""Webhooks: Standard Webhooks signatures the SDK accepts, and retries on receiver errors."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

from videos.emulator import webhooks
from videos.emulator.testing import EmulatorProcess

SECRET = "whsec_" + base64.b64encode(b"emulator-test-signing-key-0123456").decode()


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint on 127.0.0.1 that fails the first ``fail_next`` deliveries with 500."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.lock = threading.Lock()
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        self.fail_next = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/sora"

    def deliveries(self, status: int = 200) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(headers, body) for headers, body, answered in self.received if answered == status]


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            status = 500 if self.server.fail_next > 0 else 200
            self.server.fail_next -= status == 500
            self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def hooked(emulator_pool, receiver: Receiver) -> EmulatorProcess:
    with receiver.lock:
        receiver.received.clear()
        receiver.fail_next = 0
    return emulator_pool.get(webhook_url=receiver.url, webhook_secret=SECRET)


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_completed_and_failed_events_verify_with_the_sdk(hooked, receiver):
    sdk = hooked.client()
    ok = sdk.videos.create(prompt="A hummingbird")
    blocked = sdk.videos.create(prompt="Pikachu at the beach")
    wait_until(lambda: len(receiver.deliveries()) == 2)

    events = {}
    for headers, body in receiver.deliveries():
        sdk.webhooks.verify_signature(body, headers, secret=SECRET)  # raises if wrong
        event = json.loads(body)
        assert headers["webhook-id"] == event["id"] and event["id"].startswith("evt_")
        assert event["object"] == "event" and abs(event["created_at"] - time.time()) < 60
        events[event["data"]["id"]] = event["type"]
    assert events == {ok.id: "video.completed", blocked.id: "video.failed"}

    headers, body = receiver.deliveries()[0]
    with pytest.raises(openai.InvalidWebhookSignatureError):
        sdk.webhooks.verify_signature(body, headers, secret="whsec_" + base64.b64encode(b"another key").decode())
    with pytest.raises(openai.InvalidWebhookSignatureError):
        sdk.webhooks.verify_signature(body.replace(b"event", b"evenT"), headers, secret=SECRET)


def test_event_is_sent_when_the_job_is_already_final(hooked, receiver):
    """By the time the receiver hears of a completion, retrieve says completed."""
    sdk = hooked.client()
    video = sdk.videos.create(prompt="A slow river")
    wait_until(lambda: len(receiver.deliveries()) == 1)
    assert sdk.videos.retrieve(video.id).status == "completed"


def test_failed_deliveries_are_retried_with_the_same_id(hooked, receiver):
    with receiver.lock:
        receiver.fail_next = 2
    video = hooked.client().videos.create(prompt="A stubborn receiver")
    wait_until(lambda: len(receiver.deliveries()) == 1)

    with receiver.lock:
        attempts = list(receiver.received)
    assert [status for _, _, status in attempts] == [500, 500, 200]
    assert len({headers["webhook-id"] for headers, _, _ in attempts}) == 1
    for headers, body, _ in attempts:
        hooked.client().webhooks.verify_signature(body, headers, secret=SECRET)

    (record,) = hooked.webhooks()
    assert (record["type"], record["video_id"], record["state"]) == ("video.completed", video.id, "delivered")
    assert [attempt["status"] for attempt in record["attempts"]] == [500, 500, 200]
    assert record["attempts"][0]["at"] < record["attempts"][1]["at"] < record["attempts"][2]["at"]


def test_unreachable_receiver_gives_up_after_bounded_attempts(monkeypatch):
    """In-process, with short delays: the attempt count is bounded and errors are recorded."""
    monkeypatch.setattr(webhooks, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    sender = webhooks.WebhookSender("http://127.0.0.1:9/unreachable", SECRET)
    sender.start()
    try:
        sender.notify("video.completed", "video_123")
        wait_until(lambda: sender.describe()[0]["state"] == "failed")
    finally:
        sender.stop()
    (record,) = sender.describe()
    assert len(record["attempts"]) == 4
    assert all(attempt["status"] is None and attempt["error"] for attempt in record["attempts"])


def test_a_failing_receiver_never_holds_up_the_job(emulator_pool):
    emulator = emulator_pool.get(webhook_url="http://127.0.0.1:9/unreachable", webhook_secret=SECRET)
    video = emulator.client().videos.create(prompt="Into the void")
    assert emulator.complete(video.id)["status"] == "completed"


def test_signature_format_matches_standard_webhooks():
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signature = webhooks.sign(key, "evt_1", 1700000000, b'{"a":1}')
    assert signature.startswith("v1,") and len(base64.b64decode(signature[3:])) == 32
