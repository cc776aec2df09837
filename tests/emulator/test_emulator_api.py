"""The openai dialect end to end, driven through the real openai SDK over HTTP."""

from __future__ import annotations

import base64
import io
import time

import openai
import pytest
from openai.types import Video
from PIL import Image

from videos.emulator.testing import EmulatorProcess

from .helpers import (
    all_frames,
    first_frame,
    image_bytes,
    mean_abs_diff,
    multipart,
    probe,
    raw_request,
    sha256,
    wait_for,
)


@pytest.fixture
def pending_emulator(emulator_pool) -> EmulatorProcess:
    """Jobs here take a minute, so they stay queued/in progress for the whole test."""
    return emulator_pool.get(generation_time=60)


def complete(emulator: EmulatorProcess, sdk: openai.OpenAI, **create: str) -> Video:
    video = sdk.videos.create(**{"prompt": "A lighthouse in a storm", **create})
    assert emulator.complete(video.id)["status"] == "completed"
    return sdk.videos.retrieve(video.id)


def test_lifecycle_then_every_variant_downloads(emulator, sdk):
    video = sdk.videos.create(prompt="A red fox trotting through fresh snow", size="1280x720", seconds="4")
    assert (video.status, video.progress, video.model, video.size, video.seconds) == (
        "queued",
        0,
        "sora-2",
        "1280x720",
        "4",
    )
    assert video.id.startswith("video_") and video.completed_at is None and video.expires_at is None

    done, seen = wait_for(sdk, video.id)
    progress = [value for status, value in seen if status == "in_progress"]
    assert progress and progress == sorted(progress) and all(0 <= value <= 99 for value in progress)
    assert {status for status, _ in seen} <= {"queued", "in_progress", "completed"}
    assert (done.status, done.progress, done.error) == ("completed", 100, None)
    assert done.completed_at >= done.created_at and done.expires_at == done.completed_at + 3600

    mp4 = sdk.videos.download_content(video.id).read()
    facts = probe(mp4)
    assert (facts.width, facts.height, facts.codec, facts.pix_fmt) == (1280, 720, "h264", "yuv420p")
    assert abs(facts.duration - 4) <= 1 / facts.fps
    assert facts.frames == 4 * 4  # the test emulator renders at 4 fps

    thumbnail = sdk.videos.download_content(video.id, variant="thumbnail").read()
    spritesheet = sdk.videos.download_content(video.id, variant="spritesheet").read()
    assert Image.open(io.BytesIO(thumbnail)).format == "WEBP"
    assert Image.open(io.BytesIO(thumbnail)).size == (1280, 720)
    assert Image.open(io.BytesIO(spritesheet)).format == "JPEG"

    assets = emulator.job(video.id)["emulator"]["assets"]
    for variant, data in (("video", mp4), ("thumbnail", thumbnail), ("spritesheet", spritesheet)):
        assert (assets[variant]["sha256"], assets[variant]["size"]) == (sha256(data), len(data))


@pytest.mark.parametrize(
    ("model", "size", "seconds"),
    [("sora-2", "720x1280", "12"), ("sora-2-pro", "1792x1024", "8"), ("sora-2-pro", "1024x1792", "4")],
)
def test_mp4_has_the_requested_geometry_and_duration(emulator, sdk, model, size, seconds):
    video = complete(emulator, sdk, model=model, size=size, seconds=seconds)
    facts = probe(sdk.videos.download_content(video.id).read())
    assert f"{facts.width}x{facts.height}" == size
    assert abs(facts.duration - int(seconds)) <= 1 / facts.fps


def test_defaults_are_the_first_model_and_size_and_four_seconds(emulator, sdk):
    video = sdk.videos.create(prompt="Waves")
    assert (video.model, video.size, video.seconds) == ("sora-2", "720x1280", "4")


def test_retrieve_sends_a_poll_hint_and_create_and_poll_finishes(emulator, sdk):
    video = sdk.videos.create(prompt="Clouds")
    raw = sdk.videos.with_raw_response.retrieve(video.id)
    assert int(raw.headers["openai-poll-after-ms"]) >= 100
    assert sdk.videos.create_and_poll(prompt="More clouds").status == "completed"


def test_list_paginates_in_both_orders_and_skips_deleted(emulator, sdk):
    ids = [sdk.videos.create(prompt=f"clip {n}").id for n in range(5)]
    sdk.videos.delete(ids[2])
    expected = [ids[0], ids[1], ids[3], ids[4]]

    first = sdk.videos.list(limit=2, order="asc")
    assert [v.id for v in first.data] == expected[:2] and first.has_more
    assert [v.id for v in sdk.videos.list(limit=2, order="asc")] == expected  # auto-pagination uses `after`
    assert [v.id for v in sdk.videos.list()] == expected[::-1]  # default: newest first
    assert [v.id for v in sdk.videos.list(order="asc", after=ids[2]).data] == expected[
        2:
    ]  # a deleted cursor still works

    page = raw_request("GET", f"{emulator.base_url}/videos?limit=100&order=desc").json()
    assert page["object"] == "list" and page["first_id"] == ids[4] and page["last_id"] == ids[0]
    assert page["has_more"] is False


