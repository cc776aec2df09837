"""Each compatible server's deviations from the spec, as the emulator imitates them."""

from __future__ import annotations

import base64
import http.server
import io
import json
import threading
import time

import openai
import pytest
from openai.types import Video
from PIL import Image

from videos.emulator.dialects import dialect_names
from videos.presets import DIALECTS

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
        model="sora-2",
        extra_body={"negative_prompt": "blurry", "num_inference_steps": 4, "guidance_scale": 5.0, "fps": 6},
    )
    assert video.id.startswith("video_gen_") and video.model == WAN
    assert wait_for(sdk, video.id)[0].status == "completed"
    facts = probe(sdk.videos.download_content(video.id).read())
    assert (facts.width, facts.height, facts.fps) == (832, 480, 6)
    assert abs(facts.duration - 2) <= 1 / 6


def test_vllm_progress_jumps_from_0_to_100(vllm):
    sdk = vllm.client()
    video = sdk.videos.create(prompt="A paper boat", size="832x480", seconds="2")
    done, seen = wait_for(sdk, video.id)
    assert done.status == "completed" and "in_progress" in {status for status, _ in seen}
    assert {progress for status, progress in seen if status != "completed"} == {0}


def test_vllm_restart_forgets_every_job(vllm):
    sdk = vllm.client()
    video = sdk.videos.create(prompt="A paper boat", size="832x480", seconds="2")
    vllm.complete(video.id)
    assert vllm.restart() == 1
    for call in (lambda: sdk.videos.retrieve(video.id), lambda: sdk.videos.download_content(video.id)):
        with pytest.raises(openai.NotFoundError):
            call()
    assert vllm.stats()["jobs_created"] == 1


def test_vllm_delete_cancels_a_running_job_first(emulator_pool):
    slow = emulator_pool.get(dialect="vllm-omni", generation_time=20)
    sdk = slow.client()
    video = sdk.videos.create(prompt="A paper boat", size="832x480", seconds="2")
    with pytest.raises(openai.ConflictError):
        sdk.videos.delete(video.id)
    failed, _ = wait_for(sdk, video.id)
    assert failed.status == "failed" and failed.error.code == "CancelledError"
    assert sdk.videos.delete(video.id).deleted is True


def test_vllm_file_ttl_leaves_a_completed_job_without_content(vllm):
    sdk = vllm.client()
    video = sdk.videos.create(prompt="A paper boat", size="832x480", seconds="2")
    vllm.complete(video.id)
    vllm.expire(video.id)
    assert sdk.videos.retrieve(video.id).status == "completed"
    with pytest.raises(openai.NotFoundError):
        sdk.videos.download_content(video.id)


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


def test_vllm_sync_endpoint_answers_with_the_mp4(vllm):
    body, content_type = multipart({"prompt": "A spinning top", "size": "832x480", "seconds": "2"})
    response = raw_request("POST", f"{vllm.base_url}/videos/sync", body=body, headers={"Content-Type": content_type})
    assert response.status == 200 and response.headers["content-type"] == "video/mp4"
    assert int(response.headers["content-length"]) == len(response.body)
    facts = probe(response.body)
    assert (facts.width, facts.height) == (832, 480) and abs(facts.duration - 2) <= 1 / facts.fps
    assert vllm.stats()["jobs_created"] == 0 and vllm.stats()["requests"]["sync"] == 1


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


def test_sglang_delete_pops_the_job(sglang):
    sdk = sglang.client()
    video = sdk.post("/videos", body={"prompt": "A comet"}, cast_to=Video)
    sglang.complete(video.id)
    deleted = raw_request("DELETE", f"{sglang.base_url}/videos/{video.id}").json()
    assert (deleted["id"], deleted["object"], deleted["status"]) == (video.id, "video", "deleted")
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve(video.id)


# -- LiteLLM -------------------------------------------------------------------------


@pytest.fixture
def litellm(emulator_pool):
    return emulator_pool.get(dialect="litellm")


def test_litellm_ids_wrap_the_backend_id_and_statuses_pass_through(litellm):
    sdk = litellm.client()
    video = sdk.videos.create(prompt="A tram in the rain", model="sora-2")
    fields = dict(part.split(":", 1) for part in base64.b64decode(video.id[6:]).decode()[8:].split(";"))
    assert fields["custom_llm_provider"] == "openai" and fields["model_id"] == "sora-2"
    assert litellm.job(video.id)["emulator"]["backend_id"] == fields["video_id"]
    done, seen = wait_for(sdk, video.id)
    assert "in_progress" in {status for status, _ in seen} and "processing" not in {status for status, _ in seen}
    assert done.status == "completed" and sdk.videos.download_content(video.id).read()[4:8] == b"ftyp"


def test_litellm_with_a_non_openai_backend_reports_processing(emulator_pool):
    proxy = emulator_pool.get(dialect="litellm", extra_args=("--backend", "gemini"))
    sdk = proxy.client()
    video = sdk.videos.create(prompt="A tram", model="sora-2")
    assert "custom_llm_provider:gemini;" in base64.b64decode(video.id[6:]).decode()
    done, seen = wait_for(sdk, video.id)
    assert "processing" in {status for status, _ in seen} and done.status == "completed"


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


# -- aisix and OpenRouter --------------------------------------------------------------


def test_aisix_redirect_is_followed_without_the_key(emulator_pool):
    aisix = emulator_pool.get(dialect="aisix")
    sdk = aisix.client()
    video = sdk.videos.create(prompt="A lantern", model="sora-2")
    aisix.complete(video.id)
    assert sdk.videos.download_content(video.id).read()[4:8] == b"ftyp"  # httpx drops the key cross-origin
    response = raw_request("GET", f"{aisix.base_url}/videos/{video.id}/content?variant=thumbnail")
    assert response.status == 400 and b"Only one auth mechanism allowed" in response.body  # urllib keeps it


def test_openrouter_calls_back_and_reports_cancelled_and_expired(emulator_pool):
    received: list[dict] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    router = emulator_pool.get(dialect="openrouter")
    headers = {"Content-Type": "application/json"}

    def create(**extra: object) -> str:
        body = {"model": "openai/sora-2", "prompt": "A heron", "duration": 2, "resolution": "480p", **extra}
        response = raw_request("POST", f"{router.base_url}/videos", body=json.dumps(body).encode(), headers=headers)
        return response.json()["id"]

    try:
        done = create(callback_url=f"http://127.0.0.1:{server.server_port}/hook")
        router.complete(done)
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert received and received[0]["id"] == done and received[0]["status"] == "completed"
        router.set_faults([{"endpoint": "create", "fault": "fail_job", "error_code": "cancelled"}])
        cancelled = create()
        router.complete(cancelled)
        assert raw_request("GET", f"{router.base_url}/videos/{cancelled}").json()["status"] == "cancelled"
        router.expire(done)
        assert raw_request("GET", f"{router.base_url}/videos/{done}").json()["status"] == "expired"
    finally:
        server.shutdown()
