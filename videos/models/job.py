from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from taggit.managers import TaggableManager

from ..signals import job_status_changed
from .review import ReviewStatus


class JobKind(models.TextChoices):
    CREATE = "create", "Create"
    REMIX = "remix", "Remix"
    EDIT = "edit", "Edit"
    EXTEND = "extend", "Extension"


class JobStatus(models.TextChoices):
    """Local states. Remote statuses map onto these; unknown remote ones mean 'still working'."""

    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"  # costs more than APPROVAL_ABOVE: a reviewer decides
    PENDING = "pending", "Pending"  # validated, waiting for a worker to submit it
    SUBMITTING = "submitting", "Submitting"  # a worker claimed it and is calling create
    QUEUED = "queued", "Queued"
    IN_PROGRESS = "in_progress", "In progress"
    DOWNLOADING = "downloading", "Downloading"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"
    DELETED = "deleted", "Deleted"

    @classmethod
    def in_flight(cls) -> tuple[str, ...]:
        """Created at the provider and not yet finished there."""
        return (cls.QUEUED, cls.IN_PROGRESS)

    @classmethod
    def active(cls) -> tuple[str, ...]:
        """Still moving without anyone's help."""
        return (cls.PENDING, cls.SUBMITTING, cls.QUEUED, cls.IN_PROGRESS, cls.DOWNLOADING)

    @classmethod
    def final(cls) -> tuple[str, ...]:
        return (cls.COMPLETED, cls.FAILED, cls.DELETED)


class JobError(models.TextChoices):
    """Our own ``error_code`` values; a provider's codes (``moderation_blocked``, ...) are kept as it sent them."""

    NO_ANSWER = "no_answer", "No clear answer to the create request"
    CREATE_UNVERIFIED = "create_unverified", "Refused, and the provider's list could not confirm it"
    CREATE_UNCONFIRMED = "create_unconfirmed", "Not confirmed at the provider"
    FORGOTTEN = "forgotten", "The server forgot this video"
    CONTENT_EXPIRED = "content_expired", "Expired before it was stored"
    DOWNLOAD_FAILED = "download_failed", "The download kept failing"
    DOWNLOAD_RETRY = "download_retry", "The download is being retried"
    REJECTED = "rejected", "Rejected by a reviewer"
    STALLED = "stalled", "No news from the provider"


def forgotten_message(reason: object) -> str:
    """What a forgotten job says happened; each surface adds what to do (:mod:`videos.advice`)."""
    return (f"The server no longer knows this video: it restarted or cleaned up before we stored it ({reason}). "
            "Nothing is sent again automatically (that would pay again).")


class VideoJobQuerySet(models.QuerySet):
    def visible(self) -> VideoJobQuerySet:
        return self.exclude(status__in=(JobStatus.DELETED, JobStatus.DRAFT))

    def for_gallery(self) -> VideoJobQuerySet:
        return self.visible().select_related("owner", "parent")


