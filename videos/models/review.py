"""What the team says about finished videos: a verdict, ratings, comments, favourites and
named collections (tags are django-taggit's, on the job)."""
from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


class ReviewStatus(models.TextChoices):
    UNREVIEWED = "", "Not reviewed"
    APPROVED = "approved", "Approved for use"
    CHANGES = "changes", "Needs changes"


class Rating(models.Model):
    """One person's 1-5 stars for one video (the gallery shows and filters by the average)."""

    job = models.ForeignKey("sora_videos.VideoJob", on_delete=models.CASCADE, related_name="ratings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sora_ratings")
    stars = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    rated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "user"], name="sora_rating_once")]


class Comment(models.Model):
    """Who said what about a video, when; edited or deleted by its author only."""

    job = models.ForeignKey("sora_videos.VideoJob", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="sora_comments")
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["job", "created_at"], name="sora_comment_job")]


class Favourite(models.Model):
    job = models.ForeignKey("sora_videos.VideoJob", on_delete=models.CASCADE, related_name="favourites")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sora_favourites")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "user"], name="sora_favourite_once")]


class Collection(models.Model):
    """A named set of videos the team keeps together (a campaign, a client, a best-of)."""

    name = models.CharField(max_length=120, unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="sora_collections")
    created_at = models.DateTimeField(default=timezone.now)
    jobs = models.ManyToManyField("sora_videos.VideoJob", related_name="collections", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
