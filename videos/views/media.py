"""Private media: files are only ever reached through these views, after the permission check.

On a local disk (``FileSystemStorage``) the view streams the file itself, with HTTP
Range support so players can seek: ``206 Partial Content`` with ``Content-Range`` for one
satisfiable range, ``416`` with ``Content-Range: bytes */size`` for an unsatisfiable one,
``Accept-Ranges: bytes`` always, and ``ETag`` / ``Last-Modified`` so browsers revalidate
cheaply (``304``). The body is read in blocks as it is sent, so memory stays flat
whatever the size. On any other storage (S3 and friends) the view redirects to
``storage.url(name)``, which for ``S3Storage`` with ``querystring_auth`` is a short-lived
signed URL; the redirect itself is never cached.
"""
from __future__ import annotations

import inspect
import os
import re
from typing import Any

from django.core.files.storage import FileSystemStorage, Storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.cache import get_conditional_response
from django.utils.functional import LazyObject, empty
from django.utils.http import http_date, parse_http_date_safe
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from .. import visibility
from ..models import ReferenceImage, SequenceAsset, VideoAsset, VideoJob
from ..storage import EXTENSIONS
from .access import gallery_access

BLOCK_SIZE = 64 * 1024
_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class _Slice:
    """A file object that reads ``length`` bytes from ``start``, then reports EOF."""

    def __init__(self, fh: Any, start: int, length: int) -> None:
        self._fh = fh
        self._left = length
        fh.seek(start)

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._fh.read(size)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._fh.close()


class MediaFileResponse(FileResponse):
    block_size = BLOCK_SIZE


def parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """The (first, last) bytes of a single-range ``Range`` header, inclusive.

    ``None``: no usable range (absent, malformed, another unit or several ranges), so the
    whole file is sent with 200, as RFC 9110 allows. ``False``: a well-formed range that
    does not overlap the file (416).
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = _RANGE.match(spec)
    if not match or match.group(1) == match.group(2) == "":
        return None
    first_s, last_s = match.groups()
    if first_s == "":  # suffix: the last N bytes
        suffix = int(last_s)
        if suffix == 0 or size == 0:
            return False
        return max(0, size - suffix), size - 1
    first = int(first_s)
    if last_s and int(last_s) < first:
        return None  # invalid syntax: ignore the header
    if first >= size:
        return False
    last = min(int(last_s), size - 1) if last_s else size - 1
    return first, last


def _local(storage: Storage) -> FileSystemStorage | None:
    """The FileSystemStorage behind ``storage`` (set up if lazy), or None for remote storages."""
    target: Any = storage
    if isinstance(storage, LazyObject):
        if storage._wrapped is empty:
            storage._setup()
        target = storage._wrapped
    return target if isinstance(target, FileSystemStorage) else None


def _signed_redirect(storage: Storage, name: str, *, filename: str, download: bool) -> HttpResponse:
    url: str
    params = {}
    if download:
        params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
    try:
        accepts_parameters = "parameters" in inspect.signature(storage.url).parameters
    except (TypeError, ValueError):
        accepts_parameters = False
    url = storage.url(name, parameters=params) if (params and accepts_parameters) else storage.url(name)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response


def serve_file(request: HttpRequest, field: Any, *, content_type: str, etag: str | None, filename: str,
               download: bool) -> HttpResponse:
    """Serve a stored file (a FieldFile) to a request that already passed the permission check."""
    name = field.name
    if not name:
        raise Http404("No file")
    storage = field.storage
    local = _local(storage)
    if local is None:
        return _signed_redirect(storage, name, filename=filename, download=download)

    path = local.path(name)
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    size = stat.st_size
    last_modified = http_date(stat.st_mtime)
    strong_etag = f'"{etag}"' if etag else f'"{int(stat.st_mtime)}-{size}"'

    conditional = get_conditional_response(
        request, etag=strong_etag, last_modified=int(stat.st_mtime)
    )
    if conditional is not None:
        conditional["Accept-Ranges"] = "bytes"
        return conditional

    byte_range = parse_range(request.headers.get("Range", ""), size)
    if byte_range is not None and not _if_range_holds(request, strong_etag, int(stat.st_mtime)):
        byte_range = None  # the client's partial copy is stale: send everything

    if byte_range is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response

    fh = open(path, "rb")
    if byte_range:
        first, last = byte_range
        length = last - first + 1
        response = MediaFileResponse(
            _Slice(fh, first, length), status=206, content_type=content_type,
            as_attachment=download, filename=filename,
        )
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    else:
        length = size
        response = MediaFileResponse(
            _Slice(fh, 0, size), content_type=content_type, as_attachment=download, filename=filename
        )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = strong_etag
    response["Last-Modified"] = last_modified
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _if_range_holds(request: HttpRequest, etag: str, mtime: int) -> bool:
    """RFC 9110 If-Range: the range applies only if the validator still matches."""
    value = request.headers.get("If-Range")
    if not value:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == etag  # strong comparison; weak tags never match
    when = parse_http_date_safe(value)
    return when is not None and when >= mtime


def _nice_name(text: str, stem: str, ext: str) -> str:
    words = slugify(" ".join(text.split()[:8]))[:60].strip("-")
    return f"{words or 'video'}-{stem}.{ext}"


def serve_variant(request: HttpRequest, item: VideoAsset | SequenceAsset, title: str, owner_uuid: Any) -> HttpResponse:
    """One variant of a job or sequence, named after its title and owner's uuid when downloaded."""
    ext = EXTENSIONS.get(item.variant) or os.path.splitext(item.file.name)[1].lstrip(".") or "bin"
    suffix = "" if item.variant == "video" else f"-{item.variant}"
    filename = _nice_name(title, f"{str(owner_uuid)[:8]}{suffix}", ext)
    return serve_file(
        request, item.file, content_type=item.content_type or "application/octet-stream",
        etag=item.sha256 or None, filename=filename, download=_wants_download(request),
    )


