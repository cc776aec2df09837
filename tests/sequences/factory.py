"""Sequences for the admin and gallery tests: one real stitched sequence per session, copied cheaply.

:func:`stitched_sequence` makes a two-shot sequence for real the first time (the openai SDK
over HTTP to the emulator, the django-q2 broker's queue, the download and the PyAV stitch)
and keeps its files; later calls copy its rows and put the same bytes under the new
sequence's and jobs' keys in the test's storage. :func:`sequence_rows` writes sequences
in any state directly (rows only), and :func:`bulk_sequences` many of them for query counts.
"""
from __future__ import annotations

import shutil
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from videos import sequences
from videos.models import (
    AssetVariant,
    JobStatus,
    Sequence,
    SequenceAsset,
    SequenceShot,
    SequenceStatus,
    VideoAsset,
    VideoJob,
)
from videos.storage import asset_key, sequence_key, store_file, temp_file

from ..factories import SequenceFactory, VideoJobFactory
from ..support import settle

PROMPTS = ["Wide shot of a harbour at dawn, slow pan right", "Close-up of a gull on a wooden post"]
_made: dict[str, Any] = {}

_JOB_SKIP = ("id", "uuid", "owner_id", "remote_id", "created_at", "updated_at", "prompt_id",
             "reference_image_id", "parent_id")
_SEQ_SKIP = ("id", "uuid", "owner_id", "created_at", "updated_at", "stitch_token")


def _keep(field_file: Any, folder: Path, name: str) -> Path:
    target = folder / name
    with field_file.open("rb") as src:
        target.write_bytes(src.read())
    field_file.close()
    return target


def _store(key: str, source: Path) -> str:
    with temp_file() as tmp:
        pass
    shutil.copyfile(source, tmp.name)
    return store_file(key, tmp.name)


def stitched_sequence(keep_dir: Path, user: Any = None, *, title: str = "Harbour at dawn") -> Sequence:
    """A completed two-shot sequence (4 s each) with its stitched MP4, thumbnail and spritesheet stored."""
    if "sequence" not in _made:
        sequence = sequences.create_sequence(
            sequences.plan_shots(PROMPTS, [], seconds=4), title=title, size="1280x720", user=user)
        settle()
        sequence.refresh_from_db()
        assert sequence.is_current, (sequence.status, sequence.error_message)
        shots = []
        for shot in sequence.shots.select_related("job").order_by("position"):
            job = shot.job
            files = [({f.attname: getattr(a, f.attname) for f in VideoAsset._meta.concrete_fields
                       if f.attname not in ("id", "job_id", "file")}, _keep(a.file, keep_dir, f"{job.pk}-{a.variant}"))
                     for a in job.assets.all()]
            shots.append(({f.attname: getattr(job, f.attname) for f in VideoJob._meta.concrete_fields
                           if f.attname not in _JOB_SKIP}, shot.prompt_text, shot.seconds, files))
        _made["sequence"] = {f.attname: getattr(sequence, f.attname) for f in Sequence._meta.concrete_fields
                             if f.attname not in _SEQ_SKIP}
        _made["shots"] = shots
        _made["assets"] = [({f.attname: getattr(a, f.attname) for f in SequenceAsset._meta.concrete_fields
                             if f.attname not in ("id", "sequence_id", "file", "created_at", "updated_at")},
                            _keep(a.file, keep_dir, f"seq-{a.variant}")) for a in sequence.assets.all()]
        return sequence
    sequence = Sequence.objects.create(**{**_made["sequence"], "title": title}, owner=user)
    for position, (fields, prompt, seconds, files) in enumerate(_made["shots"], 1):
        job = VideoJob.objects.create(**fields, owner=user)
        for asset_fields, path in files:
            VideoAsset.objects.create(job=job, file=_store(asset_key(job.uuid, asset_fields["variant"]), path),
                                      **asset_fields)
        SequenceShot.objects.create(sequence=sequence, position=position, prompt_text=prompt, seconds=seconds,
                                    job=job)
    for fields, path in _made["assets"]:
        SequenceAsset.objects.create(sequence=sequence, file=_store(sequence_key(sequence.uuid, fields["variant"]),
                                                                    path), **fields)
    return sequence


