"""Each dialect's raw HTTP answers, asserted row by row against ``compatible-servers.md``."""

from __future__ import annotations

import dataclasses
import json

import pytest

from videos.emulator.dialects import dialect_names

from .contracts import (
    DETAIL_NOT_ALLOWED,
    DETAIL_NOT_FOUND,
    PNG,
    SGLANG_KEYS,
    SPEC_KEYS,
    VLLM_KEYS,
    Case,
    _cancel_needs_retry,
    _fails_with,
    detail,
    detail_list,
    exchange,
    is_json,
    keys,
    litellm_id,
    litellm_wrapped,
    media,
    openai_error,
    prepare,
    text,
    vllm_error,
)

SPEC = "openai-videos-openapi.yaml"
VLLM = "vllm_omni/entrypoints/openai/api_server.py, protocol/videos.py [code]"
SGL = "sglang multimodal_gen/runtime/entrypoints/openai/video_api.py [code]"
LITELLM = "litellm[proxy] 1.108.7 [run]"
SORA = {"prompt": "A heron", "model": "sora-2", "size": "1280x720", "seconds": "4"}
MULTI = {"prompt": "A heron", "size": "832x480", "seconds": "2"}

CASES = [
    # -- openai: the spec ---------------------------------------------------------------
    Case("openai", "create", SPEC, "POST", "/videos", 200, None, json_body=SORA,
         check=keys(SPEC_KEYS, status="queued")),
    Case("openai", "retrieve sends the poll hint", SPEC, "GET", "/videos/{id}", 200,
         check=lambda r, _: int(r.headers["openai-poll-after-ms"]) >= 100),
    Case("openai", "limit=0 is allowed", SPEC, "GET", "/videos", 200, query="limit=0",
         check=is_json({"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": True})),
    Case("openai", "limit=101 is refused", SPEC, "GET", "/videos", 400, query="limit=101",
         check=openai_error("invalid_value")),
    Case("openai", "thumbnail variant", SPEC, "GET", "/videos/{id}/content", 200, query="variant=thumbnail",
         check=media("image/webp")),
    Case("openai", "content before completion", SPEC, "GET", "/videos/{id}/content", 400, "running",
         check=openai_error("video_not_ready")),
    Case("openai", "unknown id", SPEC, "GET", "/videos/{id}", 404, None, check=openai_error("video_not_found")),
    Case("openai", "no key", SPEC, "GET", "/videos/{id}", 401, auth=None, check=openai_error("invalid_api_key")),
    Case("openai", "unknown field", SPEC, "POST", "/videos", 400, None, json_body={**SORA, "fps": 3},
         check=openai_error("unknown_parameter")),
    Case("openai", "delete", SPEC, "DELETE", "/videos/{id}", 200,
         check=lambda r, vid: r.json() == {"id": vid, "object": "video.deleted", "deleted": True}),
    # -- vLLM-Omni --------------------------------------------------------------------------
    Case("vllm-omni", "create is multipart; the server's own model", VLLM, "POST", "/videos", 200, None,
         form={**MULTI, "model": "sora-2"},
         check=keys(VLLM_KEYS, model="Wan-AI/Wan2.2-TI2V-5B-Diffusers", expires_at=None,
                    id=lambda v: v.startswith("video_gen_"))),
    Case("vllm-omni", "JSON create is refused (Form fields)", VLLM, "POST", "/videos", 400, None, json_body=SORA,
         check=vllm_error(400, "Field required", "BadRequestError")),
    Case("vllm-omni", "any WxH", VLLM, "POST", "/videos", 200, None, form={**MULTI, "size": "1000x562"},
         check=keys(VLLM_KEYS, size="1000x562")),
    Case("vllm-omni", "size must match ^\\d+x\\d+$", VLLM, "POST", "/videos", 400, None,
         form={**MULTI, "size": "big"}, check=vllm_error(400, "pattern")),
    Case("vllm-omni", "seconds any positive integer string", VLLM, "POST", "/videos", 200, None,
         form={**MULTI, "seconds": "7"}, check=keys(VLLM_KEYS, seconds="7")),
    Case("vllm-omni", "seconds 4.5 refused", VLLM, "POST", "/videos", 400, None, form={**MULTI, "seconds": "4.5"},
         check=vllm_error(400)),
    Case("vllm-omni", "unknown form fields ignored", VLLM, "POST", "/videos", 200, None,
         form={**MULTI, "motion_bucket": "3", "num_inference_steps": "4", "lora": "{}", "extra_params": "{}"},
         check=keys(VLLM_KEYS)),
    Case("vllm-omni", "guidance_scale over 20 refused", VLLM, "POST", "/videos", 400, None,
         form={**MULTI, "guidance_scale": "25"}, check=vllm_error(400)),
    Case("vllm-omni", "progress 0 while running", VLLM, "GET", "/videos/{id}", 200, "running",
         check=lambda r, _: r.json()["progress"] == 0 and r.json()["status"] in ("queued", "in_progress")),
    Case("vllm-omni", "completed: progress 100, expires_at null", VLLM, "GET", "/videos/{id}", 200,
         check=keys(VLLM_KEYS, progress=100, expires_at=None, status="completed")),
    Case("vllm-omni", "failed: error.code a class name", VLLM, "GET", "/videos/{id}", 200, "failed",
         check=lambda r, _: r.json()["error"] == {"code": "RuntimeError", "message": "Emulated failure"}),
    Case("vllm-omni", "variant ignored: MP4", VLLM, "GET", "/videos/{id}/content", 200, query="variant=thumbnail",
         check=media("video/mp4")),
    Case("vllm-omni", "content while running: 404", VLLM, "GET", "/videos/{id}/content", 404, "running",
         check=vllm_error(404, "Generation is still in-progress", "Not Found")),
    Case("vllm-omni", "content of a failed job: 422", VLLM, "GET", "/videos/{id}/content", 422, "failed",
         check=vllm_error(422)),
    Case("vllm-omni", "list: all jobs, no default limit", VLLM, "GET", "/videos", 200,
         check=keys({"first_id", "last_id", "has_more", "data", "object"}, has_more=False,
                    data=lambda d: len(d) == 1)),
    Case("vllm-omni", "list: unknown after -> empty", VLLM, "GET", "/videos", 200, query="after=video_gen_x",
         check=lambda r, _: r.json()["data"] == []),
    Case("vllm-omni", "list: limit -1 refused", VLLM, "GET", "/videos", 400, query="limit=-1",
         check=vllm_error(400)),
    Case("vllm-omni", "no remix route", VLLM, "POST", "/videos/{id}/remix", 404, json_body={"prompt": "x"},
         check=is_json(DETAIL_NOT_FOUND)),
    Case("vllm-omni", "edits match /{video_id}: 405", VLLM, "POST", "/videos/edits", 405,
         json_body={"prompt": "x", "video": {"id": "{id}"}}, check=is_json(DETAIL_NOT_ALLOWED)),
    Case("vllm-omni", "extensions: 405", VLLM, "POST", "/videos/extensions", 405,
         json_body={"prompt": "x", "seconds": "4", "video": {"id": "v"}}, check=is_json(DETAIL_NOT_ALLOWED)),
    Case("vllm-omni", "DELETE cancels a running job: 409", VLLM, "DELETE", "/videos/{id}", 409, "running",
         check=_cancel_needs_retry),
    Case("vllm-omni", "DELETE a finished job", VLLM, "DELETE", "/videos/{id}", 200,
         check=lambda r, vid: r.json() == {"id": vid, "deleted": True, "object": "video.deleted"}),
    Case("vllm-omni", "--api-key: bare Unauthorized", VLLM, "GET", "/videos/{id}", 401, auth="wrong",
         check=is_json({"error": "Unauthorized"})),
    Case("vllm-omni", "unknown id", VLLM, "GET", "/videos/{id}", 404, None, check=vllm_error(404)),
    Case("vllm-omni", "sync answers MP4 bytes", VLLM, "POST", "/videos/sync", 200, None, form=MULTI,
         check=media("video/mp4")),
    # -- SGLang Diffusion ----------------------------------------------------------------------
    Case("sglang", "JSON create; no prompt in the job", SGL, "POST", "/videos", 200, None,
         json_body={"prompt": "A heron", "seconds": "4"},
         check=keys(SGLANG_KEYS, model="sora-2", size="720x1280", status="queued", expires_at=None)),
    Case("sglang", "multipart text-only create", SGL, "POST", "/videos", 200, None, form={"prompt": "A heron"},
         check=keys(SGLANG_KEYS)),
    Case("sglang", "multipart without prompt", SGL, "POST", "/videos", 400, None, form={"size": "832x480"},
         check=detail("prompt is required")),
    Case("sglang", "JSON without prompt", SGL, "POST", "/videos", 400, None, json_body={"size": "832x480"},
         check=lambda r, _: r.json()["detail"].startswith("Invalid request body")),
    Case("sglang", "multipart seconds not an integer: 422", SGL, "POST", "/videos", 422, None,
         form={"prompt": "x", "seconds": "four"}, check=detail_list(["body", "seconds"])),
    Case("sglang", "any size, unknown fields ignored", SGL, "POST", "/videos", 200, None,
         json_body={"prompt": "x", "size": "1000x562", "model": "anything", "motion": 3},
         check=keys(SGLANG_KEYS, size="1000x562", model="anything")),
    Case("sglang", "never in_progress", SGL, "GET", "/videos/{id}", 200, "running",
         check=lambda r, _: (r.json()["status"], r.json()["progress"]) == ("queued", 0)),
    Case("sglang", "failed: error has no code", SGL, "GET", "/videos/{id}", 200, "failed", check=_fails_with),
    Case("sglang", "variant other than video: 400", SGL, "GET", "/videos/{id}/content", 400,
         query="variant=thumbnail", check=detail("Unsupported video content variant: 'thumbnail'")),
    Case("sglang", "MP4 as a file", SGL, "GET", "/videos/{id}/content", 200, check=media("video/mp4")),
    Case("sglang", "content while running", SGL, "GET", "/videos/{id}/content", 404, "running",
         check=detail("Generation is still in-progress")),
    Case("sglang", "content of a failed job", SGL, "GET", "/videos/{id}/content", 404, "failed",
         check=detail("Video output not found")),
    Case("sglang", "list has no cursors", SGL, "GET", "/videos", 200,
         check=keys({"data", "object"}, object="list")),
    Case("sglang", "list limit=0: 422", SGL, "GET", "/videos", 422, query="limit=0",
         check=detail_list(["query", "limit"])),
    Case("sglang", "list unknown after -> empty", SGL, "GET", "/videos", 200, query="after=nope",
         check=is_json({"data": [], "object": "list"})),
    Case("sglang", "DELETE pops, answers the job", SGL, "DELETE", "/videos/{id}", 200,
         check=keys(SGLANG_KEYS, status="deleted", object="video")),
    Case("sglang", "no remix", SGL, "POST", "/videos/{id}/remix", 404, json_body={"prompt": "x"},
         check=is_json(DETAIL_NOT_FOUND)),
    Case("sglang", "edits: 405", SGL, "POST", "/videos/edits", 405, json_body={"prompt": "x"},
         check=is_json(DETAIL_NOT_ALLOWED)),
    Case("sglang", "no API key is checked", SGL, "GET", "/videos/{id}", 200, auth=None),
    Case("sglang", "unknown id", SGL, "GET", "/videos/{id}", 404, None, check=detail("Video not found")),
    # -- TensorRT-LLM -------------------------------------------------------------------------
    Case("tensorrt", "image_reference upload", "PR #17493 [docs]", "POST", "/videos", 200, None, form=MULTI,
         files={"image_reference": ("r.png", PNG, "image/png")}, check=keys(VLLM_KEYS)),
    Case("tensorrt", "flat error body", "assumed", "POST", "/videos", 400, None, form={"seconds": "2"},
         check=lambda r, _: r.json()["object"] == "error" and r.json()["code"] == 400),
    Case("tensorrt", "DELETE does not cancel (PR open)", "[docs]", "DELETE", "/videos/{id}", 200, "running"),
    Case("tensorrt", "/v1/videos/sync", "PR #17490 [docs]", "POST", "/videos/sync", 200, None, form=MULTI,
         check=media("video/mp4")),
    # -- LiteLLM proxy ----------------------------------------------------------------------------
    Case("litellm", "create: encoded id, usage", LITELLM, "POST", "/videos", 200, None, json_body=SORA,
         check=keys(SPEC_KEYS | {"usage"}, usage={"duration_seconds": 4.0}, id=litellm_id)),
    Case("litellm", "no model: the proxy's own 400", LITELLM, "POST", "/videos", 400, None,
         json_body={"prompt": "x"},
         check=lambda r, _: r.json()["error"]["message"].startswith("/videos: Invalid model name passed in "
                                                                    "model=None")
         and r.json()["error"]["code"] == "400" and "provider_specific_fields" in r.json()["error"]),
    Case("litellm", "backend 400 wrapped", LITELLM, "POST", "/videos", 400, None,
         json_body={**SORA, "size": "999x999"}, check=litellm_wrapped(400, "Invalid size '999x999'")),
    Case("litellm", "retrieve: usage null", LITELLM, "GET", "/videos/{id}", 200,
         check=keys(SPEC_KEYS | {"usage"}, usage=None)),
    Case("litellm", "unknown encoded id: backend 404 wrapped", LITELLM, "GET", "/videos/{id}", 404, None,
         check=lambda r, _: r.json()["error"]["code"] == "404"),
    Case("litellm", "variant dropped: MP4", LITELLM, "GET", "/videos/{id}/content", 200, query="variant=thumbnail",
         check=lambda r, vid: media("video/mp4")(r, vid)
         and r.headers["content-disposition"] == f"attachment; filename=video_{vid}.mp4"),
    Case("litellm", "DELETE is not routed", LITELLM, "DELETE", "/videos/{id}", 405,
         check=lambda r, _: r.json() == DETAIL_NOT_ALLOWED and r.headers["allow"] == "GET"),
    Case("litellm", "list needs custom_llm_provider", LITELLM, "GET", "/videos", 400,
         check=lambda r, _: "LLM Provider NOT provided" in r.json()["error"]["message"]),
    Case("litellm", "list with it calls api.openai.com", LITELLM, "GET", "/videos", 500,
         query="custom_llm_provider=openai",
         check=lambda r, _: "api.openai.com" in r.json()["error"]["message"]),
    Case("litellm", "no key: plain-text 500", LITELLM, "GET", "/videos/{id}", 500, auth=None,
         check=text("Internal Server Error")),
    Case("litellm", "wrong key without a database", LITELLM, "GET", "/videos/{id}", 400, auth="sk-wrong",
         check=lambda r, _: r.json()["error"]["type"] == "no_db_connection"),
    Case("litellm", "remix: parent id is the raw backend id", LITELLM, "POST", "/videos/{id}/remix", 200,
         json_body={"prompt": "now blue"},
         check=lambda r, vid: r.json()["remixed_from_video_id"] != vid
         and r.json()["remixed_from_video_id"].startswith("video_") and len(r.json()["remixed_from_video_id"]) == 38),
    Case("litellm", "edits work", LITELLM, "POST", "/videos/edits", 200,
         json_body={"prompt": "edit", "video": {"id": "{id}"}}, check=keys(SPEC_KEYS | {"usage"})),
    Case("litellm", "extensions work", LITELLM, "POST", "/videos/extensions", 200,
         json_body={"prompt": "more", "seconds": "4", "video": {"id": "{id}"}}, check=keys(SPEC_KEYS | {"usage"})),
    # -- new-api ----------------------------------------------------------------------------------
    Case("new-api", "NOT_START, seconds null", "[docs]", "POST", "/videos", 200, None, json_body=SORA,
         check=keys(SPEC_KEYS, status="NOT_START", seconds=None)),
    Case("new-api", "seconds a float", "[docs]", "GET", "/videos/{id}", 200,
         check=keys(SPEC_KEYS, seconds=4.0, status="completed")),
    Case("new-api", "metadata JSON field", "[docs]", "POST", "/videos", 200, None,
         form={"prompt": "x", "model": "sora-2", "metadata": '{"seed": 4, "style": "film"}'}),
    Case("new-api", "bad metadata", "assumed", "POST", "/videos", 400, None,
         form={"prompt": "x", "metadata": "{nope"},
         check=lambda r, _: r.json()["error"]["type"] == "new_api_error"),
    Case("new-api", "list not routed: Gin's plain 404", "assumed", "GET", "/videos", 404,
         check=text("404 page not found")),
    Case("new-api", "DELETE not routed", "assumed", "DELETE", "/videos/{id}", 404, check=text("404 page not found")),
    Case("new-api", "remix routed", "[docs]", "POST", "/videos/{id}/remix", 200, json_body={"prompt": "x"}),
    # -- llama-swap ---------------------------------------------------------------------------------
    Case("llama-swap", "GET without ?model=", "PR #991 [docs]", "GET", "/videos/{id}", 400,
         check=lambda r, _: r.headers["content-type"].startswith("text/plain") and b"?model=" in r.body),
    Case("llama-swap", "GET with ?model=", "PR #991 [docs]", "GET", "/videos/{id}", 200, query="model=sora-2",
         check=keys(SPEC_KEYS)),
    Case("llama-swap", "DELETE without ?model=", "PR #991 [docs]", "DELETE", "/videos/{id}", 400),
    Case("llama-swap", "content with ?model=", "PR #991 [docs]", "GET", "/videos/{id}/content", 200,
         query="model=sora-2&variant=spritesheet", check=media("image/jpeg")),
    # -- aisix --------------------------------------------------------------------------------------
    Case("aisix", "content: 302 to a signed URL on another host", "[docs]", "GET", "/videos/{id}/content", 302,
         check=lambda r, _: "/_signed/" in r.headers["location"] and "signature=" in r.headers["location"]
         and "//localhost:" in r.headers["location"]),
    # -- OpenRouter (under /api/v1) -------------------------------------------------------------------
    Case("openrouter", "create answers id, polling_url, pending", "[docs]", "POST", "/videos", 200, None,
         json_body={"model": "openai/sora-2", "prompt": "x", "duration": 2, "resolution": "480p"},
         check=keys({"id", "polling_url", "status"}, status="pending",
                    polling_url=lambda v: v.startswith("/api/v1/videos/job-"))),
    Case("openrouter", "unknown model", "[docs]", "POST", "/videos", 400, None,
         json_body={"model": "sora-2", "prompt": "x"},
         check=lambda r, _: set(r.json()["error"]) == {"code", "message"} and r.json()["error"]["code"] == 400),
    Case("openrouter", "completed: signed urls and unsigned_urls", "[docs]", "GET", "/videos/{id}", 200,
         check=keys({"id", "polling_url", "status", "generation_id", "unsigned_urls", "urls", "usage"},
                    status="completed")),
    Case("openrouter", "content index=0", "[docs]", "GET", "/videos/{id}/content", 200, query="index=0",
         check=media("video/mp4")),
    Case("openrouter", "no list", "assumed", "GET", "/videos", 405, check=is_json(DETAIL_NOT_ALLOWED)),
    Case("openrouter", "no key", "[docs]", "GET", "/videos/{id}", 401, auth=None,
         check=lambda r, _: r.json()["error"]["code"] == 401),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_dialect_contract(emulator_pool, case):
    emulator = emulator_pool.get(dialect=case.dialect, generation_time=20)
    video_id = prepare(emulator, case.dialect, case.job)
    if case.json_body is not None and "{id}" in str(case.json_body):
        case = _with_id(case, video_id)
    response = exchange(emulator, case, video_id)
    assert response.status == case.expect_status, (case.source, response.status, response.body[:400])
    if case.check is not None:
        assert case.check(response, video_id) is not False, case.source


def _with_id(case: Case, video_id: str) -> Case:
    body = json.loads(json.dumps(case.json_body).replace("{id}", video_id))
    return dataclasses.replace(case, json_body=body)


def test_every_dialect_has_a_contract():
    covered = {case.dialect for case in CASES}
    assert covered >= set(dialect_names()) - {"gateway"}