@pytest.mark.parametrize("query", ["limit=-1", "limit=101", "limit=ten", "order=sideways", "after=video_nope"])
def test_list_rejects_bad_parameters(emulator, sdk, query):
    response = raw_request("GET", f"{emulator.base_url}/videos?{query}")
    assert response.status == 400
    assert response.json()["error"]["param"] == query.split("=")[0]


def test_delete_then_the_video_is_gone(emulator, sdk):
    video = complete(emulator, sdk)
    deleted = sdk.videos.delete(video.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (video.id, "video.deleted", True)
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve(video.id)
    with pytest.raises(openai.NotFoundError):
        sdk.videos.download_content(video.id)
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.videos.delete(video.id)
    assert caught.value.body["code"] == "video_not_found"
    assert emulator.job(video.id)["emulator"]["deleted"] is True


def test_auth_rejects_missing_and_unknown_keys(emulator_pool):
    emulator = emulator_pool.get(api_keys=("sk-first", "sk-second"))
    assert emulator.client(api_key="sk-second").videos.list().data == []
    with pytest.raises(openai.AuthenticationError) as caught:
        emulator.client(api_key="sk-wrong").videos.list()
    assert caught.value.body == {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
    missing = raw_request("GET", f"{emulator.base_url}/videos", api_key=None)
    assert missing.status == 401 and missing.json()["error"]["code"] == "invalid_api_key"
    assert raw_request("GET", f"{emulator.url}/health", api_key=None).status == 200


def test_uploaded_reference_is_the_first_frame(emulator, sdk):
    reference = image_bytes(720, 1280, (200, 40, 40))
    video = sdk.videos.create(
        prompt="The red wall starts to crack", input_reference=("wall.png", reference, "image/png")
    )
    assert emulator.complete(video.id)["status"] == "completed"
    mp4 = sdk.videos.download_content(video.id).read()
    original = Image.open(io.BytesIO(reference))
    assert mean_abs_diff(first_frame(mp4), original) < 8
    last = all_frames(mp4)[-1]
    assert mean_abs_diff(last, original) > mean_abs_diff(first_frame(mp4), original)  # later frames add overlays...
    edge = last.getpixel((715, 640))  # ...on top of the image, which still shows at the edge
    assert max(abs(a - b) for a, b in zip(edge, (200, 40, 40), strict=True)) < 24


def test_json_data_url_reference_is_the_first_frame(emulator, sdk):
    reference = image_bytes(1280, 720, (30, 160, 60), fmt="JPEG")
    data_url = "data:image/jpeg;base64," + base64.b64encode(reference).decode()
    body = {"prompt": "Green hills", "size": "1280x720", "input_reference": {"image_url": data_url}}
    video = sdk.post("/videos", body=body, cast_to=Video)
    emulator.complete(video.id)
    mp4 = sdk.videos.download_content(video.id).read()
    assert mean_abs_diff(first_frame(mp4), Image.open(io.BytesIO(reference))) < 8


GIF = image_bytes(720, 1280, fmt="GIF")
JSON_CASES = {
    "int seconds": ({"prompt": "x", "seconds": 4}, "seconds", "invalid_type", "string"),
    "no prompt": ({}, "prompt", "missing_required_parameter", "prompt"),
    "unknown field": ({"prompt": "x", "seed": 3}, "seed", "unknown_parameter", "seed"),
    "file_id": (
        {"prompt": "x", "input_reference": {"file_id": "file-123"}},
        "input_reference.file_id",
        "unsupported_value",
        "file_id",
    ),
    "remote url": (
        {"prompt": "x", "input_reference": {"image_url": "https://example.com/a.png"}},
        "input_reference.image_url",
        "unsupported_value",
        "data: URL",
    ),
}
MULTIPART_CASES = {
    "unknown model": ({"model": "sora-3"}, "model", "sora-2, sora-2-pro"),
    "bad size": ({"size": "1920x1080"}, "size", "720x1280, 1280x720"),
    "size of another model": ({"size": "1792x1024"}, "size", "Supported sizes are: 720x1280, 1280x720"),
    "bad seconds": ({"seconds": "5"}, "seconds", "'4', '8', '12'"),
    "empty prompt": ({"prompt": "  "}, "prompt", "empty"),
    "long prompt": ({"prompt": "x" * 32_001}, "prompt", "32000"),
    "gif reference": ({"input_reference": ("a.gif", GIF, "image/gif")}, "input_reference", "JPEG, PNG or WebP"),
    "png named jpg, wrong size": (
        {"input_reference": ("a.jpg", image_bytes(640, 480), "image/jpeg")},
        "input_reference",
        "640x480 but the requested size is 720x1280",
    ),
    "not an image": ({"input_reference": ("a.png", b"not an image", "image/png")}, "input_reference", "readable image"),
}


@pytest.mark.parametrize("case", MULTIPART_CASES, ids=list(MULTIPART_CASES))
def test_create_rejects_bad_multipart_input(emulator, sdk, case):
    fields, param, message = MULTIPART_CASES[case]
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.videos.create(**{"prompt": "A quiet street", **fields})
    assert caught.value.body["param"] == param
    assert message in caught.value.body["message"]
    assert caught.value.body["type"] == "invalid_request_error"
    assert emulator.stats()["jobs_created"] == 0


@pytest.mark.parametrize("case", JSON_CASES, ids=list(JSON_CASES))
def test_create_rejects_bad_json_input(emulator, sdk, case):
    body, param, code, message = JSON_CASES[case]
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.post("/videos", body=body, cast_to=Video)
    assert (caught.value.body["param"], caught.value.body["code"]) == (param, code)
    assert message in caught.value.body["message"]
    assert emulator.stats()["jobs_created"] == 0


def test_content_is_refused_until_completed(pending_emulator):
    sdk = pending_emulator.client()
    video = sdk.videos.create(prompt="Slow sunrise")
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.videos.download_content(video.id)
    assert caught.value.body["code"] == "video_not_ready"
    with pytest.raises(openai.NotFoundError):
        sdk.videos.download_content("video_unknown")


def test_content_of_an_expired_video_is_gone(emulator, sdk):
    video = complete(emulator, sdk)
    emulator.expire(video.id)
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.videos.download_content(video.id)
    assert caught.value.body["code"] == "video_expired"
    after = sdk.videos.retrieve(video.id)
    assert after.status == "completed" and after.expires_at <= time.time()


def test_assets_expire_after_the_ttl(emulator_pool):
    emulator = emulator_pool.get(asset_ttl=1)
    sdk = emulator.client()
    video = complete(emulator, sdk)
    assert video.expires_at - video.completed_at in (0, 1)
    sdk.videos.download_content(video.id).read()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            sdk.videos.download_content(video.id).read()
        except openai.NotFoundError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("content did not expire")
    assert emulator.job(video.id)["emulator"]["expired"] is True


def test_remix_keeps_model_size_and_seconds(emulator, sdk):
    source = complete(emulator, sdk, model="sora-2-pro", size="1024x1792", seconds="8")
    remix = sdk.videos.remix(source.id, prompt="Same storm, at dawn")
    assert remix.remixed_from_video_id == source.id and remix.id != source.id
    assert (remix.model, remix.size, remix.seconds, remix.prompt) == (
        "sora-2-pro",
        "1024x1792",
        "8",
        "Same storm, at dawn",
    )
    emulator.complete(remix.id)
    facts = probe(sdk.videos.download_content(remix.id).read())
    assert (facts.width, facts.height) == (1024, 1792) and abs(facts.duration - 8) <= 1 / facts.fps
    body, content_type = multipart({"prompt": "As a form"})
    response = raw_request(
        "POST", f"{emulator.base_url}/videos/{source.id}/remix", body=body, headers={"Content-Type": content_type}
    )
    assert response.status == 200 and response.json()["remixed_from_video_id"] == source.id


def test_remix_needs_a_completed_known_video(pending_emulator):
    sdk = pending_emulator.client()
    video = sdk.videos.create(prompt="Still rendering")
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.videos.remix(video.id, prompt="too early")
    assert caught.value.body["code"] == "invalid_video_state"
    with pytest.raises(openai.NotFoundError):
        sdk.videos.remix("video_missing", prompt="who?")
    with pytest.raises(openai.BadRequestError):
        sdk.post("/videos/edits", body={"video": {"id": video.id}, "prompt": "too early"}, cast_to=Video)
    with pytest.raises(openai.NotFoundError):
        sdk.post(
            "/videos/extensions", body={"video": {"id": "video_missing"}, "prompt": "x", "seconds": "4"}, cast_to=Video
        )


def test_edit_by_id_as_json_and_as_form_fields(emulator, sdk):
    source = complete(emulator, sdk, size="1280x720")
    edit = sdk.post("/videos/edits", body={"video": {"id": source.id}, "prompt": "Make it snow"}, cast_to=Video)
    assert (edit.size, edit.seconds, edit.model, edit.remixed_from_video_id) == ("1280x720", "4", "sora-2", None)
    assert emulator.job(edit.id)["emulator"]["source_video_id"] == source.id

    body, content_type = multipart({"video[id]": source.id, "prompt": "Make it rain"})
    response = raw_request(
        "POST", f"{emulator.base_url}/videos/edits", body=body, headers={"Content-Type": content_type}
    )
    assert response.status == 200 and response.json()["prompt"] == "Make it rain"


def test_edit_and_extend_an_uploaded_video_through_the_sdk(emulator, sdk):
    source = complete(emulator, sdk, size="1280x720")
    mp4 = sdk.videos.download_content(source.id).read()
    edit = sdk.videos.edit(video=("clip.mp4", mp4, "video/mp4"), prompt="Now in sepia")
    assert (edit.size, edit.seconds, edit.model) == ("1280x720", "4", "sora-2")
    extension = sdk.videos.extend(video=("clip.mp4", mp4, "video/mp4"), prompt="And then it rains", seconds="8")
    assert extension.seconds == "12"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.videos.edit(video=("clip.mp4", b"not a video", "video/mp4"), prompt="x")
    assert caught.value.body["code"] == "invalid_video"


def test_extension_lasts_the_stitched_total(emulator, sdk):
    source = complete(emulator, sdk, size="720x1280", seconds="4")
    body = {"video": {"id": source.id}, "prompt": "The storm clears", "seconds": "8"}
    extension = sdk.post("/videos/extensions", body=body, cast_to=Video)
    assert (extension.seconds, extension.size) == ("12", "720x1280")
    emulator.complete(extension.id)
    facts = probe(sdk.videos.download_content(extension.id).read())
    assert abs(facts.duration - 12) <= 1 / facts.fps
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.post("/videos/extensions", body={**body, "seconds": "6"}, cast_to=Video)
    assert caught.value.body["param"] == "seconds"


@pytest.mark.parametrize("prompt", ["Mario jumps over a pipe", "a portrait of SPIDER-MAN", "Darth  Vader at the beach"])
def test_prompts_with_protected_characters_fail_moderation(emulator, sdk, prompt):
    video = sdk.videos.create(prompt=prompt)
    assert video.status == "queued"  # accepted first, like the real service
    done, _ = wait_for(sdk, video.id)
    assert done.status == "failed" and done.error.code == "moderation_blocked"
    assert "moderation" in done.error.message
    with pytest.raises(openai.BadRequestError):
        sdk.videos.download_content(video.id)


def test_moderation_matches_whole_words_only(emulator, sdk):
    video = sdk.videos.create(prompt="A marionette and a wooden elsewhere-sign")
    assert wait_for(sdk, video.id)[0].status == "completed"


def test_status_answers_while_a_render_runs(pending_emulator):
    """Order of events, not timings: retrieves are answered between render start and end."""
    sdk = pending_emulator.client()
    video = sdk.videos.create(prompt="A long panoramic shot", model="sora-2-pro", size="1792x1024", seconds="12")
    while pending_emulator.job(video.id)["emulator"]["render"]["state"] == "pending":
        time.sleep(0.005)
    answered_at = []
    for _ in range(5):
        assert sdk.videos.retrieve(video.id).status in ("queued", "in_progress")
        sdk.videos.list(limit=1)
        answered_at.append(time.time())
    view = pending_emulator.complete(video.id)
    render = view["emulator"]["render"]
    assert render["state"] == "done" and view["status"] == "completed"
    assert all(render["started_at"] <= moment < render["finished_at"] for moment in answered_at)


def test_padded_content_streams_as_a_valid_mp4(emulator_pool):
    emulator = emulator_pool.get(extra_args=("--content-padding", "3000000"))
    sdk = emulator.client()
    video = complete(emulator, sdk)
    with sdk.videos.with_streaming_response.download_content(video.id) as response:
        length = int(response.headers["content-length"])
        data = b"".join(response.iter_bytes())
    assert len(data) == length and length > 3_000_000
    assert data[-3_000_000:][:8] == (3_000_000).to_bytes(4, "big") + b"free"
    assert sha256(data) == emulator.job(video.id)["emulator"]["assets"]["video"]["sha256"]
    facts = probe(data)
    assert (facts.width, facts.height) == (720, 1280) and abs(facts.duration - 4) <= 1 / facts.fps


def test_list_takes_limit_zero_as_the_spec_allows(emulator, sdk):
    sdk.videos.create(prompt="A kite over dunes")
    response = raw_request("GET", f"{emulator.base_url}/videos?limit=0")
    assert response.status == 200
    assert response.json() == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": True}
