"""Downloading a finished video into storage, whole and checked, before it expires.

Each variant streams to a temporary file (memory stays flat whatever the size); the MP4
must probe to the job's size and duration and the previews must open as the images they
claim to be. Only then is each file moved under its deterministic key and the asset rows
written, in one transaction. A variant the provider does not serve is derived from the
MP4 with PyAV. Failures retry with backoff while ``expires_at`` allows.

The bytes travel through :mod:`videos.transfer`. Each asset's SHA-256 is computed while it
downloads or, for a big file on a local disk, just after it is stored, by its own task
(``DOWNLOAD_SHA256``): hashing runs at about half the speed a socket delivers on a fast
link, so doing it inline would hold back the moment a paid video is safe and visible
(bench/bench_download.py).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from . import capabilities, conf, media, storage, transfer
from .exceptions import ProviderError
from .models import AssetVariant, JobError, JobKind, JobStatus, SequenceShot, VideoAsset, VideoJob
from .providers import Provider, get_provider, transport
from .queue import enqueue
from .signals import job_stored

log = logging.getLogger(__name__)

SUFFIX = {"video": ".mp4", "thumbnail": ".webp", "spritesheet": ".jpg"}
IMAGE_FORMAT = {"thumbnail": "WEBP", "spritesheet": "JPEG"}


class DownloadError(Exception):
    """A download arrived broken (short, wrong format, wrong size or duration)."""


class VariantIgnored(DownloadError):
    """A preview request was answered with the video itself (the server ignores ``variant``)."""


@dataclass
class Fetched:
    variant: str
    path: str
    sha256: str
    bytes: int
    derived: bool = False
    width: int | None = None
    height: int | None = None
    duration: float | None = None


def _heartbeat(job: VideoJob) -> None:
    VideoJob.objects.filter(pk=job.pk).update(download_heartbeat_at=timezone.now())


#: ``DOWNLOAD_SHA256`` "auto" on a local disk hashes files up to this size while they download
#: (the hash overlaps the transfer and costs a few ms) and defers larger ones to a task.
AUTO_DEFER_ABOVE = 64 * 1024 * 1024


def defer_hash_above() -> int | None:
    """From ``DOWNLOAD_SHA256``: files larger than this many bytes are hashed after storing
    (0: every file; None: none, all are hashed while they download)."""
    mode = conf.get("DOWNLOAD_SHA256")
    if mode == "inline":
        return None
    if mode == "deferred":
        return 0
    return AUTO_DEFER_ABOVE if storage.is_local() else None  # to remote storage, hashing never holds back


def fetch(provider: Provider, job: VideoJob, variant: str, *, defer_above: int | None = None) -> Fetched:
    """Stream one variant to a temp file, hashing as it goes unless it is bigger than
    ``defer_above`` bytes (see :func:`defer_hash_above`); raise if it arrives short."""
    tmp = storage.temp_file(SUFFIX[variant], owner=job.uuid)
    hasher: transfer.Hasher | None = None
    received = 0
    try:
        with tmp, provider.open_content(job.remote_id, variant, model=job.model) as response:
            kind = response.headers.get("content-type", "")
            if variant != "video" and kind.startswith("video/"):  # closed before the body is read
                raise VariantIgnored(f"a {variant} request was answered with {kind}")
            expected = response.headers.get("content-length")
            chunk_size, tick = int(conf.get("DOWNLOAD_CHUNK_SIZE")), transfer.Every(5, lambda: _heartbeat(job))
            if _hash_now(defer_above, expected):
                hasher = transfer.Hasher(chunk_size, expected=_length(expected))
            readinto = transport.reader(response.http_response)
            if hasher is None and readinto is not None:
                received = transfer.copy_into(readinto, tmp, chunk_size=chunk_size, tick=tick)
            else:
                received = transfer.copy_chunks(response.iter_bytes(), tmp, hasher=hasher, tick=tick)
        if expected is not None and int(expected) != received:
            raise DownloadError(f"{variant}: received {received} of {expected} bytes")
    except BaseException:
        os.unlink(tmp.name)
        raise
    finally:
        sha256 = hasher.close() if hasher is not None else ""
    return Fetched(variant, tmp.name, sha256, received)


def _length(content_length: str | None) -> int | None:
    try:
        return int(content_length) if content_length is not None else None
    except ValueError:
        return None


def _hash_now(defer_above: int | None, content_length: str | None) -> bool:
    if defer_above is None:
        return True
    if defer_above == 0:
        return False
    size = _length(content_length)
    return size is None or size <= defer_above  # unknown size: hash now


def expected_duration(job: VideoJob) -> float | None:
    """The clip's length: the provider's ``seconds`` if it said, else what we asked for."""
    remote = job.remote_payload.get("seconds") if job.remote_payload else None
    try:
        if remote not in (None, ""):
            return float(remote)
    except (TypeError, ValueError):
        pass
    if job.kind == JobKind.EXTEND:
        parent = job.parent
        if parent is None:
            return None
        parent_video = parent.assets.filter(variant=AssetVariant.VIDEO).first()
        base = parent_video.duration if parent_video and parent_video.duration else parent.seconds
        return float(base) + job.seconds
    return float(job.seconds) if job.seconds else None  # 0: unknown (an imported video whose server did not say)


def check_video(job: VideoJob, fetched: Fetched) -> None:
    if media.sniff(fetched.path) != "mp4":
        raise DownloadError("video: the provider sent something that is not an MP4")
    try:
        info = media.probe(fetched.path)
    except media.MediaError as exc:
        raise DownloadError(f"video: {exc}") from exc
    if (info.width, info.height) != (job.width, job.height):
        raise DownloadError(f"video: {info.width}x{info.height} instead of the requested {job.size}")
    expected = expected_duration(job)
    if expected is not None and abs(info.duration - expected) > max(0.5, expected * 0.05):
        raise DownloadError(f"video: lasts {info.duration:.2f} s instead of {expected:.2f} s")
    fetched.width, fetched.height, fetched.duration = info.width, info.height, info.duration


def _derive(job: VideoJob, video: Fetched, variant: str) -> Fetched:
    tmp = storage.temp_file(SUFFIX[variant], owner=job.uuid)
    tmp.close()
    try:
        if variant == "thumbnail":
            media.make_thumbnail(video.path, tmp.name)
        else:
            media.make_spritesheet(video.path, tmp.name)
    except BaseException:
        os.unlink(tmp.name)
        raise
    with open(tmp.name, "rb") as fh:
        sha = hashlib.file_digest(fh, "sha256").hexdigest()
    return Fetched(variant, tmp.name, sha, os.path.getsize(tmp.name), derived=True)


def _preview(provider: Provider, job: VideoJob, video: Fetched, variant: str, *,
             defer_above: int | None = None) -> Fetched:
    """The provider's preview when it serves a real one, else one derived from the MP4.

    Previews can always be made from the video, so a preview that fails to download never
    costs the whole download another attempt: it is derived instead (marked ``derived``).
    """
    config = provider.config
    if capabilities.supports(config, "variants"):
        try:
            fetched = fetch(provider, job, variant, defer_above=defer_above)
        except VariantIgnored as exc:  # one transfer per video from now on
            capabilities.learn(config, "variants", False, f"{exc} (job {job.pk})")
        except ProviderError as exc:
            log.info("%s of job %s not downloaded (%s); deriving it from the video", variant, job.pk, exc)
            if exc.status_code in (400, 404, 405, 422):  # e.g. SGLang: "Unsupported video content variant"
                capabilities.learn(config, "variants", False, f"a {variant} request was answered {exc}")
        except DownloadError as exc:
            log.info("%s of job %s not downloaded (%s); deriving it from the video", variant, job.pk, exc)
        else:
            try:
                fetched.width, fetched.height = media.check_image_file(fetched.path, IMAGE_FORMAT[variant])
                return fetched
            except media.MediaError as exc:
                log.info("%s of job %s unusable (%s); deriving it", variant, job.pk, exc)
                if media.sniff(fetched.path) == "mp4":  # the MP4 again, under an image's content type
                    capabilities.learn(config, "variants", False, f"a {variant} request was answered with an MP4")
                os.unlink(fetched.path)
    return _derive(job, video, variant)


def claim(job_id: int) -> VideoJob | None:
    """Take the download unless another live worker has it (its heartbeat is recent)."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=float(conf.get("DOWNLOAD_STALL")))
    won = VideoJob.objects.filter(pk=job_id, status=JobStatus.DOWNLOADING).filter(
        Q(download_heartbeat_at__isnull=True) | Q(download_heartbeat_at__lt=stale)
    ).update(download_heartbeat_at=now, download_attempts=F("download_attempts") + 1, not_before=None)
    if not won:
        return None
    # whether the job is a sequence's shot rides along, so storing it asks for its sequence
    # only when it is one (sequences.on_job_stored)
    return VideoJob.objects.annotate(is_shot=Exists(SequenceShot.objects.filter(job=OuterRef("pk")))).get(pk=job_id)


