"""Small helpers shared by the emulator tests."""

from __future__ import annotations

import hashlib
import io
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import av
import openai
from openai.types import Video
from PIL import Image

TERMINAL = {"completed", "failed", "expired", "deleted"}


def wait_for(client: openai.OpenAI, video_id: str, timeout: float = 30.0) -> tuple[Video, list[tuple[str, int]]]:
    """Poll until a terminal status; returns the video and every (status, progress) seen."""
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        video = client.videos.retrieve(video_id)
        seen.append((video.status, video.progress))
        if video.status in TERMINAL:
            return video, seen
        time.sleep(0.01)
    raise AssertionError(f"{video_id} not terminal after {timeout}s: {seen[-3:]}")


def wait_for_status(client: openai.OpenAI, video_id: str, wanted: str, timeout: float = 10.0) -> Video:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        video = client.videos.retrieve(video_id)
        if video.status == wanted:
            return video
        time.sleep(0.02)
    raise AssertionError(f"{video_id} did not become {wanted!r} within {timeout}s")


@dataclass(frozen=True)
class Probe:
    width: int
    height: int
    duration: float
    fps: float
    codec: str
    pix_fmt: str
    frames: int


def probe(data: bytes) -> Probe:
    """Stream facts of an MP4 as PyAV sees them, decoding every frame."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return Probe(
            width=stream.width,
            height=stream.height,
            duration=container.duration / av.time_base,
            fps=float(stream.average_rate),
            codec=stream.codec_context.name,
            pix_fmt=stream.codec_context.pix_fmt,
            frames=frames,
        )


def first_frame(data: bytes) -> Image.Image:
    with av.open(io.BytesIO(data)) as container:
        return next(container.decode(video=0)).to_image()


def all_frames(data: bytes) -> list[Image.Image]:
    with av.open(io.BytesIO(data)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def image_bytes(width: int, height: int, color: tuple[int, int, int] = (200, 40, 40), fmt: str = "PNG") -> bytes:
    """A two-tone test image (so a flipped or shifted frame would not match)."""
    image = Image.new("RGB", (width, height), color)
    image.paste((20, 40, 220), (0, 0, width // 2, height // 3))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    """Average per-channel difference of two same-size RGB images (0..255)."""
    a, b = a.convert("RGB").resize((64, 64)), b.convert("RGB").resize((64, 64))
    pairs = zip(a.tobytes(), b.tobytes(), strict=True)
    return sum(abs(x - y) for x, y in pairs) / (64 * 64 * 3)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    api_key: str | None = "sk-emulator",
    follow_redirects: bool = True,
) -> RawResponse:
    """One request outside the SDK, for what the SDK cannot send (or hides)."""
    all_headers = dict(headers or {})
    if api_key is not None:
        all_headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, data=body, method=method, headers=all_headers)
    opener = urllib.request.build_opener() if follow_redirects else urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return RawResponse(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return RawResponse(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx itself is the answer


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None) -> tuple[bytes, str]:
    """Encode a multipart/form-data body; returns it and its Content-Type."""
    boundary = "emulator-test-boundary-7d3f"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data, content_type) in (files or {}).items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
