from __future__ import annotations

from django.db import models

from ..storage import asset_upload_to, get_storage


class AssetVariant(models.TextChoices):
    VIDEO = "video", "Video (MP4)"
    THUMBNAIL = "thumbnail", "Thumbnail (WebP)"
    SPRITESHEET = "spritesheet", "Spritesheet (JPEG)"


class StoredFile(models.Model):
    """What every file we keep has, a job's or a stitched sequence's: one shape, one store path
    (``storage.store_file`` under a deterministic key, then the row)."""

    variant = models.CharField(max_length=20, choices=AssetVariant.choices)
    bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, help_text="Blank until computed, just after storing")
    content_type = models.CharField(max_length=100)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds (video only)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class VideoAsset(StoredFile):
    """A file we keep of a job: stored whole and checked, under a deterministic key."""

    job = models.ForeignKey("VideoJob", on_delete=models.CASCADE, related_name="assets")
    file = models.FileField(upload_to=asset_upload_to, storage=get_storage, max_length=500)
    derived = models.BooleanField(default=False, help_text="Made locally from the MP4 (the provider did not serve it)")

    class Meta:
        ordering = ["job", "variant"]
        constraints = [models.UniqueConstraint(fields=["job", "variant"], name="sora_asset_one_per_variant")]
        indexes = [
            models.Index(fields=["created_at"], name="sora_asset_created"),  # admin order and date hierarchy
            # the few assets still waiting for their SHA-256 (DOWNLOAD_SHA256 "deferred"), found by each sweep
            models.Index(fields=["created_at"], condition=models.Q(sha256=""), name="sora_asset_unhashed"),
        ]

    def __str__(self) -> str:
        return f"{self.get_variant_display()} of {self.job_id}"