@require_safe
@gallery_access
def asset(request: HttpRequest, pk: int) -> HttpResponse:
    """A job's file (video, thumbnail, spritesheet); ``?download=1`` saves it under a readable name."""
    item = get_object_or_404(visibility.scope(VideoAsset.objects.select_related("job"), request.user, "job__"), pk=pk)
    return serve_variant(request, item, item.job.prompt_text, item.job.uuid)


@require_safe
@gallery_access
def sequence_asset(request: HttpRequest, pk: int) -> HttpResponse:
    """A stitched sequence's file (video, thumbnail, spritesheet); same access, Range and S3 rules as ``asset``."""
    item = get_object_or_404(
        visibility.scope(SequenceAsset.objects.select_related("sequence"), request.user, "sequence__"), pk=pk)
    return serve_variant(request, item, item.sequence.title or "sequence", item.sequence.uuid)


@require_safe
@gallery_access
def reference_image(request: HttpRequest, pk: int) -> HttpResponse:
    """An uploaded first-frame image."""
    ref = get_object_or_404(ReferenceImage, pk=pk)
    if visibility.restricted(request.user) and ref.owner_id != request.user.pk and not visibility.scope(
            VideoJob.objects.filter(reference_image=ref), request.user).exists():
        raise Http404("No such image.")  # used only in projects this person does not see
    ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}.get(ref.format.upper(), "bin")
    stem = os.path.splitext(ref.original_name)[0] if ref.original_name else "reference"
    filename = f"{slugify(stem)[:60] or 'reference'}.{ext}"
    return serve_file(
        request, ref.image, content_type=IMAGE_TYPES.get(ref.format.upper(), "application/octet-stream"),
        etag=ref.sha256 or None, filename=filename, download=_wants_download(request),
    )


def _wants_download(request: HttpRequest) -> bool:
    return request.GET.get("download", "").lower() in {"1", "true", "yes"}


__all__ = ["asset", "reference_image", "sequence_asset", "parse_range", "serve_file", "serve_variant"]
