"""Outbound webhooks: the endpoints other programs gave us, and every delivery we attempted."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class OutboundEvent(models.TextChoices):
    VIDEO_QUEUED = "video.queued", "video.queued: the provider accepted it"
    VIDEO_COMPLETED = "video.completed", "video.completed: the provider finished it"
    VIDEO_FAILED = "video.failed", "video.failed"
    VIDEO_STORED = "video.stored", "video.stored: its files are stored here"
    SEQUENCE_STORED = "sequence.stored", "sequence.stored: its stitched video is stored"
    APPROVAL_REQUESTED = "approval.requested", "approval.requested: it waits for a reviewer"


class WebhookEndpoint(models.Model):
    """Where we POST events, signed as Standard Webhooks with ``secret``."""

    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="Event types to send (empty: all of them)")
    secret = models.CharField(max_length=100, help_text="whsec_… (give it to the receiver to verify signatures)")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="sora_webhook_endpoints")
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    paused_at = models.DateTimeField(null=True, blank=True, help_text="Set when it kept failing; clear to resume")
    failures_in_a_row = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "outbound webhook endpoint"
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        """Subscribed to ``event_type`` (no events listed: all of them)."""
        return not self.events or event_type in self.events


class WebhookDelivery(models.Model):
    """One event for one endpoint: its id stays the same on every retry."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=64, db_index=True)
    event_type = models.CharField(max_length=40, choices=OutboundEvent.choices)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    gave_up_at = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response = models.TextField(blank=True, help_text="The first 2,000 characters of the last answer, or the error")

    class Meta:
        verbose_name = "outbound webhook delivery"
        verbose_name_plural = "outbound webhook deliveries"
        ordering = ["-created_at", "-id"]
