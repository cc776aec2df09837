"""Outbound webhooks: events other programs subscribe to, signed as Standard Webhooks.

An event becomes one :class:`~videos.models.WebhookDelivery` per subscribed endpoint, stored
before it is sent and delivered by the workers (never from a web request). A failed attempt
is tried again on a schedule that spans about a day, always with the same ``webhook-id``;
an endpoint whose delivery failed for that long is paused and its owner told. Only
``http(s)`` URLs; private and loopback addresses are refused unless ``WEBHOOKS_ALLOW_PRIVATE``.
"""
from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from . import conf, queue
from .exceptions import InvalidRequest
from .models import JobStatus, OutboundEvent, Sequence, VideoJob, WebhookDelivery, WebhookEndpoint
from .signals import approval_requested, job_status_changed, job_stored, sequence_stored

log = logging.getLogger(__name__)

#: Seconds before each retry (about 27 hours in all), then the delivery is given up.
RETRY_AFTER = (60, 300, 1800, 7200, 18000, 36000, 36000)
TIMEOUT = 10.0
STATUS_EVENTS = {JobStatus.QUEUED: OutboundEvent.VIDEO_QUEUED, JobStatus.COMPLETED: OutboundEvent.VIDEO_COMPLETED,
                 JobStatus.FAILED: OutboundEvent.VIDEO_FAILED}


def new_secret() -> str:
    """A ``whsec_`` secret (32 random bytes, base64), as Standard Webhooks receivers expect."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str) -> None:
    """Refuse what must not be called: not http(s), or (unless allowed) a private address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("A webhook URL starts with http:// or https:// and names a host.", field="url")
    if conf.get("WEBHOOKS_ALLOW_PRIVATE"):
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError as exc:
        raise InvalidRequest(f"The host {parts.hostname} cannot be resolved ({exc}).", field="url") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            raise InvalidRequest(f"{parts.hostname} is a private address ({ip}); set SORA_VIDEOS"
                                 "['WEBHOOKS_ALLOW_PRIVATE'] to call such hosts.", field="url")


def _absolute(name: str, *args: Any) -> str | None:
    try:
        path = reverse(name, args=args)
    except NoReverseMatch:
        return None
    return f"{conf.get('SITE_URL').rstrip('/')}{path}" if conf.get("SITE_URL") else path


def video_data(job: VideoJob) -> dict[str, Any]:
    return {
        "id": str(job.uuid), "status": job.status, "kind": job.kind, "prompt": job.prompt_text,
        "provider": job.provider, "model": job.model, "size": job.size, "seconds": job.seconds,
        "estimated_cost": str(job.estimated_cost), "currency": conf.get("CURRENCY"),
        "owner": job.owner.get_username() if job.owner_id else None,
        "project": job.project.name if job.project_id else None,
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "api": _absolute("videos_api:video-detail", job.uuid), "page": _absolute("videos:detail", job.uuid),
        "files": {a.variant: _absolute("videos_api:video-file", job.uuid, a.variant) for a in job.assets.all()},
    }


#: Seconds a process trusts its list of active endpoints: every status change of every job
#: asks it, and it changes when a person edits an endpoint (a save here forgets it at once;
#: in another process it is current within this long).
ENDPOINTS_FRESH = 1.0
_endpoints: tuple[float, list[WebhookEndpoint]] | None = None


def _listening() -> list[WebhookEndpoint]:
    global _endpoints
    now = time.monotonic()
    if _endpoints is None or now - _endpoints[0] > ENDPOINTS_FRESH:
        _endpoints = (now, list(WebhookEndpoint.objects.filter(active=True, paused_at__isnull=True)))
    return _endpoints[1]


def _forget_endpoints(sender: Any, **kwargs: Any) -> None:
    global _endpoints
    _endpoints = None


def emit(event_type: str, data: dict[str, Any] | Callable[[], dict[str, Any]]) -> list[WebhookDelivery]:
    """Store one delivery per endpoint that wants ``event_type`` and queue them (after commit).
    ``data`` may be a function: it is called only when an endpoint wants the event, so the
    pipeline's status changes cost one query when nobody listens."""
    endpoints = [e for e in _listening() if e.wants(event_type)]
    if not endpoints:
        return []
    payload = {"type": event_type, "timestamp": timezone.now().isoformat(),
               "data": data() if callable(data) else data}
    made = [WebhookDelivery.objects.create(endpoint=e, event_id=f"msg_{uuid.uuid4().hex}", event_type=event_type,
                                           payload=payload, next_attempt_at=timezone.now()) for e in endpoints]
    for delivery in made:
        queue.enqueue("videos.tasks.deliver_webhook", delivery.pk)
    return made


