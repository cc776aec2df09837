"""Bad input is refused at the boundary with a message, before any API call, writing nothing."""
from __future__ import annotations

import io
import struct
import zlib
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from PIL import Image

from videos import services
from videos.exceptions import BudgetExceeded, InvalidRequest, JobStateError
from videos.models import JobStatus, ReferenceImage, VideoJob

from ..support import drain, settle, sora_settings

pytestmark = pytest.mark.django_db(transaction=True)


def png(width: int, height: int, color=(10, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG that claims huge dimensions (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b"")


CASES = [
    (dict(prompt=""), "prompt", "empty"),
    (dict(prompt="   "), "prompt", "empty"),
    (dict(prompt="x" * 32001), "prompt", "32,000"),
    (dict(size="1920x1080"), "size", "720x1280, 1280x720"),
    (dict(size="big"), "size", "WIDTHxHEIGHT"),
    (dict(seconds=5), "seconds", "4, 8, 12"),
    (dict(model="sora-3"), "model", "sora-2, sora-2-pro"),
    (dict(provider="nope"), "provider", "nope"),
    (dict(extra_params={"seed": 1}), "seed", "does not accept seed"),
    (dict(fit="stretch"), "fit", "crop or letterbox"),
    (dict(reference_image=b"not an image at all"), "reference_image", "JPEG, PNG or WebP"),
    (dict(reference_image=b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), "reference_image", "JPEG, PNG or WebP"),
    (dict(reference_image="/does/not/exist.png"), "reference_image", "does not exist"),
]


@pytest.mark.parametrize("kwargs, field, fragment", CASES)
def test_refused_before_any_call(sora, kwargs, field, fragment):
    kwargs = {"prompt": "A fox in the snow", **kwargs}
    with pytest.raises(InvalidRequest) as err:
        services.create_video(kwargs.pop("prompt"), **kwargs)
    assert err.value.field == field
    assert fragment in str(err.value)
    assert VideoJob.objects.count() == 0 and ReferenceImage.objects.count() == 0
    drain()
    assert sum(sora.stats()["requests"].values()) == 0


def test_gif_is_refused_by_content_not_name(sora):
    buf = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buf, format="GIF")
    upload = io.BytesIO(buf.getvalue())
    upload.name = "looks-fine.png"
    with pytest.raises(InvalidRequest) as err:
        services.create_video("A fox", reference_image=upload)
    assert "GIF" in str(err.value) and "looks-fine.png" in str(err.value)


def test_decompression_bomb_is_refused(sora):
    with pytest.raises(InvalidRequest) as err:
        services.create_video("A fox", reference_image=bomb_png())
    assert "pixels" in str(err.value)
    assert VideoJob.objects.count() == 0


def test_oversized_upload_is_refused(sora, settings):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "MAX_UPLOAD_BYTES": 1000}
    with pytest.raises(InvalidRequest) as err:
        services.create_video("A fox", reference_image=png(300, 300, (1, 2, 3)) + b"\x00" * 2000)
    assert "limit" in str(err.value)


def test_exif_orientation_is_applied(sora):
    image = Image.new("RGB", (200, 100), (255, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    buf = io.BytesIO()
    image.save(buf, format="JPEG", exif=exif)
    ref = services.save_reference_image(buf.getvalue())
    assert (ref.width, ref.height) == (100, 200) and ref.format == "JPEG"


def test_same_image_is_stored_once(sora):
    a = services.save_reference_image(png(100, 100))
    b = services.save_reference_image(png(100, 100))
    assert a.pk == b.pk


def test_remix_of_unfinished_job_is_refused(sora):
    job = services.create_video("A fox in the snow")
    with pytest.raises(JobStateError) as err:
        services.remix(job, "In autumn")
    assert "completed" in str(err.value)
    with pytest.raises(JobStateError):
        services.extend(job, "Further", seconds=4)


def test_extension_length_is_checked(sora):
    [job] = settle([services.create_video("A fox in the snow")])
    calls = sum(sora.stats()["requests"].values())
    with pytest.raises(InvalidRequest) as err:
        services.extend(job, "Further", seconds=7)
    assert "4, 8, 12, 16, 20" in str(err.value)
    assert sum(sora.stats()["requests"].values()) == calls


@pytest.mark.parametrize("action", ["remix", "edit", "extend"])
def test_actions_a_dialect_lacks_are_refused_with_the_reason(action, emulators, settings, tmp_path):
    emu = emulators.get(dialect="sglang")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu, provider={"DIALECT": "sglang"})
    [job] = settle([services.create_video("Waves", size="1280x720")])
    kwargs = {"seconds": 4} if action == "extend" else {}
    with pytest.raises(InvalidRequest) as err:
        getattr(services, action)(job, "Something else", **kwargs)
    assert "sglang" in str(err.value)


def test_user_budget_refusal_names_the_budget_and_what_is_left(sora, settings):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "USER_MONTHLY_BUDGET": "1.00"}
    user = User.objects.create_user("ana")
    services.create_video("A", seconds=8, user=user)  # 0.80
    with pytest.raises(BudgetExceeded) as err:
        services.create_video("B", seconds=4, user=user)  # 0.40 more would be 1.20
    message = str(err.value)
    assert "1.00 USD" in message and "0.20 USD is left" in message and "0.40 USD" in message
    assert err.value.remaining == Decimal("0.20")
    assert VideoJob.objects.count() == 1


def test_group_budget(sora, settings):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "GROUP_MONTHLY_BUDGETS": {"interns": "0.50"}}
    group = Group.objects.create(name="interns")
    a, b = User.objects.create_user("a"), User.objects.create_user("b")
    group.user_set.add(a, b)
    services.create_video("A", seconds=4, user=a)  # 0.40
    with pytest.raises(BudgetExceeded) as err:
        services.create_video("B", seconds=4, user=b)
    assert "interns" in str(err.value)


def test_failed_jobs_that_never_reached_the_provider_do_not_count(sora, settings):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "USER_MONTHLY_BUDGET": "0.50"}
    user = User.objects.create_user("ana")
    job = services.create_video("A", seconds=4, user=user)
    job.transition(JobStatus.FAILED, expect=(JobStatus.PENDING,))  # refused before the provider made it
    services.create_video("B", seconds=4, user=user)  # fits again: the first was never billed


def test_the_upload_limit_is_said_in_the_unit_it_is_set_in(sora, settings):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "MAX_UPLOAD_BYTES": 20 * 1024 * 1024}
    with pytest.raises(InvalidRequest) as err:
        services.create_video("A fox", reference_image=png(300, 300, (1, 2, 3)) + b"\x00" * (21 * 1024 * 1024))
    assert "the limit is 20 MiB" in str(err.value) and "21 MiB" in str(err.value)
