from __future__ import annotations

from django.conf import settings
from django.db import models

from ..storage import get_storage, reference_upload_to


class ReferenceImage(models.Model):
    """An uploaded first-frame image, stored as validated (EXIF orientation applied)."""

    # width/height are set from the checked image, not by ImageField (which would reopen the file)
    image = models.ImageField(upload_to=reference_upload_to, storage=get_storage)
    original_name = models.CharField(max_length=255, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    format = models.CharField(max_length=10, help_text="JPEG, PNG or WEBP")
    sha256 = models.CharField(max_length=64, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="sora_reference_images"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], name="sora_refimage_created")]  # admin order, dates

    def __str__(self) -> str:
        return f"{self.original_name or self.image.name} ({self.width}x{self.height})"

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"
