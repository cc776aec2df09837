"""Each compatible server's deviations from the spec, as the emulator imitates them."""

from __future__ import annotations

import base64
import io
import json

import openai
import pytest
from openai.types import Video
from PIL import Image

from videos.emulator.dialects import dialect_names, get_dialect
from videos.presets import DIALECTS, MODEL_PRESETS

from .helpers import (
    first_frame,
    image_bytes,
    mean_abs_diff,
    multipart,
    probe,
    raw_request,
    sha256,
    wait_for,
    wait_for_status,
)

WAN = "Wan-AI/Wan2.2-TI2V-5B-Diffusers"


def test_every_preset_dialect_is_emulated():
    assert set(dialect_names()) == set(DIALECTS)
    for name in DIALECTS:
        assert list(get_dialect(name).models) == list(MODEL_PRESETS[name])


# -- vLLM-Omni -----------------------------------------------------------------------


@pytest.fixture
def vllm(emulator_pool):
    return emulator_pool.get(dialect="vllm-omni")


def test_vllm_serves_its_one_model_with_diffusion_fields(vllm):
    sdk = vllm.client()
    video = sdk.videos.create(
        prompt="A paper boat on a river",
        size="832x480",
        seconds="2",
        extra_body={"negative_prompt": "blurry", "num_inference_steps": 4, "guidance_scale": 5.0, "fps": 6},
    )
    assert video.id.startswith("video_gen_") and video.model == WAN
    assert wait_for(sdk, video.id)[0].status == "completed"
    facts = probe(sdk.videos.download_content(video.id).read())
    assert (facts.width, facts.height, facts.fps) == (832, 480, 6)
    assert abs(facts.duration - 2) <= 1 / 6


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"seed": "abc"}, "seed"),
        ({"fps": 0}, "fps"),
        ({"motion_bucket": 3}, "motion_bucket"),
        ({"model": "sora-2"}, "model"),
    ],
)
def test_vllm_validates_extra_fields(vllm, extra, param):
    with pytest.raises(openai.BadRequestError) as caught:
        vllm.client().videos.create(prompt="x", extra_body=extra)
    assert caught.value.body["param"] == param


def test_vllm_seed_makes_output_byte_for_byte_reproducible(vllm):
    sdk = vllm.client()

    def render(seed: int, prompt: str = "A lantern floating up at night") -> bytes:
        video = sdk.videos.create(
            prompt=prompt, seconds="2", size="480x832", extra_body={"seed": seed, "negative_prompt": "text"}
        )
        assert vllm.complete(video.id)["emulator"]["seed"] == seed
        return sdk.videos.download_content(video.id).read()

    first, again, other_seed = render(7), render(7), render(8)
    assert sha256(first) == sha256(again)
    assert sha256(first) != sha256(other_seed)
    assert sha256(render(7, prompt="Another prompt")) != sha256(first)


def test_vllm_has_no_remix_edit_extension_or_preview_variants(vllm):
    sdk = vllm.client()
    video = sdk.videos.create(prompt="A kite", seconds="2")
    vllm.complete(video.id)
    for call in (
        lambda: sdk.videos.remix(video.id, prompt="again"),
        lambda: sdk.post("/videos/edits", body={"video": {"id": video.id}, "prompt": "x"}, cast_to=Video),
        lambda: sdk.post(
            "/videos/extensions", body={"video": {"id": video.id}, "prompt": "x", "seconds": "4"}, cast_to=Video
        ),
        lambda: sdk.videos.download_content(video.id, variant="thumbnail"),
    ):
        with pytest.raises(openai.NotFoundError) as caught:
            call()
        assert caught.value.body["message"]
    assert sdk.videos.download_content(video.id, variant="video").read()[4:8] == b"ftyp"


def test_vllm_sync_endpoint_answers_with_the_mp4(vllm):
    body, content_type = multipart({"prompt": "A spinning top", "size": "832x480", "seconds": "2"})
    response = raw_request("POST", f"{vllm.base_url}/videos/sync", body=body, headers={"Content-Type": content_type})
    assert response.status == 200 and response.headers["content-type"] == "video/mp4"
    assert int(response.headers["content-length"]) == len(response.body)
    facts = probe(response.body)
    assert (facts.width, facts.height) == (832, 480) and abs(facts.duration - 2) <= 1 / facts.fps
    assert vllm.stats()["jobs_created"] == 0 and vllm.stats()["requests"]["sync"] == 1


def test_sync_endpoint_is_vllm_only(emulator):
    body, content_type = multipart({"prompt": "x"})
    response = raw_request(
        "POST", f"{emulator.base_url}/videos/sync", body=body, headers={"Content-Type": content_type}
    )
    assert response.status == 404 and response.json()["error"]["code"] == "unsupported_endpoint"


# -- SGLang --------------------------------------------------------------------------


@pytest.fixture
def sglang(emulator_pool):
    return emulator_pool.get(dialect="sglang")