def make_job(**fields: Any) -> VideoJob:
    """A job row, completed unless ``fields`` say otherwise."""
    return VideoJobFactory(**{"status": JobStatus.COMPLETED, **fields})


def sequence_rows(statuses: list[str], *, status: str | None = None, title: str = "Three-shot test",
                  owner: Any = None, errors: dict[int, str] | None = None) -> Sequence:
    """A sequence whose shots' jobs are in ``statuses`` (rows only, no files)."""
    errors = errors or {}
    if status is None:
        if any(s in (JobStatus.FAILED, JobStatus.NEEDS_ATTENTION, JobStatus.DELETED) for s in statuses):
            status = SequenceStatus.NEEDS_ATTENTION
        else:
            status = SequenceStatus.RENDERING
    sequence = SequenceFactory(title=title, status=status, owner=owner)
    for position, job_status in enumerate(statuses, 1):
        job = make_job(status=job_status, prompt_text=f"Shot {position} of {title}",
                       error_message=errors.get(position, ""), progress=40 if job_status == "in_progress" else 0,
                       owner=owner, remote_id=f"video_{uuid.uuid4().hex[:12]}")
        SequenceShot.objects.create(sequence=sequence, position=position, prompt_text=job.prompt_text, seconds=4,
                                    job=job)
    return sequence


def bulk_sequences(n: int, owner: Any = None, *, shots: int = 3) -> list[Sequence]:
    """``n`` sequences of ``shots`` shots in several states, with stitched asset rows (fake files), in bulk."""
    statuses = [SequenceStatus.COMPLETED, SequenceStatus.RENDERING, SequenceStatus.NEEDS_ATTENTION]
    made = Sequence.objects.bulk_create([
        Sequence(title=f"Bulk sequence {i}: a kite over a park", provider="emu", model="sora-2", size="1280x720",
                 status=statuses[i % 3], owner=owner, duration=4.0 * shots if i % 3 == 0 else None,
                 revision=0, stitched_revision=0 if i % 3 == 0 else None)
        for i in range(n)
    ])
    if not made or made[0].pk is None:
        made = list(Sequence.objects.order_by("-pk")[:n])
    jobs = VideoJob.objects.bulk_create([
        VideoJob(provider="emu", model="sora-2", size="1280x720", seconds=4, prompt_text=f"Shot {p} of {seq.title}",
                 status=JobStatus.COMPLETED if seq.status == SequenceStatus.COMPLETED or p < shots
                 else (JobStatus.FAILED if seq.status == SequenceStatus.NEEDS_ATTENTION else JobStatus.IN_PROGRESS),
                 estimated_cost=Decimal("0.40"), owner=owner)
        for seq in made for p in range(1, shots + 1)
    ])
    if not jobs or jobs[0].pk is None:
        jobs = list(VideoJob.objects.order_by("-pk")[: n * shots])[::-1]
    SequenceShot.objects.bulk_create([
        SequenceShot(sequence=seq, position=p, prompt_text=f"Shot {p} of {seq.title}", seconds=4,
                     job=jobs[i * shots + p - 1])
        for i, seq in enumerate(made) for p in range(1, shots + 1)
    ])
    VideoAsset.objects.bulk_create([
        VideoAsset(job=job, variant=AssetVariant.THUMBNAIL, file=f"sora/jobs/{job.uuid}/thumbnail.webp", bytes=10,
                   sha256="0" * 64, content_type="image/webp")
        for job in jobs if job.status == JobStatus.COMPLETED
    ])
    SequenceAsset.objects.bulk_create([
        SequenceAsset(sequence=seq, variant=variant, file=f"sora/sequences/{seq.uuid}/{variant}", bytes=10,
                      sha256="0" * 64, content_type="x/y")
        for seq in made if seq.status == SequenceStatus.COMPLETED
        for variant in (AssetVariant.VIDEO, AssetVariant.THUMBNAIL, AssetVariant.SPRITESHEET)
    ])
    return made