def download(job_id: int) -> None:
    """The django-q2 task body."""
    job = claim(job_id)
    if job is None:
        return
    provider = get_provider(job.provider)
    if job.download_attempts > 1:
        storage.discard_leftovers(job.uuid)  # an earlier attempt's worker may have died mid-write
    files: list[Fetched] = []
    defer_above, started = defer_hash_above(), time.monotonic()
    try:
        video = fetch(provider, job, "video", defer_above=defer_above)
        files.append(video)
        check_video(job, video)
        for variant in ("thumbnail", "spritesheet"):
            files.append(_preview(provider, job, video, variant, defer_above=defer_above))
        if time.monotonic() - started > 5:  # renew our claim before the final step of a long download
            _heartbeat(job)
        store(job, files)
    except (ProviderError, DownloadError, media.MediaError, storage.StorageError) as exc:
        _handle_error(job, exc)
    finally:
        for fetched in files:
            if os.path.exists(fetched.path):
                os.unlink(fetched.path)


def store(job: VideoJob, files: list[Fetched]) -> None:
    """Move checked files under their keys, then complete the job and record them in one transaction.

    Files without a SHA-256 yet get one from a ``fingerprint_job`` task queued on commit.
    The rows are written in two statements (rows of an earlier attempt are updated in place).
    """
    keys = {f.variant: storage.store_file(storage.asset_key(job.uuid, f.variant), f.path) for f in files}
    stored_before = job.stored_at is not None  # only a store writes asset rows, and it sets stored_at
    with transaction.atomic():
        moved = job.transition(
            JobStatus.COMPLETED,
            expect=(JobStatus.DOWNLOADING,),
            stored_at=timezone.now(),
            download_heartbeat_at=None,
            error_code="",
            error_message="",
        )
        if not moved:
            return  # another worker stored the same files under the same keys
        existing = {a.variant: a for a in VideoAsset.objects.filter(job=job)} if stored_before else {}
        rows = []
        for f in files:
            row = existing.get(f.variant) or VideoAsset(job=job, variant=f.variant)
            row.file, row.bytes, row.sha256 = keys[f.variant], f.bytes, f.sha256
            row.content_type = storage.CONTENT_TYPES[f.variant]
            row.width, row.height, row.duration, row.derived = f.width, f.height, f.duration, f.derived
            row.created_at = timezone.now()  # when this file was stored (a retry stores it again)
            rows.append(row)
        changed = [r for r in rows if r.pk is not None]
        VideoAsset.objects.bulk_create([r for r in rows if r.pk is None])
        if changed:
            VideoAsset.objects.bulk_update(
                changed,
                ["file", "bytes", "sha256", "content_type", "width", "height", "duration", "derived", "created_at"],
            )
        if any(not f.sha256 for f in files):
            enqueue("videos.tasks.fingerprint_job", job.pk)
        transaction.on_commit(lambda: job_stored.send(sender=VideoJob, job=job))


