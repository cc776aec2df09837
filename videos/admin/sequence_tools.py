"""What the sequence admin's pages and actions share: links, the stitch and retry rules they show."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from .. import sequences
from ..exceptions import JobStateError
from ..models import (
    JobStatus,
    Sequence,
    SequenceShot,
    SequenceStatus,
)
from ..queue import enqueue
from ..sequences import BAD
from .common import (
    money,
)

ACTIVE = (SequenceStatus.RENDERING, SequenceStatus.STITCHING)
APPLY = "apply"
_SHOT_ERROR = re.compile(r"^Shot (\d+): (.*)$", re.S)


def sequence_asset_url(asset: Any, *, download: bool = False) -> str | None:
    if asset is None:
        return None
    try:
        url = reverse("videos:sequence_asset", args=[asset.pk])
    except NoReverseMatch:
        return None
    return url + "?download=1" if download else url


def job_admin_link(job: Any) -> str:
    return format_html('<a href="{}">job #{}</a>', reverse("admin:videos_videojob_change", args=[job.pk]), job.pk)


def shot_is_bad(shot: SequenceShot) -> bool:
    return shot.job is None or shot.job.status in BAD


def stitch_refusal(sequence: Sequence, shots: list[SequenceShot]) -> str:
    """Why the sequence cannot be stitched now ("" when it can)."""
    waiting = [s for s in shots if s.job is None or s.job.status != JobStatus.COMPLETED]
    if not shots:
        return "it has no shots"
    if waiting:
        listing = ", ".join(
            f"{s.position} ({s.job.get_status_display().lower() if s.job else 'no job'})" for s in waiting)
        return f"shot{'s' if len(waiting) > 1 else ''} {listing} {'are' if len(waiting) > 1 else 'is'} not completed"
    stale = timezone.now() - dt.timedelta(seconds=sequences.STITCH_STALE)
    started = sequence.stitch_started_at
    if sequence.status == SequenceStatus.STITCHING and started is not None and started > stale:
        return "it is being stitched right now"
    return ""


def request_stitch(sequence: Sequence) -> str:
    """Queue a stitch of the shots as they are now (again, if already stitched)."""
    refusal = stitch_refusal(sequence, sequences.shots_of(sequence))
    if refusal:
        raise JobStateError(f"Not stitched: {refusal}.")
    enqueue("videos.tasks.stitch_sequence", sequence.pk, True)
    return "stitching is queued; a worker joins the shots and stores the result (reload to see it)."


def retry_bad_shots(sequence: Sequence, user: Any) -> str:
    bad = [s for s in sequences.shots_of(sequence) if shot_is_bad(s)]
    if not bad:
        raise JobStateError("No shot needs a retry (none failed, needs attention or lost its job).")
    done = []
    for shot in bad:
        new = sequences.retry_shot(sequence, shot.position, user=user)
        done.append(format_html("shot {} as {} ({})", shot.position, job_admin_link(new.job),
                                money(new.job.estimated_cost)))
    return format_html("retried {}.", format_html_join(", ", "{}", ((d,) for d in done)))
