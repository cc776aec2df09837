"""Turns a job into real media files: an H.264 MP4, a WebP thumbnail, a JPEG spritesheet.

Rendering is a pure function of :class:`RenderSpec`: the same spec always gives the
same bytes (x264 runs single-threaded and the muxer writes no timestamps), which is
what makes seeded jobs reproducible. Frames show the prompt, a label (the job id, or
the seed for seeded jobs), the clock, and a ball that crosses the frame so motion is
visible. Files go to disk and are served from there, never kept in memory.
"""

from __future__ import annotations

import array
import hashlib
import io
import math
import struct
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
from PIL import Image, ImageDraw, ImageFont, ImageOps

CHUNK_SIZE = 64 * 1024
SPRITE_COLUMNS = 5
SPRITE_FRAMES = 10
SPRITE_TILE_WIDTH = 256

#: variant -> (file suffix, content type)
VARIANTS: dict[str, tuple[str, str]] = {
    "video": ("mp4", "video/mp4"),
    "thumbnail": ("webp", "image/webp"),
    "spritesheet": ("jpg", "image/jpeg"),
}

_FREE_BOX_HEADER = 8
AUDIO_RATE = 44_100
_ZEROS = bytes(CHUNK_SIZE)


@dataclass(frozen=True)
class Segment:
    """A stretch of video driven by one prompt; extensions append segments."""

    prompt: str
    seconds: int


@dataclass(frozen=True)
class RenderSpec:
    """Everything the pixels depend on, and nothing else."""

    width: int
    height: int
    fps: int
    segments: tuple[Segment, ...]
    #: Text stamped on every frame: the job id, or "seed N" for seeded jobs.
    label: str
    #: Drives colours and motion; the job id, or the seed and parameters.
    seed_key: str
    #: Encoded JPEG/PNG/WebP bytes, already checked to be ``width`` x ``height``.
    reference: bytes | None = None
    #: An AAC track with a tone (vLLM-Omni's ``generate_sound``), its pitch from ``seed_key``.
    audio: bool = False

    @property
    def seconds(self) -> int:
        return sum(segment.seconds for segment in self.segments)

    @property
    def frame_count(self) -> int:
        return self.seconds * self.fps


@dataclass(frozen=True)
class Asset:
    """One rendered file as served: ``padding`` bytes of MP4 ``free`` box follow it."""

    path: Path
    content_type: str
    size: int
    sha256: str
    padding: int = 0

    def open_chunks(self) -> Iterator[bytes]:
        """The served bytes in chunks, padding generated on the fly.

        The file is opened right away, so deleting it afterwards (expiry, DELETE)
        does not break a download that has already been answered.
        """
        return _served_chunks(open(self.path, "rb"), self.padding)

    def describe(self) -> dict[str, object]:
        return {"content_type": self.content_type, "size": self.size, "sha256": self.sha256}


def valid_padding(padding: int) -> bool:
    """Whether ``padding`` bytes can be one ``free`` box (0 means no box)."""
    return padding == 0 or padding >= _FREE_BOX_HEADER


def render(
    spec: RenderSpec,
    directory: Path,
    stem: str,
    variants: Collection[str] = tuple(VARIANTS),
    padding: int = 0,
) -> dict[str, Asset]:
    """Render ``spec`` into ``directory/stem.*`` and describe each requested variant.

    The MP4 is always written (the other variants are cut from its frames);
    ``padding`` only affects how the MP4 is served, the file on disk stays small.
    """
    frame_count = spec.frame_count
    thumbnail_index = frame_count // 2
    sprite_indices = _evenly_spaced(frame_count, SPRITE_FRAMES)
    keep: set[int] = set()
    if "thumbnail" in variants:
        keep.add(thumbnail_index)
    if "spritesheet" in variants:
        keep.update(sprite_indices)

    mp4_path = directory / f"{stem}.mp4"
    kept = _encode_mp4(spec, mp4_path, keep)
    assets = {"video": _describe(mp4_path, "video", padding)}
    if "thumbnail" in variants:
        path = directory / f"{stem}.webp"
        kept[thumbnail_index].save(path, format="WEBP", quality=80, method=0)
        assets["thumbnail"] = _describe(path, "thumbnail")
    if "spritesheet" in variants:
        path = directory / f"{stem}.jpg"
        _spritesheet([kept[i] for i in sprite_indices], spec).save(path, format="JPEG", quality=80)
        assets["spritesheet"] = _describe(path, "spritesheet")
    return assets


