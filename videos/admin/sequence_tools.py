"""What the sequence admin's pages and actions share: links, the stitch and retry rules they show."""
from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .. import policy, sequences
from ..exceptions import JobStateError
from ..models import (
    Sequence,
    SequenceShot,
)
from ..sequences import BAD
from .common import (
    asset_url,
    money,
)


def sequence_asset_url(asset: Any, *, download: bool = False) -> str | None:
    return asset_url(asset, download=download, route="videos:sequence_asset")


def job_admin_link(job: Any) -> str:
    return format_html('<a href="{}">job #{}</a>', reverse("admin:sora_videos_videojob_change", args=[job.pk]), job.pk)


def shot_is_bad(shot: SequenceShot) -> bool:
    return shot.job is None or shot.job.status in BAD


def stitch_refusal(sequence: Sequence, shots: list[SequenceShot]) -> str:
    """Why the sequence cannot be stitched now ("" when it can): :func:`videos.policy.stitch_refusal`'s words."""
    refusal = policy.stitch_refusal(sequence, shots)
    return refusal.message if refusal else ""


def request_stitch(sequence: Sequence) -> str:
    """The admin's "Stitch again": :func:`videos.sequences.request_stitch`, in the admin's words."""
    try:
        sequences.request_stitch(sequence)
    except JobStateError as exc:
        raise JobStateError(f"Not stitched: {exc}.") from None
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
