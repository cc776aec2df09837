"""The bodies of ``manage.py sora`` subcommands; each takes a Console and the parsed options.

Input is checked before anything is written or sent; errors raise
:class:`~django.core.management.base.CommandError` with an exit code from
:mod:`videos.cli` (the command turns app exceptions into those too).
"""
from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from .. import capabilities, conf, making, policy, sequences, services
from ..exceptions import ConfigurationError, InvalidRequest, JobStateError, ProviderError, SoraVideosError
from ..models import AssetVariant, JobStatus, Sequence, VideoJob
from ..policy import Action
from ..validation import parse_size
from . import EXIT_FAILED, EXIT_INVALID, EXIT_TIMEOUT
from .batch import read_rows
from .batch import submit as submit_row
from .batch import validate as validate_row
from .common import (
    SUFFIXES,
    UUID_PLACEHOLDER,
    _job_failed,
    _prompt,
    _queued,
    _save_asset,
    _sequence_created,
    _target,
    _wait_and_save,
    _wait_sequence_and_save,
    job_json,
    sequence_json,
)
from .console import Console, money, table
from .doctor import doctor
from .inputs import (
    expand_images,
    extra_params,
    read_shot_prompts,
    resolve_job,
    resolve_project,
    resolve_user,
    write_file,
)
from .library import sync_library
from .provenance import apply as from_provenance
from .providers import providers
from .review import approve, reject, share
from .roles import roles_command
from .sequence_commands import (
    sequence_download,
    sequence_list,
    sequence_replace,
    sequence_retry,
    sequence_status,
    sequence_stitch,
)
from .tokens import token_command
from .waiting import DONE, wait_with_bar


# --- generate ---------------------------------------------------------------------------------
def generate(console: Console, o: dict[str, Any]) -> None:
    recorded = from_provenance(console, o) if o.get("from_file") else {}
    prompt = _prompt(o)
    if o["shot_prompts"]:
        if prompt:
            raise InvalidRequest("Give the prompt as an argument or the shot prompts with --shot-prompts, not both.",
                                 field="prompt")
        prompts = read_shot_prompts(o["shot_prompts"])
    else:
        prompts = sequences.split_prompts(prompt or "")
    images = expand_images(o["image"])
    if o["single"]:
        if len(prompts) > 1:
            raise InvalidRequest(
                f"--single makes one clip, but the prompt has {len(prompts)} shots (separated by "
                f"'{sequences.SHOT_SEPARATOR}').", field="prompt")
        if len(images) > 1:
            console.info(f"--single: using {images[0]} only; {len(images) - 1} more image(s) left out.")
        images = images[:1]
    extras = {**recorded, **extra_params(o)}
    size = parse_size(o["size"], width=o["width"], height=o["height"])
    user = resolve_user(o["user"])
    project = resolve_project(o.get("project"))
    wait = o["wait"] or bool(o["output"])
    target = _target(o["output"], f"{UUID_PLACEHOLDER}.mp4") if wait else None

    made = making.make(prompts, images, seconds=o["seconds"], title=o["title"] or "", provider=o["provider"],
                       model=o["model"], size=size, extra_params=extras, user=user, fit=o["fit"], project=project)
    if isinstance(made, Sequence):
        _sequence_created(console, made, o)
        if target is not None:
            _wait_sequence_and_save(console, made, target, o["timeout"], json_out=o["json"])
        elif o["json"]:
            console.out(json.dumps({"sequence": sequence_json(made)}, indent=2))
        else:
            console.out(str(made.pk))
        return
    job = made
    if target is None:
        _queued(console, job, o)
    else:
        _wait_and_save(console, job, target, o["timeout"], json_out=o["json"])


