"""Pieces every ``manage.py sora`` subcommand shares: JSON views, targets, saving files, waiting.

The subcommands live in :mod:`videos.cli.commands` (videos) and
:mod:`videos.cli.sequence_commands` (sequences); both build on these.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from .. import advice, conf, sequences, services
from ..exceptions import InvalidRequest
from ..models import JobStatus, Sequence, VideoJob
from . import EXIT_FAILED
from .console import Console, money
from .inputs import (
    output_path,
    write_file,
)
from .waiting import wait_sequence, wait_with_bar

SUFFIXES = {"video": ".mp4", "thumbnail": ".thumbnail.webp", "spritesheet": ".spritesheet.jpg"}
UUID_PLACEHOLDER = "{uuid}"


# --- shared pieces ---------------------------------------------------------------------------
def job_json(job: VideoJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "uuid": str(job.uuid),
        "provider": job.provider,
        "remote_id": job.remote_id,
        "kind": job.kind,
        "parent": job.parent_id,
        "status": job.status,
        "remote_status": job.remote_status,
        "progress": job.percent,
        "model": job.model,
        "size": job.size,
        "seconds": job.seconds,
        "prompt": job.prompt_text,
        "extra_params": job.extra_params,
        "estimated_cost": str(job.estimated_cost),
        "error_code": job.error_code,
        "error_message": job.error_message,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "completed_at": job.completed_at.isoformat() if job.completed_at else None,
        "stored_at": job.stored_at.isoformat() if job.stored_at else None,
        "expires_at": job.expires_at.isoformat() if job.expires_at else None,
        "assets": {
            a.variant: {"key": a.file.name, "bytes": a.bytes, "sha256": a.sha256 or None, "derived": a.derived}
            for a in job.assets.all()
        },
    }


def sequence_json(sequence: Sequence) -> dict[str, Any]:
    report = sequences.progress(sequence)
    return {
        "id": sequence.pk,
        "uuid": str(sequence.uuid),
        "title": sequence.title,
        "provider": sequence.provider,
        "model": sequence.model,
        "size": sequence.size,
        "status": sequence.status,
        "current": sequence.is_current,
        "revision": sequence.revision,
        "duration": sequence.duration,
        "error_message": sequence.error_message,
        "progress": report.percent,
        "shots": [
            {"position": s.position, "job": s.job.pk if s.job else None, "status": s.status, "progress": s.progress,
             "seconds": s.seconds, "attempts": s.attempts, "prompt": s.prompt, "error": s.error}
            for s in report.shots
        ],
        "assets": {
            a.variant: {"key": a.file.name, "bytes": a.bytes, "sha256": a.sha256 or None}
            for a in sequence.assets.all()
        },
    }


def _describe(job: VideoJob) -> str:
    what = {"create": "video", "remix": "remix", "edit": "edit", "extend": "extension"}.get(job.kind, job.kind)
    return (f"{what} job {job.pk} ({job.model}, {job.size}, {job.seconds} s, estimated {money(job.estimated_cost)} "
            f"at {conf.provider(job.provider).display_name})")


def _target(given: str | None, default_name: str) -> Path:
    return output_path(given, default_name)


def _named(target: Path, uuid_value: Any) -> Path:
    return Path(str(target).replace(UUID_PLACEHOLDER, str(uuid_value)))


def _job_failed(job: VideoJob) -> CommandError:
    if job.status == JobStatus.DELETED:
        return CommandError(f"Job {job.pk} was deleted, with its files; nothing to save.", returncode=EXIT_FAILED)
    state = "needs attention" if job.status == JobStatus.NEEDS_ATTENTION else job.get_status_display().lower()
    reason = job.error_message or "the provider gave no reason."
    return CommandError(f"Job {job.pk} {state}: {reason} {advice.for_job(job, advice.Surface.CLI)}".rstrip(),
                        returncode=EXIT_FAILED)


def _sequence_not_done(sequence: Sequence) -> CommandError:
    return CommandError(
        f"Sequence {sequence.pk} is not stitched ({sequence.get_status_display().lower()}): "
        f"{sequence.error_message or 'see: manage.py sora sequence status ' + str(sequence.pk)} "
        f"{advice.for_sequence(sequence, advice.Surface.CLI)}".rstrip(),
        returncode=EXIT_FAILED,
    )


def _queued(console: Console, job: VideoJob, o: dict[str, Any]) -> None:
    if o.get("json"):
        console.out(json.dumps({"job": job_json(job)}, indent=2))
    else:
        console.out(str(job.pk))
    if services.workers_unreachable():
        console.info(f"Queued {_describe(job)}.\n{services.WORKERS_UNREACHABLE}\nFollow it with: manage.py sora "
                     f"status {job.pk}")
        return
    console.info(
        f"Queued {_describe(job)}.\nA running qcluster submits it (manage.py qcluster). Follow it with: "
        f"manage.py sora status {job.pk}\nor wait for it here and save the MP4 with: manage.py sora download "
        f"{job.pk} --wait"
    )


def _wait_and_save(console: Console, job: VideoJob, target: Path, timeout: float, *, json_out: bool = False) -> None:
    console.info(f"Queued {_describe(job)}; waiting for it (Ctrl+C stops waiting, the job goes on).")
    [job] = wait_with_bar(console, [job], timeout=timeout, desc=f"job {job.pk}")
    if job.status != JobStatus.COMPLETED:
        raise _job_failed(job)
    _save_asset(console, job, "video", _named(target, job.uuid), json_out=json_out)


def _save_asset(console: Console, job: VideoJob, variant: str, target: Path, *, json_out: bool = False) -> None:
    asset = job.assets.filter(variant=variant).first()
    if asset is None:
        raise CommandError(
            f"Job {job.pk} is completed but has no {variant} stored. Try: manage.py sora status {job.pk}",
            returncode=EXIT_FAILED,
        )
    size = write_file(asset.file, target)
    if json_out:
        console.out(json.dumps({"job": job_json(job), "output": str(target)}, indent=2))
    else:
        console.out(str(target))
    console.info(f"Saved {variant} of job {job.pk} to {target} ({size / 1e6:.1f} MB).")


def _prompt(o: dict[str, Any]) -> str | None:
    positional, option = o.get("prompt"), o.get("prompt_option")
    if positional and option:
        raise InvalidRequest("Give the prompt once: as an argument or with --prompt, not both.", field="prompt")
    return positional if positional is not None else option


def _sequence_created(console: Console, sequence: Sequence, o: dict[str, Any]) -> None:
    shots = sequences.shots_of(sequence)
    total = sum((s.job.estimated_cost for s in shots if s.job), start=Decimal("0"))
    console.info(
        f"Sequence {sequence.pk}: {len(shots)} shots ({sequence.model}, {sequence.size}; jobs "
        f"{', '.join(str(s.job_id) for s in shots)}), estimated {money(total)} in all. The clips are stitched "
        "into one MP4 when all are done."
    )
    if services.workers_unreachable():
        console.info(services.WORKERS_UNREACHABLE)
    if not (o.get("wait") or o.get("output")):
        console.info(f"Follow it with: manage.py sora sequence status {sequence.pk}")


def _wait_sequence_and_save(console: Console, sequence: Sequence, target: Path, timeout: float, *,
                            json_out: bool = False) -> None:
    sequence = wait_sequence(console, sequence, timeout=timeout)
    if not sequence.is_current:
        raise _sequence_not_done(sequence)
    _save_sequence_asset(console, sequence, "video", _named(target, sequence.uuid), json_out=json_out)


def _save_sequence_asset(console: Console, sequence: Sequence, variant: str, target: Path, *,
                         json_out: bool = False) -> None:
    asset = sequence.assets.filter(variant=variant).first()
    if asset is None:
        raise CommandError(f"Sequence {sequence.pk} has no {variant} stored.", returncode=EXIT_FAILED)
    size = write_file(asset.file, target)
    if json_out:
        console.out(json.dumps({"sequence": sequence_json(sequence), "output": str(target)}, indent=2))
    else:
        console.out(str(target))
    console.info(f"Saved the stitched {variant} of sequence {sequence.pk} to {target} ({size / 1e6:.1f} MB, "
                 f"{sequence.duration or 0:.1f} s).")
