"""Where the app's files live, and how they get there without ever being half-written.

Every asset has a deterministic key (``<prefix>/jobs/<job uuid>/<variant>.<ext>``), so a
retried download overwrites the same object. On the local filesystem a file is written
beside its destination and renamed into place (atomic on POSIX); object stores such as S3
only show an object once its upload completed.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

from . import conf

EXTENSIONS = {"video": "mp4", "thumbnail": "webp", "spritesheet": "jpg"}
CONTENT_TYPES = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}
INCOMING_DIR = ".incoming"


class StorageError(Exception):
    """The storage refused a file (a missing bucket, refused credentials, a full disk): the
    message says what the store answered and where, e.g. ``storing failed: NoSuchBucket: ...``."""


class _VideosStorage(LazyObject):
    """The storage named by ``SORA_VIDEOS['STORAGE']``, resolved on first use."""

    def _setup(self) -> None:
        self._wrapped = storages[conf.get("STORAGE")]


_storage = _VideosStorage()


def get_storage() -> Storage:
    """Callable for ``FileField(storage=...)``: migrations store the reference, not the backend."""
    return _storage  # type: ignore[return-value]


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in ("STORAGES", "SORA_VIDEOS", "MEDIA_ROOT"):
        _storage._wrapped = empty


def _prefix() -> str:
    return conf.get("STORAGE_PREFIX").strip("/")


def asset_key(job_uuid: uuid.UUID | str, variant: str) -> str:
    return f"{_prefix()}/jobs/{job_uuid}/{variant}.{EXTENSIONS[variant]}"


def sequence_key(sequence_uuid: uuid.UUID | str, variant: str, revision: int | None = None) -> str:
    """A stitch's key; each revision of the shots gets its own, so a superseded stitch never
    overwrites the current one."""
    folder = f"{_prefix()}/sequences/{sequence_uuid}" + (f"/r{revision}" if revision is not None else "")
    return f"{folder}/{variant}.{EXTENSIONS[variant]}"


def asset_upload_to(instance: Any, filename: str) -> str:
    return asset_key(instance.job.uuid, instance.variant)


def reference_upload_to(instance: Any, filename: str) -> str:
    ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}.get((instance.format or "").upper(), "bin")
    return f"{_prefix()}/references/{instance.sha256[:2]}/{instance.sha256}.{ext}"


def _local_root(storage: Storage) -> Path | None:
    if isinstance(storage, LazyObject) and storage._wrapped is empty:
        storage._setup()  # reset by a settings change: resolve it, or a local disk looks remote
    target = getattr(storage, "_wrapped", storage)
    if isinstance(target, FileSystemStorage):
        return Path(target.location)
    return None


def is_local() -> bool:
    """Whether assets go to a local disk (FileSystemStorage) rather than a remote store."""
    return _local_root(get_storage()) is not None


def where() -> str:
    """Where assets go, in words an operator can act on (never a credential)."""
    storage = get_storage()
    root = _local_root(storage)
    if root is not None:
        return f"folder {root / _prefix()}"
    target = getattr(storage, "_wrapped", storage)
    bucket = getattr(target, "bucket_name", None)
    if bucket:
        endpoint = getattr(target, "endpoint_url", None) or "AWS S3"
        return f"bucket {bucket!r} at {conf.safe_url(endpoint) if '://' in endpoint else endpoint}"
    return f"{type(target).__name__} under {_prefix()!r}"


def look() -> None:
    """Raise unless the place assets go exists and may be written (no object is written).

    On S3 one ``HeadBucket`` request, which a missing bucket or refused credentials fail.
    """
    storage = get_storage()
    root = _local_root(storage)
    if root is not None:
        existing = next(p for p in (root, *root.parents) if p.exists())
        if not os.access(existing, os.W_OK):
            raise PermissionError(f"{existing} is not writable by this process")
        return
    target = getattr(storage, "_wrapped", storage)
    if getattr(target, "bucket_name", None) and hasattr(target, "connection"):
        target.connection.meta.client.head_bucket(Bucket=target.bucket_name)
    else:
        storage.exists(_prefix() or ".")


def describe_error(exc: BaseException) -> str:
    """A storage failure as one line: the store's own error code and message, and where.

    botocore's ``ClientError`` carries the S3 code (``NoSuchBucket``, ``AccessDenied``...);
    anything else is named by its type.
    """
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    code = str(error.get("Code") or "")
    if code:
        # a HEAD request (HeadBucket) has no body: S3 gives only the status as its code
        code, message = {"404": ("NoSuchBucket", "the bucket does not exist"),
                         "403": ("AccessDenied", "the credentials may not use this bucket")}.get(
            code, (code, error.get("Message") or str(exc)))
        return f"{code}: {message} ({where()})"
    return f"{type(exc).__name__}: {exc} ({where()})"


def _incoming_dir() -> Path:
    directory = conf.get("TEMP_DIR")
    if directory is None:
        root = _local_root(get_storage())
        directory = root / INCOMING_DIR if root is not None else Path(tempfile.gettempdir()) / "sora-videos-incoming"
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    return path


def temp_file(suffix: str = "", *, owner: uuid.UUID | str | None = None) -> tempfile._TemporaryFileWrapper:  # type: ignore[name-defined]
    """A named temp file for a download, on the same filesystem as the destination when local.

    Same filesystem means the final move is a rename; the ``.incoming`` folder is never a
    key any asset points to, so nothing in it is ever served. ``owner`` (a job uuid) goes
    into the name so a worker that takes over a dead one's download can clear its leftovers.
    """
    prefix = f"sora-{owner}-" if owner else "sora-"
    return tempfile.NamedTemporaryFile(prefix=prefix, suffix=suffix, dir=_incoming_dir(), delete=False)


def incoming_files() -> list[Path]:
    """Download temp files currently present (in flight, or left by a killed worker)."""
    return sorted(_incoming_dir().glob("sora-*"))


def discard_leftovers(owner: uuid.UUID | str) -> int:
    """Remove temp and staging files a killed worker left for ``owner``; call while holding its claim."""
    removed = 0
    for leftover in _incoming_dir().glob(f"sora-{owner}-*"):
        leftover.unlink(missing_ok=True)
        removed += 1
    root = _local_root(get_storage())
    if root is not None:
        job_dir = root / _prefix() / "jobs" / str(owner)
        for leftover in job_dir.glob(".*.partial") if job_dir.is_dir() else ():
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed


def store_file(key: str, path: str | os.PathLike[str]) -> str:
    """Put the finished file at ``path`` under ``key``, replacing what was there, atomically.

    Returns the key. The source file is moved (local) or uploaded and removed. Whatever the
    store raises comes out as :class:`StorageError`, its reason in words.
    """
    try:
        return _store_file(key, path)
    except Exception as exc:  # botocore's and the OS's errors, and any other backend's
        raise StorageError(f"storing failed: {describe_error(exc)}") from exc


def _store_file(key: str, path: str | os.PathLike[str]) -> str:
    storage = get_storage()
    root = _local_root(storage)
    if root is not None:
        dest = Path(storage.path(key))
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.partial"
        try:
            shutil.move(os.fspath(path), staging)  # a rename when on the same filesystem
            os.chmod(staging, 0o644)
            os.replace(staging, dest)
        finally:
            staging.unlink(missing_ok=True)
            Path(path).unlink(missing_ok=True)
        return key
    try:
        if storage.exists(key) and not getattr(storage, "file_overwrite", False):
            storage.delete(key)
        with open(path, "rb") as fh:
            name = storage.save(key, File(fh, name=key))
    finally:
        Path(path).unlink(missing_ok=True)
    if name != key:  # a backend that renamed instead of overwriting: keep the key stable
        storage.delete(name)
        raise RuntimeError(f"storage saved {key!r} as {name!r}; configure it to overwrite")
    return key


def delete_key(key: str) -> None:
    storage = get_storage()
    if key and storage.exists(key):
        storage.delete(key)


def cleanup_incoming(older_than_seconds: float = 6 * 3600) -> int:
    """Remove download temp files older than this (left by killed workers); returns how many."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    for entry in _incoming_dir().glob("sora-*"):
        if entry.is_file() and entry.stat().st_mtime < cutoff:
            entry.unlink(missing_ok=True)
            removed += 1
    return removed
