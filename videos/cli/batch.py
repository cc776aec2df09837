"""Batch files: many videos from one CSV (with a header) or JSONL file.

Every row is validated before anything is submitted; invalid rows are reported with
their line number and reason, and the valid ones are submitted through
``services.create_video`` (the submission layer makes jobs wait for the provider's
limits; a budget refusal is reported per row).
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .. import conf, presets, services
from ..exceptions import ConfigurationError, InvalidRequest, SoraVideosError
from ..images import check_image
from ..models import VideoJob
from ..validation import check_request, parse_size
from .inputs import parse_value

BASE_COLUMNS = ("prompt", "image", "model", "size", "seconds", "duration", "width", "height", "provider", "fit")
#: Columns that are extra body fields (accepted only where the provider's model table allows them).
EXTRA_COLUMNS = tuple(dict.fromkeys(("seed", *presets.DIFFUSION_EXTRA_PARAMS)))
COLUMNS = BASE_COLUMNS + EXTRA_COLUMNS
JSONL_SUFFIXES = (".jsonl", ".ndjson")
_SIZE = re.compile(r"\d+\s*[x×]\s*\d+", re.IGNORECASE)


@dataclass
class Row:
    line: int
    data: dict[str, Any]
    error: str = ""
    outcome: str = ""  # invalid, refused, or the job's status
    request: dict[str, Any] = field(default_factory=dict)
    cost: Decimal | None = None
    job: VideoJob | None = None


def _is_jsonl(path: Path, text: str) -> bool:
    if path.suffix.lower() in JSONL_SUFFIXES:
        return True
    if path.suffix.lower() == ".csv":
        return False
    return text.lstrip().startswith("{")


def read_rows(path_text: str) -> list[Row]:
    """The file's rows with their line numbers; a file-level problem raises InvalidRequest."""
    path = Path(path_text).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidRequest(f"Cannot read the batch file {path_text!r}: {exc.strerror or exc}.", field="file") from None
    except UnicodeDecodeError:
        raise InvalidRequest(f"The batch file {path_text!r} is not UTF-8 text.", field="file") from None
    rows = _read_jsonl(text) if _is_jsonl(path, text) else _read_csv(text, path_text)
    if not rows:
        raise InvalidRequest(f"The batch file {path_text!r} has no rows.", field="file")
    return rows