def fingerprint(job_id: int) -> int:
    """Record the SHA-256 of a job's stored assets that have none yet; how many were done.

    Reads the stored file (a local read on a local disk). Marks the job busy through its
    download heartbeat so the sweep does not queue the same work again meanwhile (should
    that run out on a very slow read, a second task only repeats the same conditional update).
    """
    pending = list(VideoAsset.objects.filter(job_id=job_id, sha256=""))
    if not pending:
        return 0
    VideoJob.objects.filter(pk=job_id).update(download_heartbeat_at=timezone.now())
    done = 0
    for asset in pending:
        try:
            with asset.file.storage.open(asset.file.name, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
        except OSError as exc:
            log.warning("SHA-256 of %s not computed: %s (it stays blank; the next sweep tries again)", asset, exc)
            continue
        done += VideoAsset.objects.filter(pk=asset.pk, sha256="", file=asset.file.name).update(sha256=digest)
    if done == len(pending):
        VideoJob.objects.filter(pk=job_id).update(download_heartbeat_at=None)
    return done


def requeue_fingerprints(provider_name: str) -> int:
    """Queue the SHA-256 of stored assets whose fingerprint task was lost (its worker died).

    Looks back one day only (a file that cannot be read is not retried for ever); the
    partial index on unhashed assets keeps this cheap however many assets there are.
    """
    now = timezone.now()
    stale = now - dt.timedelta(seconds=float(conf.get("DOWNLOAD_STALL")))
    ids = list(
        VideoAsset.objects.filter(
            sha256="",
            created_at__gte=now - dt.timedelta(days=1),
            created_at__lt=now - dt.timedelta(seconds=30),
            job__provider=provider_name,
        )
        .filter(Q(job__download_heartbeat_at__isnull=True) | Q(job__download_heartbeat_at__lt=stale))
        .order_by("job_id")
        .values_list("job_id", flat=True)
        .distinct()[:100]
    )
    VideoJob.objects.filter(pk__in=ids).update(download_heartbeat_at=now)  # held back until it runs
    for job_id in ids:
        enqueue("videos.tasks.fingerprint_job", job_id)
    return len(ids)


def _handle_error(job: VideoJob, exc: Exception) -> None:
    now = timezone.now()
    expired = job.expires_at is not None and now >= job.expires_at
    gone = isinstance(exc, ProviderError) and exc.status_code == 404
    if gone and not expired and job.expires_at is None:  # vLLM-Omni after a restart or a file TTL
        job.forget(exc, expect=(JobStatus.DOWNLOADING,), download_heartbeat_at=None)
        return
    if expired:
        job.transition(
            JobStatus.FAILED,
            expect=(JobStatus.DOWNLOADING,),
            download_heartbeat_at=None,
            error_code=JobError.CONTENT_EXPIRED,
            error_message=f"The provider no longer serves this video ({exc}); it expired before it could be "
            "stored.",
        )
        return
    attempts = job.download_attempts
    if attempts >= int(conf.get("DOWNLOAD_MAX_ATTEMPTS")):
        job.transition(
            JobStatus.NEEDS_ATTENTION,
            expect=(JobStatus.DOWNLOADING,),
            download_heartbeat_at=None,
            error_code=JobError.DOWNLOAD_FAILED,
            error_message=f"Download failed {attempts} times (last: {exc}). The video is paid for and still at "
            f"the provider until {job.expires_at or 'it expires'}: use 'Retry download'.",
        )
        return
    delay = conf.backoff(attempts)
    if job.expires_at is not None:  # leave room for more attempts before it expires
        delay = min(delay, max(1.0, (job.expires_at - now).total_seconds() / 4))
    if isinstance(exc, ProviderError) and exc.retry_after:
        delay = max(delay, exc.retry_after)
    next_try = now + dt.timedelta(seconds=delay)
    job.update_fields(
        not_before=next_try,
        download_heartbeat_at=None,
        error_code=JobError.DOWNLOAD_RETRY,
        error_message=f"Download attempt {attempts} of {conf.get('DOWNLOAD_MAX_ATTEMPTS')} failed: {exc}. Next try "
        f"at {timezone.localtime(next_try):%H:%M:%S %Z}.",  # a time, not "in 60 s": it is read later
    )
    log.warning("download of job %s failed (%s); retry in %.0f s", job.pk, exc, delay)


def requeue_due(provider_name: str) -> int:
    """Enqueue downloads that are due: after a backoff, a lost task, or a dead worker."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=float(conf.get("DOWNLOAD_STALL")))
    lost = now - dt.timedelta(seconds=30)  # a queued download task that never ran
    due = VideoJob.objects.filter(provider=provider_name, status=JobStatus.DOWNLOADING).filter(
        Q(download_heartbeat_at__lt=stale)  # its worker died
        | Q(download_heartbeat_at__isnull=True, not_before__lte=now)  # a retry is due
        | Q(download_heartbeat_at__isnull=True, not_before__isnull=True, updated_at__lt=lost)
    )
    ids = list(due.values_list("pk", flat=True)[:100])
    # hold them back for a while so the next sweep does not enqueue them again
    VideoJob.objects.filter(pk__in=ids).update(not_before=now + dt.timedelta(seconds=float(conf.get("DOWNLOAD_STALL"))))
    for job_id in ids:
        enqueue("videos.tasks.download_job", job_id)
    return len(ids)
