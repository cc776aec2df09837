"""``video.completed`` / ``video.failed`` webhooks, signed the Standard Webhooks way.

One background thread delivers events from a time-ordered queue, so job
transitions never wait on the receiver and one slow retry does not hold back a
fresh event for longer than a single request timeout. Every attempt is recorded
for ``GET /_emulator/webhooks``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import hmac
import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

#: Delays before the 2nd, 3rd, ... attempt; a delivery makes at most len + 1 attempts.
RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0)
REQUEST_TIMEOUT = 5.0


def decode_secret(secret: str) -> bytes:
    """The HMAC key inside ``whsec_<base64>``; ValueError if it is not one."""
    if not secret.startswith("whsec_"):
        raise ValueError("the webhook secret must look like whsec_<base64>")
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error as exc:
        raise ValueError("the webhook secret after whsec_ is not valid base64") from exc


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one attempt."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass
class Delivery:
    event_id: str
    event_type: str
    video_id: str
    body: bytes
    attempts: list[dict[str, Any]] = field(default_factory=list)
    state: str = "pending"

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.event_id,
            "type": self.event_type,
            "video_id": self.video_id,
            "state": self.state,
            "attempts": list(self.attempts),
            "payload": json.loads(self.body),
        }


class WebhookSender:
    """Delivers events to one URL with bounded retries; a no-op without a URL."""

    def __init__(self, url: str | None, secret: str | None) -> None:
        self.url = url
        self._key = decode_secret(secret) if url and secret else b""
        self._lock = threading.Condition()
        self._queue: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._deliveries: list[Delivery] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    def start(self) -> None:
        if self.url:
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=REQUEST_TIMEOUT + 1)

    def notify(self, event_type: str, video_id: str) -> None:
        """Queue ``event_type`` about ``video_id``; returns at once."""
        if not self.url:
            return
        event_id = f"evt_{secrets.token_hex(12)}"
        event = {
            "id": event_id,
            "object": "event",
            "created_at": int(time.time()),
            "type": event_type,
            "data": {"id": video_id},
        }
        delivery = Delivery(event_id, event_type, video_id, json.dumps(event, separators=(",", ":")).encode())
        with self._lock:
            self._deliveries.append(delivery)
            heapq.heappush(self._queue, (time.monotonic(), next(self._order), delivery))
            self._lock.notify_all()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [delivery.describe() for delivery in self._deliveries]

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._deliveries.clear()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._stopping and (not self._queue or self._queue[0][0] > time.monotonic()):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._lock.wait(wait)
                if self._stopping:
                    return
                _, _, delivery = heapq.heappop(self._queue)
            status, error = self._attempt(delivery)
            with self._lock:
                delivery.attempts.append({"at": time.time(), "status": status, "error": error})
                if status is not None and 200 <= status < 300:
                    delivery.state = "delivered"
                elif len(delivery.attempts) > len(RETRY_DELAYS):
                    delivery.state = "failed"
                elif delivery in self._deliveries:  # not dropped by a reset meanwhile
                    due = time.monotonic() + RETRY_DELAYS[len(delivery.attempts) - 1]
                    heapq.heappush(self._queue, (due, next(self._order), delivery))
                    self._lock.notify_all()

    def _attempt(self, delivery: Delivery) -> tuple[int | None, str | None]:
        """POST once; the timestamp and signature are fresh on every attempt."""
        assert self.url is not None
        timestamp = int(time.time())
        request = urllib.request.Request(
            self.url,
            data=delivery.body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "SoraEmulator-Webhooks/1.0",
                "webhook-id": delivery.event_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(self._key, delivery.event_id, timestamp, delivery.body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                response.read()
                return response.status, None
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code, None
        except (OSError, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
