"""Share links: one video (or a collection's videos) shown to anyone who has the link, signed
out, for a while.

A link is a random 32-byte token (the whole credential), with an expiry (at most
``MAX_DAYS``), a view count and a revoke. An expired or revoked link is a plain 404, the
same as one that never existed. The public page's files go through the same media views as
the gallery's: a local file streamed, on S3 a short-lived signed URL.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from django.db.models import F
from django.utils import timezone

from . import policy, review
from .exceptions import InvalidRequest, NotPermitted
from .models import Collection, ShareLink, VideoJob
from .policy import Action

DEFAULT_EXPIRY = "7d"
MAX_DAYS = 90
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expiry(text: str) -> dt.timedelta:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"2w"`` -> a timedelta (1 minute to ``MAX_DAYS`` days)."""
    found = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text or "")
    if not found:
        raise InvalidRequest(f"{text!r} is not a length of time: write e.g. 30m, 12h, 7d or 2w.", field="expires")
    delta = dt.timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    if not dt.timedelta(minutes=1) <= delta <= dt.timedelta(days=MAX_DAYS):
        raise InvalidRequest(f"A share link lasts from 1 minute to {MAX_DAYS} days.", field="expires")
    return delta


def create(job: VideoJob, *, user: Any = None, expires: str = DEFAULT_EXPIRY) -> ShareLink:
    """A new link to ``job`` (a person: :func:`videos.policy.refusal_for` decides; the CLI: the state)."""
    if user is not None and getattr(user, "is_authenticated", False):
        policy.require_for(user, Action.SHARE, job)
    else:
        policy.require(Action.SHARE, job)
    return ShareLink.objects.create(
        token=secrets.token_urlsafe(32), job=job, expires_at=timezone.now() + parse_expiry(expires),
        created_by=user if getattr(user, "pk", None) else None,
    )


def create_for_collection(collection: Collection, *, user: Any = None, expires: str = DEFAULT_EXPIRY) -> ShareLink:
    """A link to a collection's stored videos (its owner's or a manager's to give)."""
    if user is not None and getattr(user, "is_authenticated", False):
        if collection.owner_id != user.pk and not policy.manages(user):
            raise NotPermitted("Only the person who made this collection or a video manager may share it.")
    if not review.stored_jobs(collection, user).exists():
        raise InvalidRequest("The collection has no stored video to share yet.", field="collection")
    return ShareLink.objects.create(
        token=secrets.token_urlsafe(32), collection=collection, expires_at=timezone.now() + parse_expiry(expires),
        created_by=user if getattr(user, "pk", None) else None,
    )


def shown_jobs(link: ShareLink) -> list[VideoJob]:
    """What a live link shows: its video, or its collection's."""
    if link.job_id:
        return [link.job]
    return list(review.stored_jobs(link.collection, link.created_by).prefetch_related("assets"))


def revoke(link: ShareLink) -> ShareLink:
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
    return link


def open_link(token: str, *, count: bool = False) -> ShareLink | None:
    """The live link with this token (its video still shown), counting a view if asked; else None."""
    link = ShareLink.objects.live().select_related("job", "collection", "created_by").filter(token=token).first()
    if link is None or (link.job_id and not policy.allows(Action.SHARE, link.job)):
        return None
    if count:
        ShareLink.objects.filter(pk=link.pk).update(views=F("views") + 1, last_viewed_at=timezone.now())
    return link
