"""The renderer in-process: determinism, geometry, previews and the padding box."""

from __future__ import annotations

import io
import itertools

import av
from PIL import Image, ImageFont

from videos.emulator.forms import UploadedFile, parse_body
from videos.emulator.render import RenderSpec, Segment, _free_box, _wrap, probe_video, render, valid_padding

from .helpers import multipart, probe


def spec(**changes) -> RenderSpec:
    base = {
        "width": 480,
        "height": 832,
        "fps": 4,
        "segments": (Segment("A quiet harbour at dawn", 2),),
        "label": "seed 1",
        "seed_key": "seed-1",
    }
    return RenderSpec(**{**base, **changes})


def test_same_spec_same_bytes_different_label_different_bytes(tmp_path):
    first = render(spec(), tmp_path, "a")
    again = render(spec(), tmp_path, "b")
    other = render(spec(label="seed 2"), tmp_path, "c")
    for variant in ("video", "thumbnail", "spritesheet"):
        assert first[variant].sha256 == again[variant].sha256
    assert first["video"].sha256 != other["video"].sha256


def test_segments_add_up_to_the_duration(tmp_path):
    assets = render(spec(segments=(Segment("one", 2), Segment("two", 3))), tmp_path, "x", variants=("video",))
    assert set(assets) == {"video"}
    facts = probe(assets["video"].path.read_bytes())
    assert (facts.width, facts.height, facts.frames) == (480, 832, 20) and facts.duration == 5


def test_spritesheet_is_a_five_column_grid(tmp_path):
    assets = render(spec(), tmp_path, "s")
    sheet = Image.open(assets["spritesheet"].path)
    assert sheet.format == "JPEG" and sheet.width == 5 * 256
    assert sheet.height == 2 * round(832 * 256 / 480)  # 8 frames -> 2 rows


def test_padding_is_an_mp4_free_box_served_after_the_file(tmp_path):
    asset = render(spec(), tmp_path, "p", variants=("video",), padding=100_000)["video"]
    on_disk = asset.path.read_bytes()
    served = b"".join(asset.open_chunks())
    assert len(served) == asset.size == len(on_disk) + 100_000
    assert served[len(on_disk) :][:8] == (100_000).to_bytes(4, "big") + b"free"
    with av.open(io.BytesIO(served)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 8


def test_huge_padding_uses_a_64_bit_box_header():
    header = next(_free_box(2**33))
    assert header == (1).to_bytes(4, "big") + b"free" + (2**33).to_bytes(8, "big")
    assert sum(len(chunk) for chunk in itertools.islice(_free_box(2**20), 100)) == 2**20
    assert not valid_padding(7) and valid_padding(0) and valid_padding(8)


def test_long_prompts_are_wrapped_and_ellipsized():
    font = ImageFont.load_default(size=20)
    lines = _wrap("word " * 5000 + "x" * 300, font, 300, max_lines=4)
    assert len(lines) == 4 and lines[-1].endswith("…")
    assert all(font.getlength(line) <= 300 for line in lines)
    assert _wrap("y" * 400, font, 300, max_lines=10)[0].startswith("yyy")


def test_probe_reads_an_uploaded_clip(tmp_path):
    asset = render(spec(), tmp_path, "u", variants=("video",))["video"]
    facts = probe_video(asset.path.read_bytes())
    assert (facts.width, facts.height, facts.seconds) == (480, 832, 2)
    assert Image.open(io.BytesIO(facts.first_frame)).size == (480, 832)


def test_multipart_nested_names_become_objects():
    body, content_type = multipart(
        {"video[id]": "video_1", "prompt": "p"}, {"input_reference": ("a.png", b"\x89PNG", "image/png")}
    )
    fields, encoding = parse_body(content_type, body)
    assert encoding == "multipart"
    assert fields == {
        "video": {"id": "video_1"},
        "prompt": "p",
        "input_reference": UploadedFile("a.png", "image/png", b"\x89PNG"),
    }