@dataclass(frozen=True)
class VideoProbe:
    """What an uploaded source video contributes to an edit or extension."""

    width: int
    height: int
    seconds: int
    #: The first frame as PNG, used as the new job's reference image.
    first_frame: bytes


def probe_video(data: bytes) -> VideoProbe:
    """Size, whole-second duration (at least 1) and first frame of an uploaded video.

    Raises ValueError when ``data`` is not a decodable video.
    """
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            stream = container.streams.video[0]
            first = next(container.decode(stream), None)
            if first is None:
                raise ValueError("no decodable frame")
            if container.duration is not None:
                duration = container.duration / av.time_base
            else:
                duration = float((stream.duration or 0) * (stream.time_base or 0))
            png = io.BytesIO()
            first.to_image().save(png, format="PNG")
            return VideoProbe(stream.width, stream.height, max(1, round(duration)), png.getvalue())
    except av.FFmpegError as exc:
        raise ValueError(str(exc)) from None


def _describe(path: Path, variant: str, padding: int = 0) -> Asset:
    digest = hashlib.sha256()
    size = 0
    for chunk in _served_chunks(open(path, "rb"), padding):
        digest.update(chunk)
        size += len(chunk)
    return Asset(path, VARIANTS[variant][1], size, digest.hexdigest(), padding)


def _served_chunks(handle: BinaryIO, padding: int) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk
    if padding:
        yield from _free_box(padding)


def _free_box(size: int) -> Iterator[bytes]:
    """An MP4 ``free`` box of exactly ``size`` bytes (header included)."""
    if size <= 0xFFFFFFFF:
        header = struct.pack(">I4s", size, b"free")  # 32-bit size field
    else:
        header = struct.pack(">I4sQ", 1, b"free", size)
    yield header
    remaining = size - len(header)
    while remaining > 0:
        step = min(remaining, CHUNK_SIZE)
        yield _ZEROS[:step]
        remaining -= step


