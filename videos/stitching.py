"""Stitching a sequence: its shots' MP4s joined into one, stored under per-revision keys.

Claimed once per revision (``claim_stitch`` with a token), so two workers never stitch the
same revision; a superseded stitch never overwrites the current one. Queued by
:mod:`videos.sequences` when every shot is stored, and by the admin's "Stitch again".
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import uuid
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from . import media, storage
from .models import AssetVariant, JobStatus, Sequence, SequenceAsset, SequenceShot, SequenceStatus
from .policy import STITCH_STALE
from .queue import enqueue
from .sequences import ready_to_stitch, shots_of, update_status
from .signals import sequence_stored

log = logging.getLogger(__name__)

# --- stitching -----------------------------------------------------------------------------
def _frame_rate(paths: list[str]) -> int:
    """The highest frame rate among the clips (24 when none says), so no clip loses frames."""
    import av

    rates = []
    for path in paths:
        try:
            with av.open(path) as container:
                rate = container.streams.video[0].average_rate
                if rate:
                    rates.append(float(rate))
        except (av.FFmpegError, IndexError, OSError):
            continue
    return max(1, min(60, round(max(rates)))) if rates else 24


def _copy_local(field_file: Any, suffix: str) -> str:
    """A temp copy of a stored file (works for any storage backend)."""
    tmp = storage.temp_file(suffix)
    try:
        with tmp, field_file.open("rb") as src:
            shutil.copyfileobj(src, tmp, 1024 * 1024)
    except BaseException:
        os.unlink(tmp.name)
        raise
    finally:
        field_file.close()
    return tmp.name


def _sha256(path: str) -> tuple[str, int]:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest(), os.path.getsize(path)


#: A stitch not begun this long after the last shot was stored had its task lost.
LOST_AFTER = dt.timedelta(seconds=30)


def requeue_lost(provider_name: str) -> int:
    """Queue the stitch of sequences whose task never ran or whose worker died: every shot
    stored more than :data:`LOST_AFTER` ago and no stitch begun (the broker was down when
    the last shot was stored), or a stitching claim older than ``STITCH_STALE``. One query."""
    now = timezone.now()
    unfinished = SequenceShot.objects.filter(sequence=OuterRef("pk")).exclude(job__status=JobStatus.COMPLETED)
    recent = SequenceShot.objects.filter(sequence=OuterRef("pk"), job__stored_at__gte=now - LOST_AFTER)
    shots = SequenceShot.objects.filter(sequence=OuterRef("pk"))
    lost = Sequence.objects.filter(provider=provider_name).filter(
        Q(status=SequenceStatus.RENDERING)
        | Q(status=SequenceStatus.STITCHING, stitch_started_at__lt=now - dt.timedelta(seconds=STITCH_STALE))
    ).filter(Exists(shots), ~Exists(unfinished), ~Exists(recent))
    ids = list(lost.order_by("pk").values_list("pk", flat=True)[:50])
    for sequence_id in ids:
        enqueue("videos.tasks.stitch_sequence", sequence_id)  # idempotent: one claim wins
    return len(ids)


def claim_stitch(sequence: Sequence, *, force: bool = False) -> str | None:
    """Take the stitching of ``sequence`` as it is now; the claim token, or None.

    None when another worker holds a live claim, a shot changed meanwhile (revision), or
    a shot is not completed: all checked by the one conditional UPDATE.
    """
    now = timezone.now()
    stale = now - dt.timedelta(seconds=STITCH_STALE)
    claimable = Q(status__in=(SequenceStatus.RENDERING, SequenceStatus.NEEDS_ATTENTION, SequenceStatus.FAILED)) | Q(
        status=SequenceStatus.STITCHING, stitch_started_at__lt=stale
    )
    if force:
        claimable |= Q(status=SequenceStatus.COMPLETED)
    unfinished = SequenceShot.objects.filter(sequence=OuterRef("pk")).exclude(job__status=JobStatus.COMPLETED)
    token = uuid.uuid4().hex
    won = Sequence.objects.filter(claimable, ~Exists(unfinished), pk=sequence.pk, revision=sequence.revision).update(
        status=SequenceStatus.STITCHING, stitch_token=token, stitch_started_at=now, error_message="", updated_at=now
    )
    return token if won else None


def stitch(sequence_id: int, *, force: bool = False) -> Sequence | None:
    """The ``stitch_sequence`` task body: join the shots once they are all stored.

    Idempotent: nothing happens unless every shot is completed and the stored video is
    not already the stitch of these shots (``force`` stitches again anyway). Safe if two
    workers race: only the claim's winner stitches.
    """
    sequence = Sequence.objects.filter(pk=sequence_id).first()
    if sequence is None:
        return None
    shots = shots_of(sequence)
    if not ready_to_stitch(shots):
        return update_status(sequence)
    if sequence.is_current and not force:
        return sequence
    token = claim_stitch(sequence, force=force)
    if token is None:
        sequence.refresh_from_db()
        return sequence
    revision = sequence.revision
    temps: list[str] = []
    try:
        clips = []
        expected = 0.0
        for shot in shots:
            asset = shot.job.assets.filter(variant=AssetVariant.VIDEO).first()
            if asset is None:
                raise media.MediaError(f"shot {shot.position} (job {shot.job.pk}) has no stored video")
            clips.append(_copy_local(asset.file, ".mp4"))
            temps.append(clips[-1])
            expected += asset.duration or media.probe(clips[-1]).duration
        out = storage.temp_file(".mp4")
        out.close()
        temps.append(out.name)
        info = media.stitch(clips, out.name, fps=_frame_rate(clips))
        if abs(info.duration - expected) > max(0.5, expected * 0.05):
            raise media.MediaError(f"the stitched video lasts {info.duration:.2f} s instead of {expected:.2f} s")
        files: dict[str, tuple[str, dict[str, Any]]] = {
            "video": (out.name, {"width": info.width, "height": info.height, "duration": info.duration})
        }
        for variant, make, suffix in (("thumbnail", media.make_thumbnail, ".webp"),
                                      ("spritesheet", media.make_spritesheet, ".jpg")):
            tmp = storage.temp_file(suffix)
            tmp.close()
            temps.append(tmp.name)
            make(out.name, tmp.name)
            width, height = media.check_image_file(tmp.name, "WEBP" if variant == "thumbnail" else "JPEG")
            files[variant] = (tmp.name, {"width": width, "height": height, "duration": None})
        hashes = {variant: _sha256(path) for variant, (path, _) in files.items()}
        keys = {variant: storage.store_file(storage.sequence_key(sequence.uuid, variant, revision), path)
                for variant, (path, _) in files.items()}
        previous = set(sequence.assets.values_list("file", flat=True))
        now = timezone.now()
        with transaction.atomic():
            won = Sequence.objects.filter(
                pk=sequence.pk, status=SequenceStatus.STITCHING, stitch_token=token, revision=revision
            ).update(status=SequenceStatus.COMPLETED, stitched_revision=revision, stitched_at=now,
                     duration=info.duration, stitch_token="", error_message="", updated_at=now)
            if won:
                for variant, (_, meta) in files.items():
                    sha, size = hashes[variant]
                    SequenceAsset.objects.update_or_create(
                        sequence=sequence, variant=variant,
                        defaults={"file": keys[variant], "bytes": size, "sha256": sha,
                                  "content_type": storage.CONTENT_TYPES[variant], **meta},
                    )
                transaction.on_commit(lambda: sequence_stored.send(sender=Sequence, sequence=sequence))
        if not won:
            log.info("stitch of sequence %s (revision %s) superseded; not recorded", sequence.pk, revision)
            previous = set()
        for stale_key in (previous | set(keys.values())) - set(
            SequenceAsset.objects.filter(sequence_id=sequence.pk).values_list("file", flat=True)
        ):
            storage.delete_key(stale_key)  # a superseded stitch's files, or the previous revision's
    except Exception as exc:
        expected_kind = isinstance(exc, (media.MediaError, OSError))
        if not expected_kind:
            log.exception("stitching sequence %s failed", sequence.pk)
        Sequence.objects.filter(pk=sequence.pk, status=SequenceStatus.STITCHING, stitch_token=token).update(
            status=SequenceStatus.FAILED, stitch_token="", updated_at=timezone.now(),
            error_message=f"Stitching failed ({exc}).",
        )
        if not expected_kind:
            raise
    finally:
        for path in temps:
            if os.path.exists(path):
                os.unlink(path)
    sequence.refresh_from_db()
    return sequence


