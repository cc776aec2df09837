"""Reference images: checked at the door, stored upright, fitted to the video size on send."""
from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from PIL import Image, ImageOps, UnidentifiedImageError

from . import conf
from .exceptions import InvalidRequest

FIT_MODES = ("crop", "letterbox")
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


@dataclass
class CheckedImage:
    content: bytes
    format: str
    width: int
    height: int
    sha256: str
    original_name: str


def _read(source: Any) -> tuple[bytes, str]:
    """Bytes and a display name from a path, an uploaded file, a file object or bytes."""
    limit = conf.get("MAX_UPLOAD_BYTES")
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), "image"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InvalidRequest(f"Reference image {str(path)!r} does not exist.", field="reference_image")
        if path.stat().st_size > limit:
            raise _too_big(path.stat().st_size, limit)
        data, name = path.read_bytes(), path.name
    else:
        fh: IO[bytes] = source
        size = getattr(source, "size", None)
        if size is not None and size > limit:
            raise _too_big(size, limit)
        if hasattr(fh, "seek"):
            fh.seek(0)
        data = fh.read(limit + 1)
        name = os.path.basename(getattr(source, "name", "") or "image")
    if len(data) > limit:
        raise _too_big(len(data), limit)
    return data, name


def file_size(size: int) -> str:
    """Bytes in binary units, as ``MAX_UPLOAD_BYTES`` is set (20 MiB is "20 MiB", not "21.0 MB")."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _too_big(size: int, limit: int) -> InvalidRequest:
    return InvalidRequest(
        f"The reference image is {file_size(size)}; the limit is {file_size(limit)}. Use a smaller file.",
        field="reference_image",
    )


def check_image(source: Any) -> CheckedImage:
    """Verify that ``source`` really is a JPEG/PNG/WebP image of sane size; apply EXIF rotation.

    Raises :class:`InvalidRequest` with a message for the user otherwise.
    """
    data, name = _read(source)
    if not data:
        raise InvalidRequest("The reference image file is empty.", field="reference_image")
    max_pixels = conf.get("MAX_IMAGE_PIXELS")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                if probe.width * probe.height > max_pixels:
                    raise InvalidRequest(
                        f"The reference image is {probe.width}x{probe.height} pixels; the limit is "
                        f"{max_pixels:,} pixels. Use a smaller image.",
                        field="reference_image",
                    )
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                upright = ImageOps.exif_transpose(img)
    except InvalidRequest:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidRequest(
            f"{name!r} declares more pixels than the limit of {max_pixels:,} (it could exhaust memory). "
            "Use a smaller image.",
            field="reference_image",
        ) from None
    except UnidentifiedImageError as exc:
        raise InvalidRequest(
            f"{name!r} is not an image we can read ({exc.__class__.__name__}). Upload a JPEG, PNG or WebP file.",
            field="reference_image",
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidRequest(
            f"{name!r} is damaged or truncated ({exc}). Upload a JPEG, PNG or WebP file.", field="reference_image"
        ) from None
    if fmt not in FORMATS:
        raise InvalidRequest(
            f"{name!r} is a {fmt} image; reference images must be JPEG, PNG or WebP.", field="reference_image"
        )
    if upright is not img:  # rotated by EXIF: store the upright pixels, not the tag
        buf = io.BytesIO()
        save_kwargs = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
        upright.save(buf, format=fmt, **save_kwargs)
        data = buf.getvalue()
    return CheckedImage(
        content=data,
        format=fmt,
        width=upright.width,
        height=upright.height,
        sha256=hashlib.sha256(data).hexdigest(),
        original_name=name[:255],
    )


def fit_image(content: bytes, size: str, mode: str = "crop") -> tuple[bytes, str]:
    """The image resized to exactly ``size``: cropped to fill, or letterboxed on black.

    Returns (bytes, content type). An image already of that size is returned untouched.
    """
    width, height = (int(v) for v in size.split("x"))
    with Image.open(io.BytesIO(content)) as img:
        fmt = img.format or "PNG"
        if img.size == (width, height) and fmt in FORMATS:
            return content, FORMATS[fmt]
        rgb = img.convert("RGB")
    if mode == "letterbox":
        fitted = ImageOps.pad(rgb, (width, height), method=Image.Resampling.LANCZOS, color=(0, 0, 0))
    elif mode == "crop":
        fitted = ImageOps.fit(rgb, (width, height), method=Image.Resampling.LANCZOS)
    else:
        raise InvalidRequest(f"Unknown fit {mode!r}: use 'crop' or 'letterbox'.", field="fit")
    buf = io.BytesIO()
    fitted.save(buf, format="PNG")
    return buf.getvalue(), "image/png"


def all_sizes() -> set[str]:
    """Every size some configured model offers."""
    return {size for config in conf.providers().values() for spec in config.models.values() for size in spec.sizes}


def fitted_reference(stored: Any, size: str, mode: str) -> tuple[bytes, str]:
    """A stored reference image (its FieldFile) as it would be sent for a video of ``size``;
    the gallery's and the admin's previews. OSError when the file is gone from storage."""
    if mode not in FIT_MODES:
        raise InvalidRequest("Fit is crop or letterbox.", field="fit")
    if size not in all_sizes():
        raise InvalidRequest("No configured model offers that size.", field="size")
    with stored.open("rb") as fh:
        content = fh.read()
    return fit_image(content, size, mode)
