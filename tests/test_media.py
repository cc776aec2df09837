"""media.probe reads a clip's size and length from its header, and still reads files whose header does not say."""
from __future__ import annotations

import av
import pytest
from PIL import Image

from videos import media


def _encode(path, container_format: str, *, codec: str = "libx264", size=(96, 160), frames: int = 3) -> None:
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=1 if codec == "libx264" else 25)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for index in range(frames):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, (index * 60, 90, 200)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_an_mp4_is_probed_from_its_header(tmp_path):
    path = tmp_path / "clip.mp4"
    _encode(path, "mp4")
    info = media.probe(path)
    assert (info.width, info.height, info.codec, info.frames) == (96, 160, "h264", 3)
    assert info.duration == pytest.approx(3, abs=0.01)
    # the header alone gives what decoding the first frames gives, so probe needs no second look
    assert media._probe(path, media._HEADER_ONLY) == media._probe(path, None) == info


def test_a_stream_that_names_its_streams_only_once_read_is_probed_the_full_way(tmp_path):
    path = tmp_path / "clip.mpg"  # MPEG program stream: PyAV refuses per-stream options for it
    _encode(path, "mpeg", codec="mpeg2video", size=(64, 48))
    with pytest.raises(ValueError):  # so probe's fallback is what reads it
        media._probe(path, media._HEADER_ONLY)
    info = media.probe(path)
    assert (info.width, info.height, info.codec) == (64, 48, "mpeg2video")


def test_a_file_that_is_no_video_says_so(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    with pytest.raises(media.MediaError, match="not a readable video"):
        media.probe(path)
