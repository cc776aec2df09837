"""Provider webhooks: verify, store once per event id, then refresh the job right away.

Verification uses the SDK's ``webhooks.verify_signature`` (Standard Webhooks: headers
``webhook-id``, ``webhook-timestamp``, ``webhook-signature``). ``webhooks.unwrap`` does not
know the ``video.*`` events, so the body is parsed here.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Mapping

import openai
import openai.resources.webhooks
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from . import conf
from .exceptions import ConfigurationError, InvalidRequest, JobStateError, ProviderError
from .models import JobStatus, VideoJob, WebhookEvent
from .providers import get_provider
from .queue import enqueue
from .signals import webhook_received
from .tracking import sync_from_remote

log = logging.getLogger(__name__)

HANDLED_TYPES = ("video.completed", "video.failed")

#: the SDK's webhook types load lazily (a fifth of a second of pydantic models): loaded with this
#: module, a site's worker has them before its first webhook, not while answering it
_PRELOADED = openai.resources.webhooks
_verifier: openai.OpenAI | None = None


def _verifying_client() -> openai.OpenAI:
    """Signature checks need no API key or network; one client does for every provider."""
    global _verifier
    if _verifier is None:
        _verifier = openai.OpenAI(api_key="webhook-verification-only", base_url="http://127.0.0.1:9/v1")
    return _verifier


def verify(provider_name: str, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """The event, if signed with the provider's secret within the tolerance; else InvalidRequest."""
    try:
        config = conf.provider(provider_name)
    except InvalidRequest:
        raise InvalidRequest(f"Unknown provider {provider_name!r}.", field="provider") from None
    secret = config.webhook_secret()
    if not secret:
        raise ConfigurationError(
            f"Webhooks are not set up for provider {provider_name!r}: set the environment variable "
            f"{config.webhook_secret_env or '(WEBHOOK_SECRET_ENV is not configured)'}",
            setting=config.webhook_secret_env or f"SORA_VIDEOS['PROVIDERS'][{provider_name!r}]['WEBHOOK_SECRET_ENV']",
        )
    try:
        _verifying_client().webhooks.verify_signature(
            body, headers, secret=secret, tolerance=int(conf.get("WEBHOOK_TOLERANCE"))
        )
    except Exception as exc:  # the SDK raises InvalidWebhookSignatureError or ValueError variants
        raise InvalidRequest(f"Webhook rejected: {exc}", field="signature") from None
    try:
        event = json.loads(body)
    except ValueError:
        raise InvalidRequest("Webhook body is not JSON.", field="body") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise InvalidRequest("Webhook body has no event type.", field="body")
    return event


#: ``WebhookEvent.event_id`` holds this many characters; a longer id is stored as its digest.
EVENT_ID_LENGTH = 255


def event_key(webhook_id: str) -> str:
    """What is stored and looked up for a ``webhook-id``: the id itself, or ``sha256:<hex>`` of a
    longer one, so a long id is deduplicated as exactly as a short one (never cut)."""
    if len(webhook_id) <= EVENT_ID_LENGTH:
        return webhook_id
    return "sha256:" + hashlib.sha256(webhook_id.encode()).hexdigest()


def receive(provider_name: str, body: bytes, headers: Mapping[str, str]) -> tuple[WebhookEvent, bool]:
    """Verify and store; returns (event, created). A repeated delivery is counted, not reprocessed."""
    event = verify(provider_name, body, headers)
    webhook_id = headers.get("webhook-id") or str(event.get("id") or "")
    if not webhook_id:
        raise InvalidRequest("Webhook has no webhook-id header.", field="webhook-id")
    event_id = event_key(webhook_id)
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    try:
        with transaction.atomic():
            stored = WebhookEvent.objects.create(
                provider=provider_name,
                event_id=event_id,
                type=event["type"][:100],
                video_id=str(data.get("id") or "")[:255],
                payload=event,
            )
    except IntegrityError:
        WebhookEvent.objects.filter(provider=provider_name, event_id=event_id).update(deliveries=F("deliveries") + 1)
        return WebhookEvent.objects.get(provider=provider_name, event_id=event_id), False
    webhook_received.send(sender=WebhookEvent, event=stored, provider=provider_name)
    enqueue("videos.tasks.process_webhook", stored.pk)
    return stored, True


def process_again(event: WebhookEvent) -> None:
    """Queue a failed event for processing again (the admin's action)."""
    moved = WebhookEvent.objects.filter(pk=event.pk, outcome=WebhookEvent.Outcome.FAILED).update(
        outcome=WebhookEvent.Outcome.PENDING, message="")
    if not moved:
        raise JobStateError(f"Only a failed event is processed again; this one is {event.outcome}.")
    enqueue("videos.tasks.process_webhook", event.pk)


def _finish(event: WebhookEvent, outcome: str, message: str = "") -> None:
    WebhookEvent.objects.filter(pk=event.pk).update(outcome=outcome, message=message, processed_at=timezone.now())


def process(event_pk: int) -> None:
    """Refresh the event's job now (the event says *that* something happened; the API says *what*)."""
    claimed = WebhookEvent.objects.filter(pk=event_pk, outcome=WebhookEvent.Outcome.PENDING).update(
        outcome=WebhookEvent.Outcome.PROCESSED, processed_at=timezone.now()
    )
    if not claimed:
        return
    event = WebhookEvent.objects.get(pk=event_pk)
    if event.type not in HANDLED_TYPES:
        _finish(event, WebhookEvent.Outcome.IGNORED, f"event type {event.type} is not handled")
        return
    job = VideoJob.objects.filter(provider=event.provider, remote_id=event.video_id).first()
    if job is None:
        _finish(event, WebhookEvent.Outcome.IGNORED, "no job has this video id")
        return
    if job.status not in (JobStatus.QUEUED, JobStatus.IN_PROGRESS):
        _finish(event, WebhookEvent.Outcome.IGNORED, f"job already {job.status}")
        return
    provider = get_provider(event.provider)
    try:
        video, hint = provider.retrieve(job.remote_id, model=job.model)
    except ProviderError as exc:
        # the sweep will get there; make it look now
        VideoJob.objects.filter(pk=job.pk).update(next_check_at=timezone.now())
        _finish(event, WebhookEvent.Outcome.FAILED, f"refresh failed: {exc}")
        return
    sync_from_remote(job, video, provider=provider, poll_after=hint)
    _finish(event, WebhookEvent.Outcome.PROCESSED, f"job {job.pk} is {job.status}")