def test_sglang_jumps_from_queued_to_completed(sglang):
    sdk = sglang.client()
    video = sdk.post("/videos", body={"prompt": "A windmill", "seed": 3}, cast_to=Video)
    assert (video.model, video.status, video.progress) == ("sora-2", "queued", 0)
    done, seen = wait_for(sdk, video.id)
    assert done.status == "completed"
    assert set(seen[:-1]) == {("queued", 0)} and seen[-1] == ("completed", 100)


def test_sglang_multipart_needs_an_input_reference(sglang):
    sdk = sglang.client()
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.videos.create(prompt="Text only over multipart")
    assert caught.value.body["param"] == "input_reference"
    with_image = sdk.videos.create(
        prompt="Animate this",
        size="1280x720",
        input_reference=("a.webp", image_bytes(1280, 720, fmt="WEBP"), "image/webp"),
    )
    assert with_image.status == "queued"


def test_sglang_ignores_variant_and_deletes_into_a_job(sglang):
    sdk = sglang.client()
    video = sdk.post("/videos", body={"prompt": "A comet"}, cast_to=Video)
    sglang.complete(video.id)
    response = sdk.videos.with_raw_response.download_content(video.id, variant="thumbnail")
    assert response.headers["content-type"] == "video/mp4" and response.content[4:8] == b"ftyp"
    deleted = raw_request("DELETE", f"{sglang.base_url}/videos/{video.id}").json()
    assert (deleted["id"], deleted["object"], deleted["status"]) == (video.id, "video", "deleted")
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve(video.id)


def test_sglang_has_no_remix(sglang):
    sdk = sglang.client()
    video = sdk.post("/videos", body={"prompt": "A comet"}, cast_to=Video)
    sglang.complete(video.id)
    with pytest.raises(openai.NotFoundError):
        sdk.videos.remix(video.id, prompt="again")


# -- LiteLLM -------------------------------------------------------------------------


@pytest.fixture
def litellm(emulator_pool):
    return emulator_pool.get(dialect="litellm")


def test_litellm_ids_wrap_the_backend_id(litellm):
    sdk = litellm.client()
    video = sdk.videos.create(prompt="A tram in the rain")
    token = video.id.removeprefix("video_")
    wrapped = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert wrapped["provider"] == "openai" and wrapped["id"].startswith("video_")
    assert litellm.job(video.id)["emulator"]["backend_id"] == wrapped["id"]
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve(wrapped["id"])  # only the wrapped id is accepted
    done, seen = wait_for(sdk, video.id)
    assert "processing" in {status for status, _ in seen} and "in_progress" not in {status for status, _ in seen}
    assert done.status == "completed" and sdk.videos.download_content(video.id).read()[4:8] == b"ftyp"


def test_litellm_list_needs_the_provider(litellm):
    sdk = litellm.client()
    video = sdk.videos.create(prompt="A tram")
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.videos.list()
    assert caught.value.body["param"] == "custom_llm_provider"
    page = sdk.videos.list(extra_query={"custom_llm_provider": "openai"})
    assert [v.id for v in page.data] == [video.id]


def test_litellm_remixes_but_has_no_edits_or_extensions(litellm):
    sdk = litellm.client()
    video = sdk.videos.create(prompt="A tram", extra_body={"custom_llm_provider": "openai"})
    litellm.complete(video.id)
    remix = sdk.videos.remix(video.id, prompt="A night tram")
    assert remix.remixed_from_video_id == video.id
    assert litellm.job(remix.id)["emulator"]["source_video_id"] == video.id
    with pytest.raises(openai.NotFoundError):
        sdk.post("/videos/edits", body={"video": {"id": video.id}, "prompt": "x"}, cast_to=Video)


# -- gateways (new-api style) --------------------------------------------------------


def test_gateway_statuses_null_seconds_and_expiry(emulator_pool):
    gateway = emulator_pool.get(dialect="gateway", asset_ttl=1)
    sdk = gateway.client()
    video = sdk.videos.create(prompt="A market at dusk", seconds="8")
    assert (video.status, video.seconds) == ("NOT_START", None)
    done, seen = wait_for(sdk, video.id)
    assert "processing" in {status for status, _ in seen} and done.status == "completed"
    assert all(v.seconds is None for v in sdk.videos.list())
    facts = probe(sdk.videos.download_content(video.id).read())
    assert abs(facts.duration - 8) <= 1 / facts.fps  # the clip is right even if the payload is not
    assert wait_for_status(sdk, video.id, "expired").status == "expired"
    with pytest.raises(openai.NotFoundError):
        sdk.videos.download_content(video.id)


def test_vllm_takes_a_webp_reference(vllm):
    reference = image_bytes(832, 480, (10, 120, 200), fmt="WEBP")
    video = vllm.client().videos.create(
        prompt="x", size="832x480", seconds="2", input_reference=("r.webp", reference, "image/webp")
    )
    vllm.complete(video.id)
    mp4 = vllm.client().videos.download_content(video.id).read()
    assert mean_abs_diff(first_frame(mp4), Image.open(io.BytesIO(reference))) < 8
