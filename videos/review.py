"""The team's word on finished videos: a verdict (approved for use / needs changes), 1-5
ratings, comments, tags, favourites and named collections.

Anyone who may see a video may rate it, comment on it, tag it, keep it as a favourite and
put it in a collection; the verdict is for reviewers and managers; a comment is edited or
deleted by its author only. Every refusal is a typed :class:`~videos.exceptions.NotPermitted`
or :class:`~videos.exceptions.InvalidRequest` with words for the person.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Avg
from django.utils import timezone

from . import permissions, policy, visibility
from .exceptions import InvalidRequest, NotPermitted
from .models import Collection, Comment, Favourite, JobStatus, Rating, ReviewStatus, VideoJob

MAX_TAGS = 20
MAX_TAG_LENGTH = 50


def _finished(job: VideoJob) -> None:
    if job.status != JobStatus.COMPLETED:
        raise InvalidRequest("Only a finished video can be reviewed.", field="job")


def may_judge(user: Any) -> bool:
    return bool(user.is_active and (user.has_perm(permissions.APPROVE) or policy.manages(user)))


def set_verdict(job: VideoJob, user: Any, status: str) -> VideoJob:
    """Approve the video for use, ask for changes, or clear the verdict ("")."""
    if not may_judge(user):
        raise NotPermitted("Only a reviewer or a video manager gives a video its verdict.")
    if status not in ReviewStatus.values:
        raise InvalidRequest("Choose approved for use or needs changes.", field="review_status")
    _finished(job)
    job.review_status, job.reviewed_by, job.reviewed_at = status, (user if status else None), (
        timezone.now() if status else None)
    job.save(update_fields=["review_status", "reviewed_by", "reviewed_at"])
    return job


def rate(job: VideoJob, user: Any, stars: Any) -> float:
    """Give (or change) one's 1-5 stars; returns the new average, kept on the job for filtering."""
    try:
        stars = int(stars)
    except (TypeError, ValueError):
        stars = 0
    if not 1 <= stars <= 5:
        raise InvalidRequest("A rating is 1 to 5 stars.", field="stars")
    _finished(job)
    with transaction.atomic():
        Rating.objects.update_or_create(job=job, user=user, defaults={"stars": stars, "rated_at": timezone.now()})
        average = Rating.objects.filter(job=job).aggregate(avg=Avg("stars"))["avg"]
        VideoJob.objects.filter(pk=job.pk).update(rating=average)
    job.rating = average
    return average


def _text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidRequest("Write something first.", field="text")
    if len(text) > 4000:
        raise InvalidRequest("A comment is at most 4000 characters.", field="text")
    return text


def comment(job: VideoJob, user: Any, text: str) -> Comment:
    return Comment.objects.create(job=job, author=user, text=_text(text))


def _own(found: Comment, user: Any) -> None:
    if found.author_id != user.pk:
        raise NotPermitted("Only its author edits or deletes a comment.")


def edit_comment(found: Comment, user: Any, text: str) -> Comment:
    _own(found, user)
    found.text, found.edited_at = _text(text), timezone.now()
    found.save(update_fields=["text", "edited_at"])
    return found


def delete_comment(found: Comment, user: Any) -> None:
    _own(found, user)
    found.delete()


def set_tags(job: VideoJob, user: Any, text: str) -> list[str]:
    """Replace the video's tags with a comma-separated list (case kept, duplicates dropped)."""
    names: list[str] = []
    for raw in (text or "").split(","):
        name = " ".join(raw.split())
        if name and name.lower() not in {n.lower() for n in names}:
            if len(name) > MAX_TAG_LENGTH:
                raise InvalidRequest(f"A tag is at most {MAX_TAG_LENGTH} characters: {name[:20]}…", field="tags")
            names.append(name)
    if len(names) > MAX_TAGS:
        raise InvalidRequest(f"At most {MAX_TAGS} tags on one video.", field="tags")
    job.tags.set(names, clear=True)
    return names


def toggle_favourite(job: VideoJob, user: Any) -> bool:
    """Keep or drop the video among one's favourites; True when it is one now."""
    found, created = Favourite.objects.get_or_create(job=job, user=user)
    if not created:
        found.delete()
    return created


def collect(job: VideoJob, user: Any, name: str) -> Collection:
    """Put the video in the collection of that name (made on first use)."""
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise InvalidRequest("Name the collection (at most 120 characters).", field="collection")
    collection, _ = Collection.objects.get_or_create(name=name, defaults={"owner": user})
    collection.jobs.add(job)
    return collection


def uncollect(job: VideoJob, collection: Collection) -> None:
    collection.jobs.remove(job)


def stored_jobs(collection: Collection, user: Any) -> Any:
    """The collection's stored videos that ``user`` may see, newest first (None: all of them):
    what its export holds and what its share link shows."""
    jobs = collection.jobs.filter(status=JobStatus.COMPLETED, stored_at__isnull=False).order_by("-created_at")
    return visibility.scope(jobs, user) if user is not None else jobs