def deliver(delivery_id: int) -> WebhookDelivery | None:
    """One attempt, if it is due (a claim on ``next_attempt_at`` keeps two workers from both sending)."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, delivered_at__isnull=True, gave_up_at__isnull=True,
                                             next_attempt_at__lte=now).update(next_attempt_at=None)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "endpoint__owner").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.active or endpoint.paused_at is not None:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now + dt.timedelta(hours=1))
        return delivery
    body = json.dumps(delivery.payload, separators=(",", ":"))
    status, answer = None, ""
    try:
        check_url(endpoint.url)
        signature = Webhook(endpoint.secret).sign(delivery.event_id, now, body)
        headers = {"content-type": "application/json", "webhook-id": delivery.event_id,
                   "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature,
                   "user-agent": "sora-videos-webhooks/1"}
        status, answer = _post(endpoint.url, body.encode(), headers)
    except (OSError, InvalidRequest) as exc:  # refused, unreachable, timed out, or not allowed
        answer = f"{type(exc).__name__}: {exc}"[:2000]
    _record(delivery, status, answer, now)
    return delivery


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer like any other, never followed to another host


_OPENER = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as reply:
            return reply.status, reply.read(2000).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(2000).decode(errors="replace")


def _record(delivery: WebhookDelivery, status: int | None, answer: str, now: dt.datetime) -> None:
    endpoint = delivery.endpoint
    delivery.attempts += 1
    delivery.status_code, delivery.response = status, answer
    if status is not None and 200 <= status < 300:
        delivery.delivered_at = now
        endpoint.failures_in_a_row = 0
    elif delivery.attempts > len(RETRY_AFTER):
        delivery.gave_up_at = now
        endpoint.failures_in_a_row += 1
        endpoint.paused_at = now
        transaction.on_commit(lambda: _tell_owner(endpoint, delivery))
    else:
        delivery.next_attempt_at = now + dt.timedelta(seconds=RETRY_AFTER[delivery.attempts - 1])
        endpoint.failures_in_a_row += 1
    with transaction.atomic():
        delivery.save(update_fields=["attempts", "status_code", "response", "delivered_at", "gave_up_at",
                                     "next_attempt_at"])
        endpoint.save(update_fields=["failures_in_a_row", "paused_at"])


def _tell_owner(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> None:
    log.warning("webhook endpoint %s paused: delivery %s failed for a day (last answer: %s)",
                endpoint.url, delivery.event_id, delivery.response[:200])
    owner = endpoint.owner
    if owner is None or not owner.email:
        return
    try:
        send_mail(f"Webhook paused: {endpoint.url}",
                  f"Deliveries to {endpoint.url} kept failing for about a day (last answer: "
                  f"{delivery.status_code or 'none'} {delivery.response[:300]}). The endpoint is paused: fix it, "
                  "then clear 'paused' in the admin and use 'Send again' on the deliveries you need.",
                  getattr(settings, "DEFAULT_FROM_EMAIL", None), [owner.email])
    except Exception:
        log.warning("could not e-mail %s about a paused webhook", owner.email, exc_info=True)


def send_again(delivery: WebhookDelivery) -> None:
    """A person asks for another try now (same event id), whatever happened before."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now(), gave_up_at=None,
                                                          delivered_at=None)
    queue.enqueue("videos.tasks.deliver_webhook", delivery.pk)


def resend_due(limit: int = 500) -> int:
    """From the minute sweep: queue the deliveries whose retry is due."""
    due = list(WebhookDelivery.objects.filter(delivered_at__isnull=True, gave_up_at__isnull=True,
                                              next_attempt_at__lte=timezone.now()).values_list("pk", flat=True)[:limit])
    for pk in due:
        queue.enqueue("videos.tasks.deliver_webhook", pk)
    return len(due)


# --- events from the app's signals ----------------------------------------------------------
def _on_status(sender: Any, job: VideoJob, old_status: str, new_status: str, **kwargs: Any) -> None:
    if new_status in STATUS_EVENTS:
        emit(STATUS_EVENTS[new_status], lambda: video_data(job))


def _on_stored(sender: Any, job: VideoJob, **kwargs: Any) -> None:
    emit(OutboundEvent.VIDEO_STORED, lambda: video_data(job))


def _on_sequence(sender: Any, sequence: Sequence, **kwargs: Any) -> None:
    emit(OutboundEvent.SEQUENCE_STORED, lambda: {
        "id": str(sequence.uuid), "title": sequence.title, "status": sequence.status,
        "videos": [str(s.job.uuid) for s in sequence.shots.select_related("job") if s.job is not None],
        "page": _absolute("videos:sequence_detail", sequence.uuid)})


def _on_approval(sender: Any, job: VideoJob, **kwargs: Any) -> None:
    emit(OutboundEvent.APPROVAL_REQUESTED, lambda: video_data(job))


def connect_receivers() -> None:
    post_save.connect(_forget_endpoints, sender=WebhookEndpoint, dispatch_uid="sora-outbound-endpoint-saved")
    post_delete.connect(_forget_endpoints, sender=WebhookEndpoint, dispatch_uid="sora-outbound-endpoint-deleted")
    job_status_changed.connect(_on_status, dispatch_uid="sora-outbound-status")
    job_stored.connect(_on_stored, dispatch_uid="sora-outbound-stored")
    sequence_stored.connect(_on_sequence, dispatch_uid="sora-outbound-sequence")
    approval_requested.connect(_on_approval, dispatch_uid="sora-outbound-approval")