def _read_jsonl(text: str) -> list[Row]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            rows.append(Row(number, {}, error=f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(data, dict):
            rows.append(Row(number, {}, error="not a JSON object such as {\"prompt\": \"...\"}"))
            continue
        unknown = sorted(str(k) for k in data if k not in COLUMNS)
        if unknown:
            rows.append(Row(number, data, error=f"unknown key(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}"))
            continue
        rows.append(Row(number, data))
    return rows


_NUMERIC = {"seconds", "duration", "width", "height", "seed", "fps", "num_frames", "num_inference_steps"}


def _looks_like_a_row(fields: list[str], headers: list[str]) -> bool:
    """One line that, read alone, is a whole row: every column, each value of its column's kind."""
    if len(fields) != len(headers):
        return False
    for header, raw in zip(headers, fields):
        value = raw.strip()
        if header == "prompt" and not value:
            return False
        if value and header in _NUMERIC and not value.lstrip("-").replace(".", "", 1).isdigit():
            return False
        if value and header == "size" and not _SIZE.fullmatch(value):
            return False
        if value and header == "model" and " " in value:
            return False
    return True


def _swallowed_rows(lines: list[str], first: int, end: int, headers: list[str]) -> list[int]:
    """Lines (1-based) inside one record's multi-line value that read as rows of their own.

    A line break inside a quoted value is fine when meant (a long prompt); a quote that was
    never meant to open (``"unterminated quote,,sora-2,...``) swallows the next rows, each a
    whole row on its own line. The record's last line (where the quote closes) is its own.
    """
    found = []
    for number in range(first + 1, end):
        try:
            fields = next(csv.reader([lines[number - 1]]), [])
        except (csv.Error, IndexError):
            continue
        if _looks_like_a_row(fields, headers):
            found.append(number)
    return found


def _read_csv(text: str, name: str) -> list[Row]:
    lines = text.splitlines()
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\0extra", strict=True)
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not headers:
        raise InvalidRequest(f"The batch file {name!r} has no header line (e.g. prompt,image,size,seconds).",
                             field="file")
    unknown = [h for h in headers if h not in COLUMNS]
    if unknown:
        raise InvalidRequest(
            f"Line 1 of {name!r}: unknown column(s) {', '.join(repr(h) for h in unknown)}; known columns: "
            f"{', '.join(COLUMNS)}.",
            field="file",
        )
    if "prompt" not in headers:
        raise InvalidRequest(f"Line 1 of {name!r}: the header needs a 'prompt' column.", field="file")
    reader.fieldnames = headers
    rows = []
    end = reader.line_num
    while True:
        first = end + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a quote never closed before the end of the file
            raise InvalidRequest(
                f"Line {first} of {name!r}: {exc}. A quote opened on or after line {first} is never closed, so "
                "every line after it would be read as one prompt. Close or remove the quote; nothing was sent.",
                field="file",
            ) from None
        end = reader.line_num
        swallowed = _swallowed_rows(lines, first, end, headers)
        if swallowed:
            raise InvalidRequest(
                f"Line {first} of {name!r}: a quoted value runs on to line {end}, over {len(swallowed)} line(s) "
                f"that look like rows of their own ({', '.join(map(str, swallowed[:5]))}"
                f"{', ...' if len(swallowed) > 5 else ''}); a line break inside a value must be quoted on purpose. "
                "Close the quote on its line; nothing was sent.",
                field="file",
            )
        start = end  # where the record ends: its line, unless a quoted value spans lines
        extra = record.pop("\0extra", None)
        data = {k: (v.strip() if isinstance(v, str) else v) for k, v in record.items()}
        if not any(data.values()) and not extra:
            continue
        if extra:
            rows.append(Row(start, data, error=f"{len(headers) + len(extra)} values for {len(headers)} columns "
                                                "(quote a value that contains a comma)"))
            continue
        rows.append(Row(start, {k: v for k, v in data.items() if v not in (None, "")}))
    return rows


def validate(row: Row, *, base_dir: Path, defaults: dict[str, Any]) -> None:
    """Check one row as ``create_video`` would, without writing or sending anything."""
    if row.error:
        row.outcome = "invalid"
        return
    data = row.data
    try:
        provider_name = data.get("provider") or defaults.get("provider")
        config = conf.provider(provider_name)
        if "seconds" in data and "duration" in data and str(data["seconds"]) != str(data["duration"]):
            raise InvalidRequest("seconds and duration disagree; give one of them.", field="seconds")
        size = parse_size(data.get("size"), width=_int(data, "width"), height=_int(data, "height")) or defaults.get(
            "size")
        seconds = data.get("seconds", data.get("duration", defaults.get("seconds")))
        extras = {k: parse_value(str(v)) if isinstance(v, str) else v for k, v in data.items() if k in EXTRA_COLUMNS}
        req = check_request(
            config, prompt=str(data.get("prompt") or ""), model=data.get("model") or defaults.get("model"),
            size=size, seconds=seconds, extra_params=extras,
        )
        image = None
        if data.get("image"):
            image = Path(str(data["image"])).expanduser()
            if not image.is_absolute():
                image = base_dir / image
            check_image(image)
        fit = data.get("fit") or defaults.get("fit")
        if fit is not None and fit not in ("crop", "letterbox"):
            raise InvalidRequest(f"Unknown fit {fit!r}: use crop or letterbox.", field="fit")
    except (InvalidRequest, ConfigurationError) as exc:
        row.error = getattr(exc, "message", None) or str(exc)
        row.outcome = "invalid"
        return
    row.cost = req.model.cost(req.size, req.seconds)
    row.request = {
        "prompt": req.prompt, "model": req.model.name, "size": req.size, "seconds": req.seconds,
        "provider": config.name, "extra_params": req.extra_params, "reference_image": image, "fit": fit,
    }


def _int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"{key} must be a whole number of pixels, not {value!r}.", field=key) from None


def submit(row: Row, *, user: Any) -> None:
    """Queue one valid row; a refusal (budget, a race) is recorded on the row."""
    try:
        row.job = services.create_video(
            row.request["prompt"], model=row.request["model"], size=row.request["size"],
            seconds=row.request["seconds"], reference_image=row.request["reference_image"],
            provider=row.request["provider"], user=user, extra_params=row.request["extra_params"],
            fit=row.request["fit"],
        )
        row.outcome = row.job.status
    except SoraVideosError as exc:
        row.error = getattr(exc, "message", None) or str(exc)
        row.outcome = "refused"
