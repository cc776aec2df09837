"""Multi-shot sequences: ordered shots, each rendered by a job, stitched into one MP4.

The guides advise short clips ("longer sequences can be built by generating multiple
clips and editing"), so a sequence is a list of shots in the order the camera should
follow. Each shot points at the :class:`~videos.models.VideoJob` that renders it;
retrying or replacing a shot points it at a new job and leaves the others alone. When
every shot's video is stored, :mod:`videos.sequences` stitches them (a conditional-update
claim, so two workers never both do it) and stores the result as :class:`SequenceAsset`
rows under ``storage.sequence_key(uuid, variant)``.
"""
from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..storage import get_storage, sequence_key
from .asset import StoredFile


class SequenceStatus(models.TextChoices):
    RENDERING = "rendering", "Rendering shots"
    STITCHING = "stitching", "Stitching"
    COMPLETED = "completed", "Completed"
    NEEDS_ATTENTION = "needs_attention", "A shot needs attention"  # retry or replace it
    FAILED = "failed", "Stitching failed"  # stitch again

    @classmethod
    def active(cls) -> tuple[str, ...]:
        """Still moving without anyone's help (shots rendering, or the stitch running)."""
        return (cls.RENDERING, cls.STITCHING)


class Sequence(models.Model):
    """A longer video made of several shots (clips) of one provider, model and size."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="sora_sequences"
    )
    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=100)
    size = models.CharField(max_length=20)
    extra_params = models.JSONField(default=dict, blank=True, help_text="Sent with every shot (e.g. seed)")
    reference_fit = models.CharField(max_length=10, default="crop")

    status = models.CharField(
        max_length=20, choices=SequenceStatus.choices, default=SequenceStatus.RENDERING, db_index=True
    )
    error_message = models.TextField(blank=True)
    revision = models.PositiveIntegerField(default=0, help_text="Bumped whenever a shot is re-pointed to a new job")
    stitched_revision = models.PositiveIntegerField(null=True, blank=True, help_text="The revision last stitched")
    stitch_token = models.CharField(max_length=32, blank=True, help_text="Who holds the stitching claim")
    stitch_started_at = models.DateTimeField(null=True, blank=True)
    stitched_at = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds of the stitched video")

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    project = models.ForeignKey("sora_videos.Project", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="sequences")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="sora_sequence_owner")]

    def __str__(self) -> str:
        return self.title or f"Sequence {self.pk or self.uuid}"

    @property
    def is_current(self) -> bool:
        """True when the stored video is the stitch of the shots as they are now."""
        return self.status == SequenceStatus.COMPLETED and self.stitched_revision == self.revision


class SequenceShot(models.Model):
    """One shot of a sequence, in ``position`` order (1 first)."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="shots")
    position = models.PositiveSmallIntegerField()
    prompt_text = models.TextField()
    reference_image = models.ForeignKey(
        "ReferenceImage", null=True, blank=True, on_delete=models.SET_NULL, related_name="sequence_shots"
    )
    seconds = models.PositiveSmallIntegerField()
    job = models.ForeignKey(
        "VideoJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="sequence_shots",
        help_text="The job rendering this shot now (earlier attempts stay as jobs of their own)",
    )
    attempts = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sequence", "position"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "position"], name="sora_shot_one_per_position")
        ]

    def __str__(self) -> str:
        return f"Shot {self.position} of {self.sequence}"


def sequence_asset_upload_to(instance: Any, filename: str) -> str:
    return sequence_key(instance.sequence.uuid, instance.variant)


class SequenceAsset(StoredFile):
    """A file of a stitched sequence: the MP4, its thumbnail or its spritesheet."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="assets")
    file = models.FileField(upload_to=sequence_asset_upload_to, storage=get_storage, max_length=500)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sequence", "variant"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "variant"], name="sora_sequence_asset_one_per_variant")
        ]

    def __str__(self) -> str:
        return f"{self.get_variant_display()} of {self.sequence}"
