"""``manage.py sora sequence ...``: list, status, retry, replace, stitch and download sequences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from .. import advice, policy, sequences, stitching
from ..exceptions import InvalidRequest
from ..models import Sequence, SequenceStatus
from . import EXIT_FAILED
from .common import (
    SUFFIXES,
    UUID_PLACEHOLDER,
    _describe,
    _save_sequence_asset,
    _sequence_not_done,
    _target,
    _wait_sequence_and_save,
    sequence_json,
)
from .console import Console, table
from .inputs import (
    expand_images,
    resolve_sequence,
    resolve_user,
)
from .waiting import wait_sequence


# --- sequences -------------------------------------------------------------------------------
def sequence_list(console: Console, o: dict[str, Any]) -> None:
    items = list(Sequence.objects.all()[: o["limit"]])
    if not items:
        console.out("No sequences yet. Make one with: manage.py sora generate -i 'shots/*.jpg' \"a prompt\"")
        return
    rows = []
    for seq in items:
        report = sequences.progress(seq)
        rows.append([seq.pk, seq.status, f"{report.done}/{len(report.shots)}",
                     f"{seq.duration:.1f} s" if seq.duration else "-", seq.size, seq.title])
    console.out(table(["ID", "STATUS", "SHOTS", "DURATION", "SIZE", "TITLE"], rows))


def sequence_status(console: Console, o: dict[str, Any]) -> None:
    sequence = resolve_sequence(o["sequence"])
    if o["json"]:
        console.out(json.dumps(sequence_json(sequence), indent=2))
        return
    report = sequences.progress(sequence)
    head = f"Sequence {sequence.pk} {sequence.title!r}: {sequence.get_status_display().lower()}"
    if sequence.is_current:
        head += f", stitched {sequence.duration or 0:.1f} s"
    elif sequence.status in SequenceStatus.active():
        head += f", {report.done} of {len(report.shots)} shots done ({report.percent}%)"
    lines = [head, f"{sequence.provider} · {sequence.model} · {sequence.size} · uuid {sequence.uuid}"]
    rows = [[s.position, s.job.pk if s.job else "-", s.status, f"{s.progress}%", s.seconds, s.attempts,
             (s.job.reference_image.original_name if s.job and s.job.reference_image else "-"),
             " ".join(s.prompt.split())[:60]] for s in report.shots]
    lines.append(table(["SHOT", "JOB", "STATUS", "PROGRESS", "SEC", "TRIES", "IMAGE", "PROMPT"], rows))
    for s in report.failed:
        lines.append(f"shot {s.position}: {s.error}")
    if sequence.error_message and sequence.status != SequenceStatus.NEEDS_ATTENTION:
        lines.append(f"{sequence.error_message} {advice.for_sequence(sequence, advice.Surface.CLI)}".rstrip())
    if report.failed:
        lines.append(f"Retry a shot with: manage.py sora sequence retry {sequence.pk} --shot N  (or replace it: "
                     f"... sequence replace {sequence.pk} --shot N --prompt \"...\")")
    if sequence.is_current:
        lines.append(f"Save it with: manage.py sora sequence download {sequence.pk}")
    console.out("\n".join(lines))


def _after_shot_change(console: Console, sequence: Sequence, shot: Any, o: dict[str, Any], target: Path | None) -> None:
    console.info(f"Shot {shot.position} of sequence {sequence.pk} is now {_describe(shot.job)}; the other shots "
                 "are kept.")
    if target is not None:
        _wait_sequence_and_save(console, sequence, target, o["timeout"])
    else:
        console.out(str(shot.job_id))
        console.info(f"Follow it with: manage.py sora sequence status {sequence.pk}")


def sequence_retry(console: Console, o: dict[str, Any]) -> None:
    sequence = resolve_sequence(o["sequence"])
    user = resolve_user(o["user"])
    target = _target(o["output"], f"{UUID_PLACEHOLDER}.mp4") if (o["wait"] or o["output"]) else None
    shot = sequences.retry_shot(sequence, o["shot"], user=user, force=o["force"])
    _after_shot_change(console, sequence, shot, o, target)


def sequence_replace(console: Console, o: dict[str, Any]) -> None:
    sequence = resolve_sequence(o["sequence"])
    user = resolve_user(o["user"])
    images = expand_images(o["image"])
    if len(images) > 1:
        raise InvalidRequest(f"A shot has one reference image; {len(images)} were given.", field="image")
    if images and o["no_image"]:
        raise InvalidRequest("Give a new image or --no-image, not both.", field="image")
    target = _target(o["output"], f"{UUID_PLACEHOLDER}.mp4") if (o["wait"] or o["output"]) else None
    shot = sequences.replace_shot(
        sequence, o["shot"], prompt=o["prompt"], image=images[0] if images else None, drop_image=o["no_image"],
        seconds=o["seconds"], user=user,
    )
    _after_shot_change(console, sequence, shot, o, target)


def sequence_stitch(console: Console, o: dict[str, Any]) -> None:
    sequence = resolve_sequence(o["sequence"])
    shots = sequences.shots_of(sequence)
    refusal = policy.stitch_refusal(sequence, shots)
    if refusal is not None:
        raise CommandError(f"Sequence {sequence.pk} cannot be stitched now: {refusal.message}.", returncode=EXIT_FAILED)
    result = stitching.stitch(sequence.pk, force=o["force"])
    if result is None:
        raise CommandError(f"Sequence {sequence.pk} no longer exists.", returncode=EXIT_FAILED)
    if not result.is_current:
        raise _sequence_not_done(result)
    console.out(f"Sequence {result.pk} stitched: {result.duration or 0:.1f} s, {len(shots)} shots.")


def sequence_download(console: Console, o: dict[str, Any]) -> None:
    sequence = resolve_sequence(o["sequence"])
    variant = o["variant"]
    target = _target(o["output"], f"{sequence.uuid}{SUFFIXES[variant]}")
    if not sequence.is_current:
        if not o["wait"]:
            raise CommandError(
                f"Sequence {sequence.pk} is {sequence.get_status_display().lower()}; its stitched video is not "
                f"ready. Wait for it with: manage.py sora sequence download {sequence.pk} --wait",
                returncode=EXIT_FAILED,
            )
        sequence = wait_sequence(console, sequence, timeout=o["timeout"])
        if not sequence.is_current:
            raise _sequence_not_done(sequence)
    _save_sequence_asset(console, sequence, variant, target)