class VideoJob(models.Model):
    """One generation at one provider: a local mirror of the remote video object.

    The local primary key and ``uuid`` exist before the remote id does; the remote id is
    unique per provider, so a remote video can never be adopted by two jobs.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=100)
    size = models.CharField(max_length=20)
    seconds = models.PositiveSmallIntegerField(help_text="Requested clip length (for an extension: the added segment)")
    prompt_text = models.TextField("prompt as sent")
    prompt = models.ForeignKey("Prompt", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    reference_image = models.ForeignKey(
        "ReferenceImage", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    extra_params = models.JSONField(default=dict, blank=True, help_text="Provider-specific fields such as seed")
    kind = models.CharField(max_length=10, choices=JobKind.choices, default=JobKind.CREATE)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")

    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True)
    remote_id = models.CharField(max_length=255, null=True, blank=True)
    remote_status = models.CharField(max_length=50, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    remote_payload = models.JSONField(default=dict, blank=True)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="sora_jobs"
    )
    estimated_cost = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"))

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    submit_started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker last claimed it")
    submitted_at = models.DateTimeField(null=True, blank=True, help_text="When the provider accepted it")
    completed_at = models.DateTimeField(null=True, blank=True)
    stored_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When the provider drops the content")

    submit_attempts = models.PositiveSmallIntegerField(default=0)
    download_attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True, help_text="Next attempt no earlier than this")
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    last_news_at = models.DateTimeField(null=True, blank=True, help_text="Last time the remote state changed")
    download_heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Set while a worker downloads (or hashes) the files"
    )
    reference_fit = models.CharField(
        max_length=10, default="crop", help_text="How a reference image of another size is fitted: crop or letterbox"
    )

    objects = VideoJobQuerySet.as_manager()

    project = models.ForeignKey("sora_videos.Project", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="jobs")

    # --- what the team says about it (videos.review) ---------------------------------
    review_status = models.CharField(max_length=10, choices=ReviewStatus.choices, blank=True, default="",
                                     db_index=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    rating = models.FloatField(null=True, blank=True, help_text="The average of the team's 1-5 ratings")
    tags = TaggableManager(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("submit_videojob", "Can submit video jobs (spends money)"),
            ("manage_videojob", "Can act on anyone's video jobs and see everyone's spend"),
            ("approve_videojob", "Can approve or reject video jobs that wait for approval"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "remote_id"],
                condition=models.Q(remote_id__isnull=False),
                name="sora_job_remote_id_unique_per_provider",
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_check_at"], name="sora_job_sweep"),
            models.Index(fields=["provider", "status"], name="sora_job_provider_status"),
            models.Index(fields=["status", "-created_at"], name="sora_job_gallery"),
            models.Index(fields=["owner", "-created_at"], name="sora_job_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.remote_id or self.uuid} ({self.get_status_display()})"

    # --- derived ---------------------------------------------------------------------
    @property
    def width(self) -> int:
        return int(self.size.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.size.split("x")[1])

    @property
    def is_active(self) -> bool:
        return self.status in JobStatus.active()

    @property
    def note(self) -> str:
        """Why an unfinished job waits (a failed attempt and its next try, a provider's limit),
        for the pages beside its progress; empty when nothing is wrong."""
        return self.error_message if self.is_active else ""

    @property
    def percent(self) -> int:
        """The one progress figure every surface shows (0-100).

        ``progress`` is the provider's raw number; 100 is kept for a stored file, so a
        provider's 100 shows 98 until the download starts and 99 while it runs. A job
        that is not moving (draft, failed, cancelled, needs attention) shows 0.
        """
        if self.status == JobStatus.COMPLETED:
            return 100
        if self.status == JobStatus.DOWNLOADING:
            return 99
        if self.status in JobStatus.in_flight():
            return max(0, min(98, int(self.progress or 0)))
        return 0

    @property
    def requested_length(self) -> str:
        """What was asked for: "4 s", or "+4 s" for an extension (the added seconds; its video
        is the source's length plus these), so the admin and the gallery say the same."""
        return f"+{self.seconds} s" if self.kind == JobKind.EXTEND else f"{self.seconds} s"

    @property
    def short_prompt(self) -> str:
        text = " ".join(self.prompt_text.split())
        return text if len(text) <= 80 else text[:77] + "..."

    # --- state changes ---------------------------------------------------------------
    def transition(
        self,
        to: str,
        *,
        expect: tuple[str, ...] | None = None,
        message: str = "",
        **fields: Any,
    ) -> bool:
        """Move to status ``to`` with a conditional update; ``False`` if another worker won.

        ``expect`` are the statuses the job must be in (default: the status this instance
        has). The row is the source of truth: the update only applies where it still
        holds, so concurrent workers never both act. Records history and sends
        ``job_status_changed`` after commit.
        """
        expect = expect or (self.status,)
        old = self.status
        now = timezone.now()
        fields.setdefault("updated_at", now)
        # no savepoint inside a caller's transaction: the two writes stand or fall with it (a
        # caller that catches an error does so outside its own atomic block)
        with transaction.atomic(savepoint=False):
            updated = VideoJob.objects.filter(pk=self.pk, status__in=expect).update(status=to, **fields)
            if not updated:
                return False
            current_old = old if old in expect else ""
            if current_old != to or message:
                VideoJobEvent.objects.create(job_id=self.pk, from_status=current_old, to_status=to, message=message)
        for name, value in fields.items():
            setattr(self, name, value)
        self.status = to
        if old != to:
            transaction.on_commit(
                lambda: job_status_changed.send(sender=VideoJob, job=self, old_status=old, new_status=to)
            )
        return True

    def forget(self, reason: object, *, expect: tuple[str, ...], **fields: Any) -> bool:
        """End a job its server no longer knows (a 404 after a restart or a file TTL).

        Failed with ``JobError.FORGOTTEN``, never polled or sent again by itself: re-sending
        would pay again, so re-submitting is left to a person.
        """
        return self.transition(JobStatus.FAILED, expect=expect, error_code=JobError.FORGOTTEN,
                               error_message=forgotten_message(reason), **fields)

    def update_fields(self, **fields: Any) -> None:
        """Write fields that are not a status change, without touching the rest of the row."""
        fields.setdefault("updated_at", timezone.now())
        VideoJob.objects.filter(pk=self.pk).update(**fields)
        for name, value in fields.items():
            setattr(self, name, value)


class VideoJobEvent(models.Model):
    """Status history of a job, for operators."""

    job = models.ForeignKey(VideoJob, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=20, choices=JobStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=JobStatus.choices)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["job", "at"])]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"
