from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ShareLinkQuerySet(models.QuerySet):
    def live(self) -> ShareLinkQuerySet:
        """Neither revoked nor expired: the links that open."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ShareLink(models.Model):
    """A link that shows one video (or a collection's) to anyone who has it, signed out, until it
    expires or is revoked.

    The token is a random secret (it is the whole credential, so it is long and never
    guessable); the public page shows the player and a download button and nothing else.
    """

    token = models.CharField(max_length=64, unique=True)
    job = models.ForeignKey("sora_videos.VideoJob", null=True, blank=True, on_delete=models.CASCADE,
                            related_name="share_links")
    collection = models.ForeignKey("sora_videos.Collection", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="share_links")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="sora_share_links")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    views = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["job", "-created_at"], name="sora_share_job")]
        constraints = [models.CheckConstraint(
            condition=models.Q(job__isnull=False, collection__isnull=True) | models.Q(job__isnull=True,
                                                                                    collection__isnull=False),
            name="sora_share_one_thing")]

    def __str__(self) -> str:
        what = f"job {self.job_id}" if self.job_id else f"collection {self.collection_id}"
        return f"Share link of {what} until {self.expires_at:%Y-%m-%d %H:%M}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
