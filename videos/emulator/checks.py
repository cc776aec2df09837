"""Request checks the spec's servers apply, shared by the dialects that apply them.

Error messages follow OpenAI's wording where it is known, so clients that show them
to users get realistic text.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Mapping
from typing import Any

from PIL import Image

from videos.emulator.forms import UploadedFile
from videos.emulator.protocol import ApiError
from videos.emulator.state import PlannedFailure

MAX_PROMPT_CHARS = 32_000
REFERENCE_FORMATS = ("JPEG", "PNG", "WEBP")

#: Names that make a prompt fail moderation after it was accepted, like the real service.
_PROTECTED_CHARACTERS = re.compile(
    r"\b(?:super\s+)?(?:mario|luigi|spongebob|mickey\s+mouse|minnie\s+mouse|donald\s+duck|pikachu"
    r"|darth\s+vader|spider[-\s]?man|elsa|harry\s+potter|batman|superman|iron\s+man|shrek|yoda"
    r"|homer\s+simpson|bugs\s+bunny|hello\s+kitty|sonic\s+the\s+hedgehog|buzz\s+lightyear"
    r"|winnie\s+the\s+pooh|optimus\s+prime)\b",
    re.IGNORECASE,
)

#: Extra diffusion fields -> (type, minimum, maximum); multipart sends them as text.
_EXTRA_TYPES: dict[str, tuple[type, float, float]] = {
    "seed": (int, 0, 2**63 - 1),
    "fps": (int, 1, 60),
    "num_frames": (int, 1, 10_000),
    "num_inference_steps": (int, 1, 1_000),
    "guidance_scale": (float, 0.0, 100.0),
}


def moderation(prompt: str) -> PlannedFailure | None:
    found = _PROTECTED_CHARACTERS.search(prompt)
    if found is None:
        return None
    return PlannedFailure(
        "moderation_blocked",
        f"Your request was blocked by our moderation system: the prompt references {found.group(0)!r}, "
        "a third-party character protected by copyright. Please revise the prompt.",
        at_progress=0,
    )


def reject_unknown(body: Mapping[str, Any], allowed: set[str]) -> None:
    for name in body:
        if name not in allowed:
            raise ApiError(400, f"Unknown parameter: {name!r}.", param=name, code="unknown_parameter")


def prompt_of(body: Mapping[str, Any]) -> str:
    prompt = body.get("prompt")
    if prompt is None:
        raise ApiError(400, "Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter")
    if not isinstance(prompt, str):
        raise ApiError(400, "Invalid type for 'prompt': expected a string.", param="prompt", code="invalid_type")
    if not prompt.strip():
        raise ApiError(400, "prompt must not be empty.", param="prompt", code="invalid_value")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ApiError(
            400,
            f"prompt is too long: {len(prompt)} characters, at most {MAX_PROMPT_CHARS} are allowed.",
            param="prompt",
            code="string_above_max_length",
        )
    return prompt


def choice(body: Mapping[str, Any], name: str, allowed: Any, default: str | None) -> str:
    """A string from ``allowed``; like the real API, ``"seconds": 4`` (a number) is refused."""
    value = body.get(name, default)
    if value is None:
        raise ApiError(400, f"Missing required parameter: {name!r}.", param=name, code="missing_required_parameter")
    supported = ", ".join(repr(item) for item in allowed)
    if not isinstance(value, str):
        raise ApiError(
            400,
            f"Invalid type for {name!r}: expected one of {supported} as a string, but got {type(value).__name__}.",
            param=name,
            code="invalid_type",
        )
    if value not in allowed:
        raise ApiError(
            400,
            f"Invalid value {value!r} for {name!r}. Supported values are: {supported}.",
            param=name,
            code="invalid_value",
        )
    return value


def extra_value(name: str, value: Any) -> Any:
    """Coerce an extra diffusion field (text in multipart) to its type, within bounds."""
    if name not in _EXTRA_TYPES:
        if not isinstance(value, str):
            raise ApiError(400, f"Invalid type for {name!r}: expected a string.", param=name, code="invalid_type")
        return value
    kind, low, high = _EXTRA_TYPES[name]
    try:
        if isinstance(value, bool) or (kind is int and isinstance(value, float)):
            raise ValueError
        number = kind(value)
    except (TypeError, ValueError):
        raise ApiError(
            400, f"Invalid type for {name!r}: expected {kind.__name__}.", param=name, code="invalid_type"
        ) from None
    if not low <= number <= high:
        raise ApiError(400, f"{name} must be between {low:g} and {high:g}.", param=name, code="invalid_value")
    return number


def int_param(query: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be an integer between {low} and {high}.", param=name, code="invalid_value")
    return value


def reference_image(value: Any, width: int, height: int) -> bytes | None:
    """The reference image bytes, checked to be JPEG/PNG/WebP of exactly the output size."""
    if value is None:
        return None
    if isinstance(value, UploadedFile):
        data = value.data
    elif isinstance(value, Mapping):
        data = image_url_bytes(value)
    else:
        raise ApiError(
            400,
            "input_reference must be an uploaded image file or an object with image_url.",
            param="input_reference",
            code="invalid_type",
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format, image_size = image.format, image.size
            if image_format in REFERENCE_FORMATS and image_size == (width, height):
                image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ApiError(
            400, "input_reference is not a readable image.", param="input_reference", code="invalid_image"
        ) from None
    if image_format not in REFERENCE_FORMATS:
        raise ApiError(
            400,
            f"Unsupported input_reference format {image_format}; use JPEG, PNG or WebP.",
            param="input_reference",
            code="invalid_image_format",
        )
    if image_size != (width, height):
        raise ApiError(
            400,
            f"input_reference is {image_size[0]}x{image_size[1]} but the requested size is {width}x{height}; "
            "they must match.",
            param="input_reference",
            code="invalid_image_dimensions",
        )
    return data


def image_url_bytes(value: Mapping[str, Any]) -> bytes:
    reject_unknown(value, {"image_url", "file_id"})
    if value.get("file_id") is not None:
        raise ApiError(
            400,
            "input_reference.file_id is not supported; upload the image or send it as an image_url data URL.",
            param="input_reference.file_id",
            code="unsupported_value",
        )
    url = value.get("image_url")
    if not isinstance(url, str) or not url:
        raise ApiError(
            400,
            "input_reference needs image_url or file_id.",
            param="input_reference",
            code="missing_required_parameter",
        )
    header, comma, payload = url.partition(",")
    if not url.startswith("data:") or not comma or not header.endswith(";base64"):
        raise ApiError(
            400,
            "The emulator cannot fetch remote images; send image_url as a base64 data: URL.",
            param="input_reference.image_url",
            code="unsupported_value",
        )
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error:
        raise ApiError(
            400,
            "input_reference.image_url is not valid base64.",
            param="input_reference.image_url",
            code="invalid_value",
        ) from None
