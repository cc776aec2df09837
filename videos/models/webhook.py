from __future__ import annotations

from django.db import models
from django.db.models import Q


class WebhookEvent(models.Model):
    """A provider webhook delivery, stored before it is processed (once per event id)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    provider = models.CharField(max_length=64)
    event_id = models.CharField(max_length=255, help_text="The webhook-id header (one per event, kept across retries)")
    type = models.CharField(max_length=100)
    video_id = models.CharField(max_length=255, blank=True, db_index=True)
    payload = models.JSONField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    message = models.TextField(blank=True)
    deliveries = models.PositiveIntegerField(default=1)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="sora_webhook_event_once")]
        indexes = [
            models.Index(fields=["received_at"], name="sora_webhook_received"),  # admin order, dates
            # the few events still waiting for their task (the sweep looks for them between passes)
            models.Index(fields=["provider", "received_at"], name="sora_webhook_pending",
                         condition=Q(outcome="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.video_id} ({self.outcome})"