# --- list-models -----------------------------------------------------------------------------
def list_models(console: Console, o: dict[str, Any]) -> None:
    default_provider = conf.provider().name
    configs = [conf.provider(o["provider"])] if o["provider"] else list(conf.providers().values())
    if o["json"]:
        data = []
        for cfg in configs:
            data.append({
                "provider": cfg.name, "label": cfg.display_name, "dialect": cfg.dialect, "emulator": cfg.emulator,
                "base_url": conf.safe_url(cfg.base_url), "default": cfg.name == default_provider,
                "default_model": cfg.default_model, "features": capabilities.features(cfg),
                "models": [{
                    "name": spec.name, "sizes": list(spec.sizes), "seconds": list(spec.seconds),
                    "price_per_second": {size: str(spec.price_per_second(size)) for size in spec.sizes},
                    "extra_params": list(spec.named_extra_params), "any_extra_params": spec.any_extra,
                    "extend_seconds": list(spec.extend_seconds),
                    "open_sizes": spec.open_sizes, "min_side": spec.min_side, "max_side": spec.max_side,
                    "open_seconds": spec.open_seconds, "max_seconds": spec.max_seconds,
                    "models_served": capabilities.learned_models(cfg),
                } for spec in cfg.models.values()],
            })
        console.out(json.dumps(data, indent=2))
        return
    blocks = []
    for cfg in configs:
        notes = [f"dialect {cfg.dialect}", conf.safe_url(cfg.base_url)]
        if cfg.emulator:
            notes.insert(0, "LOCAL EMULATOR (test videos, nothing billed)")
        if cfg.name == default_provider:
            notes.append("default provider")
        features = [name for name in ("remix", "edit", "extend") if capabilities.supports(cfg, name)]
        rows = []
        for spec in cfg.models.values():
            for i, size in enumerate(spec.sizes):
                price = spec.price_per_second(size)
                rows.append([
                    (spec.name + (" *" if spec.name == cfg.default_model else "")) if i == 0 else "",
                    size,
                    ", ".join(spec.seconds) if i == 0 else "",
                    f"{money(price)}/s" if price else "free",
                    (", ".join(spec.named_extra_params) + (", any other" if spec.any_extra else "")) or "-"
                    if i == 0 else "",
                ])
            if spec.open_sizes or spec.open_seconds:
                rows.append(["", f"any WxH, sides {spec.min_side}-{spec.max_side}" if spec.open_sizes else "",
                             f"1-{spec.max_seconds}" if spec.open_seconds else "", "", ""])
        blocks.append(
            f"{cfg.name}{': ' + cfg.label if cfg.label and cfg.label != cfg.name else ''} ({'; '.join(notes)})\n"
            f"features: {', '.join(features) or 'create only'} (manage.py sora providers says who says so)\n"
            + (f"models served (GET /models): {', '.join(served)}\n" if (served := capabilities.learned_models(cfg))
               else "")
            + table(["MODEL", "SIZE", "SECONDS", "PRICE", "EXTRA PARAMETERS"], rows)
        )
    console.out("\n\n".join(blocks) + "\n\n* default model")


# --- status, download, remix, extend, edit, delete -------------------------------------------
def status(console: Console, o: dict[str, Any]) -> None:
    if o["ids"]:
        jobs = [resolve_job(text, provider=o["provider"]) for text in o["ids"]]
    else:
        qs = VideoJob.objects.visible()
        if o["provider"]:
            qs = qs.filter(provider=o["provider"])
        jobs = list(qs[: o["limit"]])
    if o["refresh"]:
        for job in jobs:
            if not policy.allows(Action.REFRESH, job):
                continue  # not at the provider now: what is stored is what there is
            try:
                services.refresh(job)
            except ProviderError as exc:
                console.warn(f"Could not refresh job {job.pk} ({exc}); showing what is known locally.")
    if o["json"]:
        console.out(json.dumps([job_json(job) for job in jobs], indent=2))
        return
    if not jobs:
        console.out("No jobs yet. Make one with: manage.py sora generate \"a prompt\"")
        return
    rows = [[
        job.pk, job.kind, job.status, f"{job.percent}%", job.model, job.size, job.seconds,
        money(job.estimated_cost), job.remote_id or "-", job.short_prompt,
    ] for job in jobs]
    lines = [table(["ID", "KIND", "STATUS", "PROGRESS", "MODEL", "SIZE", "SEC", "COST", "REMOTE ID", "PROMPT"], rows)]
    for job in jobs:
        if job.error_message and job.status != JobStatus.COMPLETED:
            lines.append(f"job {job.pk}: {job.error_message}")
    console.out("\n".join(lines))


def download(console: Console, o: dict[str, Any]) -> None:
    job = resolve_job(o["id"], provider=o["provider"])
    variant = o["variant"]
    target = _target(o["output"], f"{job.uuid}{SUFFIXES[variant]}")
    if job.status != JobStatus.COMPLETED:
        if job.status in DONE:
            raise _job_failed(job)
        if not o["wait"]:
            raise CommandError(
                f"Job {job.pk} is {job.get_status_display().lower()} ({job.percent}%); nothing is stored yet. "
                f"Wait for it with: manage.py sora download {job.pk} --wait",
                returncode=EXIT_FAILED,
            )
        [job] = wait_with_bar(console, [job], timeout=o["timeout"], desc=f"job {job.pk}")
        if job.status != JobStatus.COMPLETED:
            raise _job_failed(job)
    _save_asset(console, job, variant, target)


def _derived(console: Console, o: dict[str, Any], make: Any) -> None:
    source = resolve_job(o["id"], provider=o["provider"])
    user = resolve_user(o["user"])
    wait = o["wait"] or bool(o["output"])
    target = _target(o["output"], f"{UUID_PLACEHOLDER}.mp4") if wait else None
    job = make(source, user)
    if target is None:
        _queued(console, job, o)
    else:
        _wait_and_save(console, job, target, o["timeout"], json_out=o["json"])