def _fitted(data: bytes, width: int, height: int) -> Image.Image:
    """The reference as a frame; servers that take any size crop it to the output."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    return image if image.size == (width, height) else ImageOps.fit(image, (width, height))


def _evenly_spaced(total: int, count: int) -> list[int]:
    count = min(total, count)
    if count <= 1:
        return [0][:total]
    return [round(k * (total - 1) / (count - 1)) for k in range(count)]


def _encode_mp4(spec: RenderSpec, path: Path, keep: Collection[int]) -> dict[int, Image.Image]:
    """Encode every frame; hand back the frames listed in ``keep`` for the previews."""
    kept: dict[int, Image.Image] = {}
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream(
            "libx264", rate=spec.fps, options={"preset": "ultrafast", "crf": "26", "threads": "1"}
        )
        stream.width = spec.width
        stream.height = spec.height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1
        sound = container.add_stream("aac", rate=AUDIO_RATE) if spec.audio else None  # before any packet
        if sound is not None:
            sound.layout = "mono"
        for index, image in enumerate(_Painter(spec).frames()):
            if index in keep:
                kept[index] = image
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
        if sound is not None:
            _encode_tone(container, sound, spec)
    return kept


def _encode_tone(container: av.container.OutputContainer, stream: av.AudioStream, spec: RenderSpec) -> None:
    """A sine tone as long as the video, so a player has sound to play."""
    pitch = 220 + hashlib.sha256(spec.seed_key.encode()).digest()[0] * 2
    total, step, start = int(spec.seconds * AUDIO_RATE), 1024, 0
    while start < total:
        count = min(step, total - start)
        samples = array.array("f", (0.2 * math.sin(math.tau * pitch * (start + k) / AUDIO_RATE) for k in range(count)))
        frame = av.AudioFrame(format="fltp", layout="mono", samples=count)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate, frame.pts = AUDIO_RATE, start
        container.mux(stream.encode(frame))
        start += count
    container.mux(stream.encode())


def _spritesheet(frames: list[Image.Image], spec: RenderSpec) -> Image.Image:
    tile_w = SPRITE_TILE_WIDTH
    tile_h = max(1, round(spec.height * tile_w / spec.width))
    columns = min(SPRITE_COLUMNS, len(frames))
    rows = math.ceil(len(frames) / columns)
    sheet = Image.new("RGB", (columns * tile_w, rows * tile_h))
    for n, frame in enumerate(frames):
        tile = frame.resize((tile_w, tile_h), Image.Resampling.BILINEAR, reducing_gap=2.0)
        sheet.paste(tile, ((n % columns) * tile_w, (n // columns) * tile_h))
    return sheet


class _Painter:
    """Draws the frames of one spec; static parts are drawn once per segment."""

    def __init__(self, spec: RenderSpec) -> None:
        self.spec = spec
        digest = hashlib.sha256(spec.seed_key.encode()).digest()
        self.top = (digest[0] // 2, digest[1] // 2, digest[2] // 2 + 64)
        self.bottom = (digest[3] // 4, digest[4] // 4, digest[5] // 4)
        self.ball = (128 + digest[6] // 2, 128 + digest[7] // 2, 128 + digest[8] // 2)
        self.phase = digest[9] / 255 * math.tau
        unit = max(12, min(spec.width, spec.height) // 24)
        self.font = ImageFont.load_default(size=unit)
        self.small = ImageFont.load_default(size=max(10, unit * 3 // 4))
        self.unit = unit
        self.reference = _fitted(spec.reference, spec.width, spec.height) if spec.reference else None

    def frames(self) -> Iterator[Image.Image]:
        index = 0
        for segment in self.spec.segments:
            layer = self._static_layer(segment)
            for _ in range(segment.seconds * self.spec.fps):
                if index == 0 and self.reference is not None:
                    yield self.reference.copy()
                else:
                    yield self._frame(layer, index)
                index += 1

    def _background(self) -> Image.Image:
        if self.reference is not None:
            return self.reference.copy()
        gradient = Image.linear_gradient("L").resize((self.spec.width, self.spec.height))
        return ImageOps.colorize(gradient, self.top, self.bottom)

    def _static_layer(self, segment: Segment) -> Image.Image:
        """Background plus a translucent panel holding the wrapped prompt."""
        width, height = self.spec.width, self.spec.height
        margin = self.unit
        box = (margin, height // 4, width - margin, height * 3 // 4)
        overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        draw.rounded_rectangle(box, radius=margin // 2, fill=(0, 0, 0, 150))
        line_height = round(self.unit * 1.3)
        max_lines = max(1, (box[3] - box[1] - margin) // line_height)
        lines = _wrap(segment.prompt, self.font, box[2] - box[0] - 2 * margin, max_lines)
        for n, line in enumerate(lines):
            xy = (box[0] + margin, box[1] + margin // 2 + n * line_height)
            draw.text(xy, line, font=self.font, fill=(255, 255, 255, 255))
        return Image.alpha_composite(self._background().convert("RGBA"), overlay).convert("RGB")

    def _frame(self, layer: Image.Image, index: int) -> Image.Image:
        spec = self.spec
        image = layer.copy()
        draw = ImageDraw.Draw(image)
        t = index / spec.fps
        unit = self.unit
        draw.text((unit, unit // 2), spec.label, font=self.small, fill=(255, 255, 255))
        clock = f"{t:5.2f}s / {spec.seconds}s"
        clock_x = spec.width - unit - draw.textlength(clock, font=self.small)
        draw.text((clock_x, unit // 2), clock, font=self.small, fill=(255, 255, 255))
        # A ball crossing the frame once over the whole clip, bobbing every two seconds.
        fraction = index / max(1, spec.frame_count - 1)
        radius = unit
        x = radius + fraction * (spec.width - 2 * radius)
        y = spec.height * 0.875 + math.sin(self.phase + t * math.pi) * spec.height / 16
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=self.ball)
        bar_top = spec.height - unit // 3
        draw.rectangle((0, bar_top, round(fraction * spec.width), spec.height), fill=self.ball)
        return image


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float, max_lines: int) -> list[str]:
    """Word-wrap ``text`` to ``width`` pixels; what does not fit ends in an ellipsis."""
    lines: list[str] = []
    for line in _wrapped_lines(text, font, width):
        if len(lines) == max_lines:
            last = lines[-1]
            while last and font.getlength(last + "…") > width:
                last = last[:-1]
            lines[-1] = last + "…"
            break
        lines.append(line)
    return lines


def _wrapped_lines(text: str, font: ImageFont.FreeTypeFont, width: float) -> Iterator[str]:
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= width:
            current = candidate
            continue
        if current:
            yield current
        while len(word) > 1 and font.getlength(word) > width:
            cut = _longest_fitting_prefix(word, font, width)
            yield word[:cut]
            word = word[cut:]
        current = word
    if current:
        yield current


def _longest_fitting_prefix(word: str, font: ImageFont.FreeTypeFont, width: float) -> int:
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(word[:middle]) <= width:
            low = middle
        else:
            high = middle - 1
    return low
