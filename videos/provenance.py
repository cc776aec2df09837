"""Export with provenance: a ZIP of a video's files and a ``provenance.json`` that says how it
was made, enough to make the same request again (``manage.py sora generate --from``).

Files are copied from the storage in blocks into a ZIP (stored, not compressed: MP4, WebP
and JPEG are compressed already), hashing as they go, so a big video never sits in memory.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterable

from django.utils.text import slugify

from . import conf
from .exceptions import InvalidRequest
from .models import Sequence, VideoAsset, VideoJob
from .models.prompt import STRUCTURED_FIELDS

FORMAT = "sora-videos/provenance@1"
BLOCK = 1024 * 1024
EXTENSIONS = {"video": "mp4", "thumbnail": "webp", "spritesheet": "jpg"}
#: How far up the family tree the lineage goes.
MAX_LINEAGE = 50


def _when(value: Any) -> str | None:
    return value.isoformat() if value else None


def _lineage(job: VideoJob) -> list[dict[str, Any]]:
    """The job's ancestors, nearest first (a remix of an extension of ...)."""
    found = []
    parent = job.parent
    while parent is not None and len(found) < MAX_LINEAGE:
        found.append({"uuid": str(parent.uuid), "remote_id": parent.remote_id, "kind": parent.kind})
        parent = parent.parent
    return found


def describe(job: VideoJob, files: list[dict[str, Any]], reference: dict[str, Any] | None) -> dict[str, Any]:
    """The provenance of one job: its request, where it ran, what it cost, its files' hashes."""
    storyboard = ({name: getattr(job.prompt, name) for name, _ in STRUCTURED_FIELDS if getattr(job.prompt, name)}
                  if job.prompt_id else {})
    return {
        "format": FORMAT,
        "video": {"uuid": str(job.uuid), "remote_id": job.remote_id, "kind": job.kind, "status": job.status,
                  "lineage": _lineage(job)},
        "request": {
            "prompt": job.prompt_text, "storyboard": storyboard, "provider": job.provider, "model": job.model,
            "size": job.size, "seconds": job.seconds, "extra_params": job.extra_params or {},
            "reference_fit": job.reference_fit, "reference_image": reference,
        },
        "cost": {"estimated": str(job.estimated_cost), "actual": None, "currency": conf.get("CURRENCY"),
                 "note": "Estimated from the provider's price table; the Videos API reports no price."},
        "made_by": job.owner.get_username() if job.owner_id else None,
        "timestamps": {"created": _when(job.created_at), "submitted": _when(job.submitted_at),
                       "completed": _when(job.completed_at), "stored": _when(job.stored_at)},
        "files": files,
    }


def _copy(field: Any, archive: zipfile.ZipFile, name: str) -> dict[str, Any]:
    digest, size = hashlib.sha256(), 0
    with field.open("rb") as source, archive.open(name, "w", force_zip64=True) as target:
        while block := source.read(BLOCK):
            digest.update(block)
            size += len(block)
            target.write(block)
    return {"name": os.path.basename(name), "bytes": size, "sha256": digest.hexdigest()}


def _add_job(archive: zipfile.ZipFile, job: VideoJob, folder: str) -> None:
    files = []
    for asset in VideoAsset.objects.filter(job=job).order_by("variant"):
        ext = EXTENSIONS.get(asset.variant, "bin")
        entry = _copy(asset.file, archive, f"{folder}{asset.variant}.{ext}")
        files.append({**entry, "variant": asset.variant, "content_type": asset.content_type})
    reference = None
    ref = job.reference_image
    if ref is not None:
        ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}.get(ref.format.upper(), "bin")
        entry = _copy(ref.image, archive, f"{folder}reference.{ext}")
        reference = {"file": entry["name"], "sha256": ref.sha256 or entry["sha256"], "width": ref.width,
                     "height": ref.height, "original_name": ref.original_name}
    archive.writestr(f"{folder}provenance.json", json.dumps(describe(job, files, reference), indent=2))


def write_zip(out: IO[bytes], jobs: Iterable[VideoJob], *, sequence: Sequence | None = None) -> None:
    """One folder per job (``01-<prompt>/``; the top level for one job); a sequence's stitched
    MP4 and thumbnail at the top."""
    jobs = list(jobs)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        if sequence is not None:
            for asset in sequence.assets.all():
                _copy(asset.file, archive, f"sequence-{asset.variant}.{EXTENSIONS.get(asset.variant, 'bin')}")
        single = len(jobs) == 1 and sequence is None
        for n, job in enumerate(jobs, 1):
            folder = "" if single else f"{n:02d}-{slugify(job.prompt_text)[:40] or 'video'}/"
            _add_job(archive, job, folder)


@dataclass
class Request:
    """A request read back from a ``provenance.json``: what ``services.create_video`` takes."""
    prompt: str
    provider: str
    model: str
    size: str
    seconds: int
    fit: str
    extra_params: dict[str, Any]
    image: Path | None


def read_request(path: str | Path) -> Request:
    """The request in ``path``; its reference image must sit beside it with the recorded SHA-256."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidRequest(f"Cannot read {path}: {exc}", field="from") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("request"), dict):
        raise InvalidRequest(f"{path} is not a provenance.json of this app (format {FORMAT}).", field="from")
    req = data["request"]
    image = None
    ref = req.get("reference_image")
    if ref:
        image = path.parent / str(ref.get("file", ""))
        if not image.is_file():
            raise InvalidRequest(f"The reference image {image.name} is not beside {path.name}: unpack the whole "
                                 "export.", field="from")
        if hashlib.sha256(image.read_bytes()).hexdigest() != ref.get("sha256"):
            raise InvalidRequest(f"{image.name} is not the image the video was made from (its SHA-256 differs).",
                                 field="from")
    try:
        return Request(prompt=str(req["prompt"]), provider=str(req["provider"]), model=str(req["model"]),
                       size=str(req["size"]), seconds=int(req["seconds"]), fit=str(req.get("reference_fit") or "crop"),
                       extra_params=dict(req.get("extra_params") or {}), image=image)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidRequest(f"{path} lacks a complete request ({exc}).", field="from") from None