def remix(console: Console, o: dict[str, Any]) -> None:
    _derived(console, o, lambda source, user: services.remix(source, o["prompt"], user=user))


def edit(console: Console, o: dict[str, Any]) -> None:
    _derived(console, o, lambda source, user: services.edit(source, o["prompt"], user=user))


def extend(console: Console, o: dict[str, Any]) -> None:
    _derived(console, o, lambda source, user: services.extend(source, o["prompt"], seconds=o["seconds"], user=user))


def resubmit(console: Console, o: dict[str, Any]) -> None:
    """Nothing is re-sent by itself (that pays again): a person asks for it here."""
    _derived(console, o, lambda source, user: services.resubmit(source, user=user))


def delete(console: Console, o: dict[str, Any]) -> None:
    jobs = [resolve_job(text, provider=o["provider"]) for text in o["ids"]]
    if o["interactive"] and sys.stdin.isatty():
        listing = ", ".join(f"{job.pk} ({job.status})" for job in jobs)
        answer = input(f"Delete job(s) {listing} at the provider and every stored file? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise CommandError("Nothing deleted.", returncode=EXIT_FAILED)
    failures = []
    for job in jobs:
        was = job.status
        files = job.assets.count()
        try:
            note = getattr(services.delete(job), "remote_note", "")
        except SoraVideosError as exc:
            failures.append(f"job {job.pk}: {exc}")
            continue
        if was == JobStatus.DELETED:
            console.out(f"Job {job.pk} was already deleted.")
        elif note:
            console.out(f"Deleted job {job.pk} and its {files} stored file(s) here. {note}")
        else:
            remote = f" (remote {job.remote_id})" if job.remote_id else ""
            console.out(f"Deleted job {job.pk}{remote} and its {files} stored file(s).")
    if failures:
        raise CommandError("Not deleted: " + "; ".join(failures), returncode=EXIT_FAILED)


# --- batch -----------------------------------------------------------------------------------
def batch(console: Console, o: dict[str, Any]) -> None:
    user = resolve_user(o["user"])
    rows = read_rows(o["file"])
    base_dir = Path(o["file"]).expanduser().resolve().parent
    defaults = {
        "provider": o["provider"], "model": o["model"], "seconds": o["seconds"], "fit": o["fit"],
        "size": parse_size(o["size"]),
    }
    out_dir = None
    if o["output_dir"]:
        out_dir = Path(o["output_dir"]).expanduser()
        if not out_dir.is_dir():
            raise InvalidRequest(f"The output folder {o['output_dir']!r} does not exist.", field="output_dir")
    for row in rows:
        validate_row(row, base_dir=base_dir, defaults=defaults)
    invalid = [row for row in rows if row.outcome == "invalid"]
    valid = [row for row in rows if row.outcome != "invalid"]
    for row in invalid:
        console.warn(f"line {row.line}: invalid: {row.error}")
    total = sum((row.cost for row in valid if row.cost is not None), start=Decimal("0"))
    console.info(f"{len(valid)} valid row(s), {len(invalid)} invalid, estimated {money(total)} in all.")
    if o["dry_run"]:
        console.out(table(
            ["LINE", "STATUS", "MODEL", "SIZE", "SEC", "COST", "ERROR"],
            [[row.line, "valid" if not row.error else "invalid", row.request.get("model", ""),
              row.request.get("size", ""), row.request.get("seconds", ""), money(row.cost) if row.cost else "-",
              row.error] for row in rows],
        ))
        if invalid:
            raise CommandError(f"{len(invalid)} of {len(rows)} rows are invalid (nothing was submitted).",
                               returncode=EXIT_FAILED)
        return

    with console.bar(total=len(valid), desc="submitting", unit="row") as bar:
        for row in valid:
            submit_row(row, user=user)
            if row.outcome == "refused":
                bar.write(f"line {row.line}: refused: {row.error}", file=console._raw_stderr())
            bar.update(1)
    jobs = [row.job for row in valid if row.job is not None]
    timed_out = None
    if (o["wait"] or out_dir) and jobs:
        try:
            finished = {job.pk: job for job in wait_with_bar(console, jobs, timeout=o["timeout"],
                                                              desc=f"{len(jobs)} videos")}
        except TimeoutError as exc:
            timed_out = exc
            finished = VideoJob.objects.in_bulk([job.pk for job in jobs])
        for row in valid:
            if row.job is not None:
                row.job = finished[row.job.pk]
                row.outcome = row.job.status
                if row.job.status in DONE and row.job.status != JobStatus.COMPLETED:
                    row.error = row.job.error_message or row.job.status
                elif out_dir is not None and row.job.status == JobStatus.COMPLETED:
                    asset = row.job.assets.filter(variant=AssetVariant.VIDEO).first()
                    if asset is not None:
                        write_file(asset.file, out_dir / f"line{row.line}-{row.job.uuid}.mp4")
    console.out(table(
        ["LINE", "JOB", "STATUS", "COST", "ERROR"],
        [[row.line, row.job.pk if row.job else "-", row.outcome, money(row.job.estimated_cost) if row.job else "-",
          row.error] for row in rows],
    ))
    submitted = len(jobs)
    refused = sum(1 for row in rows if row.outcome == "refused")
    failed = sum(1 for row in rows if row.job is not None and row.outcome in (
        JobStatus.FAILED, JobStatus.NEEDS_ATTENTION, JobStatus.DELETED))
    console.info(f"{submitted} submitted, {len(invalid)} invalid, {refused} refused, {failed} failed.")
    if submitted and services.workers_unreachable():
        console.info(services.WORKERS_UNREACHABLE)
    if timed_out is not None:
        raise CommandError(str(timed_out), returncode=EXIT_TIMEOUT)
    bad = len(invalid) + refused + failed
    if bad:
        raise CommandError(f"{bad} of {len(rows)} rows were invalid, refused or failed (see the table above).",
                           returncode=EXIT_FAILED)


# --- sync ------------------------------------------------------------------------------------
def sync(console: Console, o: dict[str, Any]) -> None:
    provider = conf.provider(o["provider"])
    console.info(f"Listing the videos at {provider.display_name} ({conf.safe_url(provider.base_url)})...")
    bars: dict[str, Any] = {}

    def listed(count: int) -> None:
        bars["bar"] = console.bar(total=count, desc="syncing", unit="video")

    def step(result: Any) -> None:
        bars["bar"].update(1)

    try:
        results = sync_library(provider.name, download=not o["no_download"], on_listed=listed, on_step=step)
    finally:
        if "bar" in bars:
            bars["bar"].close()
    counts = {name: 0 for name in ("imported", "updated", "unchanged", "skipped")}
    lines = []
    for result in results:
        counts[result.outcome] += 1
        if result.outcome == "skipped":
            lines.append(f"skipped   {result.remote_id}: {result.note}")
        elif result.outcome != "unchanged" or console.verbosity >= 2:
            job = result.job
            note = f" ({job.error_message})" if job.error_message and job.status != JobStatus.COMPLETED else ""
            lines.append(f"{result.outcome:<9} {result.remote_id} -> job {job.pk}: {job.status}{note}")
    summary = (f"{provider.name}: {len(results)} video(s) listed; imported {counts['imported']}, updated "
               f"{counts['updated']}, unchanged {counts['unchanged']}, skipped {counts['skipped']}.")
    console.out("\n".join([*lines, summary]))


HANDLERS = {
    "generate": generate,
    "list-models": list_models,
    "providers": providers,
    "doctor": doctor,
    "roles": roles_command,
    "approve": approve,
    "reject": reject,
    "share": share,
    "status": status,
    "download": download,
    "remix": remix,
    "edit": edit,
    "extend": extend,
    "resubmit": resubmit,
    "delete": delete,
    "batch": batch,
    "sync": sync,
    ("token", "create"): token_command,
    ("token", "list"): token_command,
    ("token", "revoke"): token_command,
    ("sequence", "list"): sequence_list,
    ("sequence", "status"): sequence_status,
    ("sequence", "retry"): sequence_retry,
    ("sequence", "replace"): sequence_replace,
    ("sequence", "stitch"): sequence_stitch,
    ("sequence", "download"): sequence_download,
}


def run(console: Console, options: dict[str, Any]) -> None:
    """Dispatch, turning the app's exceptions into CommandErrors with the right exit code."""
    key: Any = options["subcommand"]
    if key == "sequence":
        key = ("sequence", options["sequence_command"])
    elif key == "token":
        key = ("token", options["token_command"])
    try:
        HANDLERS[key](console, options)
    except (InvalidRequest, ConfigurationError, JobStateError) as exc:
        raise CommandError(str(exc), returncode=EXIT_INVALID) from exc
    except ProviderError as exc:
        raise CommandError(
            f"The provider answered with an error: {exc}. Check that it is reachable and the API key is set, then "
            "try again.",
            returncode=EXIT_FAILED,
        ) from exc
    except SoraVideosError as exc:
        raise CommandError(str(exc), returncode=EXIT_FAILED) from exc
    except TimeoutError as exc:
        raise CommandError(str(exc), returncode=EXIT_TIMEOUT) from exc
