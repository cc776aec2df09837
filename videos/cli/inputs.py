"""Turning command-line text into what the services take, refusing bad input early.

Everything here raises :class:`~videos.exceptions.InvalidRequest` with a message for
the user, before anything is written or sent.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Iterable

from django.contrib.auth import get_user_model

from ..exceptions import InvalidRequest
from ..models import Project, Sequence, VideoJob

#: Extra-parameter flags of ``generate`` (dest -> body field); ``--param KEY=VALUE`` covers any other.
EXTRA_FLAGS = ("seed", "negative_prompt", "fps", "num_frames", "guidance_scale", "num_inference_steps")

_GLOB_CHARS = set("*?[")


def expand_images(values: Iterable[str] | None) -> list[str]:
    """``-i`` values -> paths: comma lists and globs, in the order given.

    A glob expands to its matches sorted by name; a pattern that matches nothing, or a
    path that is not a file, is an error.
    """
    paths: list[str] = []
    for value in values or ():
        for item in str(value).split(","):
            item = item.strip()
            if not item:
                continue
            expanded = os.path.expanduser(item)
            if _GLOB_CHARS & set(expanded):
                matches = sorted(p for p in glob.glob(expanded) if os.path.isfile(p))
                if not matches:
                    raise InvalidRequest(f"Image pattern {item!r} matches no file.", field="image")
                paths.extend(matches)
            elif os.path.isdir(expanded):
                raise InvalidRequest(
                    f"Image {item!r} is a folder; name the files, or use a pattern such as {item.rstrip('/')}/*.jpg.",
                    field="image",
                )
            elif not os.path.isfile(expanded):
                raise InvalidRequest(f"Image file {item!r} does not exist.", field="image")
            else:
                paths.append(expanded)
    return paths


def read_shot_prompts(path: str) -> list[str]:
    """One prompt per line; blank lines and lines starting with # are skipped."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidRequest(f"Cannot read the shot prompts file {path!r}: {exc.strerror or exc}.",
                             field="shot_prompts") from None
    prompts = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not prompts:
        raise InvalidRequest(f"The shot prompts file {path!r} has no prompts (one per line).", field="shot_prompts")
    return prompts


def parse_value(text: str) -> Any:
    """A command-line value as JSON would read it (42, 0.5, true), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def extra_params(options: dict[str, Any]) -> dict[str, Any]:
    """The provider-specific fields asked for with their own flags or ``--param KEY=VALUE``."""
    extras = {name: options[name] for name in EXTRA_FLAGS if options.get(name) is not None}
    for item in options.get("param") or ():
        key, sep, value = str(item).partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise InvalidRequest(f"--param {item!r} is not KEY=VALUE (e.g. --param guidance_scale=5).", field="param")
        if key in extras:
            raise InvalidRequest(f"{key} is given twice (by its own flag and by --param); give it once.", field=key)
        extras[key] = parse_value(value.strip())
    return extras


def resolve_job(text: str, *, provider: str | None = None) -> VideoJob:
    """A job by local id, uuid or remote id."""
    text = str(text).strip()
    qs = VideoJob.objects.all()
    if provider:
        qs = qs.filter(provider=provider)
    if text.isdigit():
        job = qs.filter(pk=int(text)).first()
        if job is not None:
            return job
    try:
        key = uuid.UUID(text)
    except ValueError:
        pass
    else:
        job = qs.filter(uuid=key).first()
        if job is not None:
            return job
    matches = list(qs.filter(remote_id=text)[:2])
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InvalidRequest(
            f"Remote id {text!r} is known at several providers ({', '.join(j.provider for j in matches)}); "
            "add --provider NAME.",
            field="id",
        )
    raise InvalidRequest(
        f"No job has the id, uuid or remote id {text!r}. List recent jobs with: manage.py sora status", field="id"
    )


def resolve_sequence(text: str) -> Sequence:
    text = str(text).strip()
    found = None
    if text.isdigit():
        found = Sequence.objects.filter(pk=int(text)).first()
    else:
        try:
            found = Sequence.objects.filter(uuid=uuid.UUID(text)).first()
        except ValueError:
            pass
    if found is None:
        raise InvalidRequest(
            f"No sequence has the id or uuid {text!r}. List them with: manage.py sora sequence list", field="sequence"
        )
    return found


def resolve_user(username: str | None) -> Any:
    """The user a submission is made for (their budget applies), or None."""
    if not username:
        return None
    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    if user is None:
        raise InvalidRequest(f"No user named {username!r}.", field="user")
    if not user.is_active:
        raise InvalidRequest(f"User {username!r} is inactive.", field="user")
    return user


def output_path(given: str | None, default_name: str) -> Path:
    """Where to write a file: ``given`` (a file, or a folder to put ``default_name`` in), else the cwd.

    Checked up front, so a wait never ends in a path that cannot be written.
    """
    path = Path(given).expanduser() if given else Path(default_name)
    if path.is_dir():
        path = path / default_name
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidRequest(f"Cannot write {str(path)!r}: the folder {str(parent)!r} does not exist.", field="output")
    if not os.access(parent, os.W_OK):
        raise InvalidRequest(f"Cannot write {str(path)!r}: the folder {str(parent)!r} is not writable.",
                             field="output")
    return path


def write_file(field_file: Any, path: Path) -> int:
    """Copy a stored file to ``path`` whole (written beside it, then renamed); returns bytes."""
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        with field_file.open("rb") as src, open(staging, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        os.replace(staging, path)
    finally:
        field_file.close()
        staging.unlink(missing_ok=True)
    return path.stat().st_size


def resolve_project(name: str | None) -> Any:
    """The project named on the command line, or None."""
    if not name:
        return None
    project = Project.objects.filter(name=name).first()
    if project is None:
        known = ", ".join(Project.objects.values_list("name", flat=True)[:20]) or "none yet"
        raise InvalidRequest(f"No project named {name!r} (projects: {known}).", field="project")
    return project
