"""Self-hosted diffusion servers: vLLM-Omni, SGLang Diffusion and TensorRT-LLM.

Each class answers as its server's source does (the file is named beside each quirk),
including what is inconvenient: FastAPI error bodies, no validation of model, size or
length, variants ignored, jobs kept in memory only. Where a fact comes from docs or a
PR rather than code, the comment says it is assumed.
"""

from __future__ import annotations

import base64
import binascii
import http
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from videos.emulator.api import Api, CreateParams
from videos.emulator.forms import UploadedFile
from videos.emulator.protocol import (
    AUTH,
    ROUTE,
    VALIDATION,
    ApiError,
    Request,
    Response,
    fastapi_error,
    route_error,
)
from videos.emulator.state import COMPLETED, FAILED, IN_PROGRESS, QUEUED, Job

_ID = r"(?P<video_id>[^/]+)"
_SIZE = re.compile(r"^\d+x\d+$")
#: Beyond these the emulator fails the job the way an out-of-memory GPU would (assumed).
MAX_PIXELS = 1920 * 1088
MAX_FRAMES = 2_000


def _field_error(name: str, message: str, kind: str = "value_error", where: str = "body") -> ApiError:
    """A pydantic/FastAPI validation failure of one body or query field."""
    return ApiError(422, message, code=kind, param=name, layer=VALIDATION, loc=(where, name))


def _number(
    body: Mapping[str, Any],
    name: str,
    kind: type,
    low: float | None = None,
    high: float | None = None,
    where: str = "body",
) -> Any:
    """``body[name]`` coerced like pydantic's lax mode (form text "4" -> 4); None if absent."""
    value = body.get(name)
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool) or (kind is int and isinstance(value, float) and not value.is_integer()):
            raise ValueError
        number = kind(value)
    except (TypeError, ValueError):
        label = "a valid integer" if kind is int else "a valid number"
        raise _field_error(name, f"Input should be {label}, unable to parse {value!r}",
                           "int_parsing" if kind is int else "float_parsing", where) from None
    if low is not None and number < low:
        raise _field_error(name, f"Input should be greater than or equal to {low}", "greater_than_equal", where)
    if high is not None and number > high:
        raise _field_error(name, f"Input should be less than or equal to {high}", "less_than_equal", where)
    return number


def _json_field(body: Mapping[str, Any], name: str) -> Any:
    value = body.get(name)
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ApiError(400, f"{name} is not valid JSON", param=name) from None


def _image(value: Any) -> bytes | None:
    """An uploaded image, or ``{"image_url": "data:..."}``; anything Pillow reads (fitted later)."""
    if value is None:
        return None
    if isinstance(value, UploadedFile):
        return value.data
    url = value.get("image_url") if isinstance(value, Mapping) else value
    if isinstance(url, str) and url.startswith("data:") and "," in url:
        try:
            return base64.b64decode(url.partition(",")[2], validate=True)
        except binascii.Error:
            pass
    raise ApiError(400, "Failed to process image source: only uploads and base64 data: URLs can be read here")


class DiffusionApi(Api):
    """What the diffusion servers share: any ``WxH``, any positive length, no moderation."""

    variants = ("video",)  # ``/content`` serves the MP4 whatever ``variant`` says
    poll_after_header = False
    moderates = False
    default_size: ClassVar[str] = "832x480"
    #: Extra fields this server reads (typed by :meth:`extras`); others are ignored.
    int_fields: ClassVar[dict[str, tuple[float | None, float | None]]] = {}
    float_fields: ClassVar[dict[str, tuple[float | None, float | None]]] = {}

    def extras(self, body: Mapping[str, Any]) -> dict[str, Any]:
        extras: dict[str, Any] = {}
        for name, (low, high) in self.int_fields.items():
            if (value := _number(body, name, int, low, high)) is not None:
                extras[name] = value
        for name, (low, high) in self.float_fields.items():
            if (value := _number(body, name, float, low, high)) is not None:
                extras[name] = value
        if isinstance(body.get("negative_prompt"), str):
            extras["negative_prompt"] = body["negative_prompt"]
        sound = body.get("generate_sound")
        if sound is not None:  # pydantic's lax bool: "true"/"1"/"yes" and the like
            extras["generate_sound"] = sound is True or str(sound).strip().lower() in ("true", "1", "yes", "on")
        return extras

    def loose_params(self, model: str, prompt: str, size: str, seconds: int, extras: dict[str, Any],
                     reference: bytes | None) -> CreateParams:
        width, height = (int(part) for part in size.split("x"))
        if extras.get("width") and extras.get("height"):
            width, height = extras["width"], extras["height"]
        fps = int(extras.get("fps") or self.config.fps)
        if extras.get("num_frames"):
            seconds = max(1, round(extras["num_frames"] / fps))
        return CreateParams(model, prompt, width, height, seconds, extras, reference)

    def _add_created(self, request: Request, params: CreateParams) -> Job:
        job = super()._add_created(request, params)
        fps = int(params.extras.get("fps") or self.config.fps)
        if params.width * params.height > MAX_PIXELS or params.seconds * fps > MAX_FRAMES:
            self.store.cancel(job, "OutOfMemoryError", f"CUDA out of memory generating {job.size} "
                              f"x {params.seconds * fps} frames (emulated)")
        return job


class VllmOmniApi(DiffusionApi):
    """vLLM-Omni (vllm_omni/entrypoints/openai/api_server.py, protocol/videos.py, serving_video.py)."""

    name = "vllm-omni"
    # No remix route (404); POST /v1/videos/edits matches GET|DELETE /{video_id} (405).
    routes = (
        ("GET", r"/v1/models", "models"),  # api_server.py: the diffusion model, owned_by "vllm-omni"
        ("POST", r"/v1/videos", "create"),
        ("GET", r"/v1/videos", "list"),
        ("POST", r"/v1/videos/sync", "sync"),
        ("GET", rf"/v1/videos/{_ID}", "retrieve"),
        ("DELETE", rf"/v1/videos/{_ID}", "delete"),
        ("GET", rf"/v1/videos/{_ID}/content", "content"),
    )
    id_prefix = "video_gen_"  # protocol/videos.py: f"video_gen_{uuid.uuid4().hex}"
    reference_field: ClassVar[str] = "input_reference"
    #: One model per server; a request naming another only logs a warning.
    server_model: ClassVar[str] = "Wan-AI/Wan2.2-TI2V-5B-Diffusers"
    owner = "vllm-omni"

    def served_models(self) -> list[str]:
        return [self.server_model]
    int_fields = {"width": (1, None), "height": (1, None), "num_frames": (1, None), "fps": (1, None),
                  "num_inference_steps": (1, 200), "seed": (None, None)}  # protocol/videos.py Field(ge, le)
    float_fields = {"guidance_scale": (0, 20), "guidance_scale_2": (0, 20), "true_cfg_scale": (0, 20),
                    "boundary_ratio": (0, 1), "flow_shift": (None, None), "sound_duration": (0, None)}

    def new_backend_id(self) -> str:
        return f"{self.id_prefix}{uuid.uuid4().hex}"

    def authenticate(self, headers: Mapping[str, str]) -> None:
        # vLLM's --api-key middleware answers a bare {"error": "Unauthorized"}.
        if (headers.get("Authorization") or "") not in {f"Bearer {key}" for key in self.config.api_keys}:
            raise ApiError(401, "Unauthorized", layer=AUTH)

    def error_response(self, error: ApiError) -> Response:
        if error.layer == ROUTE:  # Starlette's router, before vLLM's handlers
            return fastapi_error(error)
        if error.layer == AUTH:
            return Response(status=401, json={"error": "Unauthorized"})
        if error.layer == VALIDATION:  # vLLM turns RequestValidationError into a 400
            message = str([{"type": error.code, "loc": error.loc, "msg": error.message}])
            return Response(status=400, json={"error": {"message": message, "type": "BadRequestError",
                                                        "param": None, "code": 400}})
        # vLLM's HTTPException handler: the phrase as type, the status as an integer code.
        return Response(status=error.status, headers=error.headers, json={"error": {
            "message": error.message, "type": http.HTTPStatus(error.status).phrase, "param": None,
            "code": error.status}})

    def route_error(self, method: str, path: str, allowed: list[str]) -> ApiError:
        return route_error(method, path, allowed)

    def not_found(self, public_id: str) -> ApiError:
        return ApiError(404, f"Video {public_id} not found")

    def create_params(self, request: Request) -> CreateParams:
        """Multipart form only (JSON leaves every Form field empty); unknown fields are ignored."""
        body = request.body if request.encoding == "multipart" else {}
        if not isinstance(body.get("prompt"), str):
            raise _field_error("prompt", "Field required", "missing")
        seconds = body.get("seconds", "4")
        if not isinstance(seconds, str) or not re.fullmatch(r"[1-9]\d*", seconds):
            raise _field_error("seconds", "String should match pattern '^[1-9]\\d*$'", "string_pattern_mismatch")
        size = body.get("size") or self.default_size
        if not isinstance(size, str) or not _SIZE.fullmatch(size):
            raise _field_error("size", "String should match pattern '^\\d+x\\d+$'", "string_pattern_mismatch")
        for name in ("lora", "extra_params", "image_reference", "video_reference", "audio_reference"):
            _json_field(body, name)
        if body.get("input_reference") is not None and (body.get("video_reference") or body.get("audio_reference")):
            raise ApiError(400, "input_reference cannot be combined with video_reference or audio_reference")
        extras = self.extras(body)
        reference = _image(body.get(self.reference_field) or _json_field(body, "image_reference"))
        return self.loose_params(self.server_model, body["prompt"], size, int(seconds), extras, reference)

    def wire_progress(self, job: Job) -> int:
        return 100 if job.status == COMPLETED else 0  # best effort: 0 until it jumps to 100

    def resource(self, job: Job) -> dict[str, Any]:
        base = super().resource(job)
        with self.store.lock:
            error = {"code": job.error["code"], "message": job.error["message"]} if job.error else None
            return {
                **{key: base[key] for key in ("model", "prompt", "id", "object", "status", "size", "progress",
                                              "seconds", "completed_at", "created_at")},
                "quality": "default",
                "remixed_from_video_id": None,
                "error": error,
                "media_type": "video/mp4",
                "expires_at": None,
                "file_name": f"{job.id}.mp4" if job.status == COMPLETED else None,
                "inference_time_s": round(job.completed_at - job.created_at, 3) if job.completed_at else None,
                "stage_durations": {},
                "peak_memory_mb": 0.0,
            }

    def list(self, request: Request) -> Response:
        # ``limit`` >= 0 with no default (every job); an unknown ``after`` gives an empty list.
        limit = _number(request.query, "limit", int, 0, None, where="query")
        jobs = [job for job in self.ordered(request.query.get("order", "desc")) if not job.deleted]
        after = request.query.get("after")
        if after:
            ids = [job.id for job in jobs]
            jobs = jobs[ids.index(after) + 1 :] if after in ids else []
        page = jobs if limit is None else jobs[:limit]
        data = [self.resource(job) for job in page]
        # protocol/videos.py VideoListResponse declares first_id, last_id and has_more.
        return Response(json={"first_id": data[0]["id"] if data else None,
                              "last_id": data[-1]["id"] if data else None,
                              "has_more": len(page) < len(jobs), "data": data, "object": "list"})

    def delete(self, request: Request) -> Response:
        job = self.find(request.params["video_id"])
        with self.store.lock:
            running = job.status in (QUEUED, IN_PROGRESS)
        if running:  # DELETE cancels a queued or running job first
            self.store.cancel(job, "CancelledError", "The generation was cancelled.")
            raise ApiError(409, "Cancellation in progress")
        self.store.delete(job)
        return Response(json={"id": job.id, "deleted": True, "object": "video.deleted"})

    def content(self, request: Request) -> Response:
        job = self.find(request.params["video_id"])  # no ``variant`` parameter: always the MP4
        with self.store.lock:
            if job.status == FAILED:
                raise ApiError(422, f"Video generation failed: {(job.error or {}).get('message', '')}")
            if job.status != COMPLETED:
                raise ApiError(404, "Generation is still in-progress")
            if job.expired:  # a file TTL removed it; the job still says completed (issue #5422)
                raise ApiError(404, f"Video file for {job.id} not found")
            return self.stream(job, "video")


class TensorRTApi(VllmOmniApi):
    """TensorRT-LLM ``trtllm-serve`` [docs]: ``image_reference`` instead of ``input_reference``
    (PR #17493), ``/v1/videos/sync`` (PR #17490), DELETE without cancelling (still open).
    Assumed: no API key, vLLM's older flat error body, ids ``video_<hex>``, one model."""

    name = "tensorrt"
    id_prefix = "video_"
    reference_field = "image_reference"
    server_model = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"

    def authenticate(self, headers: Mapping[str, str]) -> None:
        return None

    def error_response(self, error: ApiError) -> Response:
        if error.layer == ROUTE:
            return fastapi_error(error)
        status = 400 if error.layer == VALIDATION else error.status
        return Response(status=status, headers=error.headers, json={
            "object": "error", "message": error.message, "type": http.HTTPStatus(status).phrase,
            "param": error.param, "code": status})

    def create_params(self, request: Request) -> CreateParams:
        body = request.body
        if isinstance(body.get("image_reference"), UploadedFile):
            request = Request(request.method, request.query, request.params,
                              {**body, "image_reference": None}, "multipart", request.headers, request.failure)
            params = super().create_params(request)
            return CreateParams(params.model, params.prompt, params.width, params.height, params.seconds,
                                params.extras, _image(body["image_reference"]))
        return super().create_params(request)

    def delete(self, request: Request) -> Response:
        job = self.find(request.params["video_id"])
        self.store.delete(job)
        return Response(json={"id": job.id, "deleted": True, "object": "video.deleted"})


class SGLangApi(DiffusionApi):
    """SGLang Diffusion (python/sglang/multimodal_gen/runtime/entrypoints/openai/video_api.py, protocol.py)."""

    name = "sglang"
    # Remix: no route (404 {"detail": "Not Found"}); edits/extensions match /{video_id} (405).
    routes = (
        ("GET", r"/v1/models", "models"),  # assumed: the model path, as SGLang's other servers list it
        ("POST", r"/v1/videos", "create"),
        ("GET", r"/v1/videos", "list"),
        ("GET", rf"/v1/videos/{_ID}", "retrieve"),
        ("DELETE", rf"/v1/videos/{_ID}", "delete"),
        ("GET", rf"/v1/videos/{_ID}/content", "content"),
    )
    owner = "sglang"
    default_size = "720x1280"

    def served_models(self) -> list[str]:
        return ["Wan-AI/Wan2.2-T2V-A14B-Diffusers"]
  # video_api.py: _parse_size(request.size or "720x1280")
    int_fields = {"fps": (None, None), "num_frames": (None, None), "seed": (None, None),
                  "num_inference_steps": (None, None)}
    float_fields = {"guidance_scale": (None, None), "flow_shift": (None, None)}

    def new_backend_id(self) -> str:
        return str(uuid.uuid4())  # generate_request_id(); assumed a uuid4

    def authenticate(self, headers: Mapping[str, str]) -> None:
        return None  # no API key is checked

    def error_response(self, error: ApiError) -> Response:
        return fastapi_error(error)  # every error is FastAPI's {"detail": ...}

    def route_error(self, method: str, path: str, allowed: list[str]) -> ApiError:
        return route_error(method, path, allowed)

    def not_found(self, public_id: str) -> ApiError:
        return ApiError(404, "Video not found")

    def create_params(self, request: Request) -> CreateParams:
        body = dict(request.body)
        if request.encoding == "multipart":
            if not body.get("prompt"):
                raise ApiError(400, "prompt is required")
            for name in ("extra_body", "extra_params"):
                if isinstance(merged := _json_field(body, name), dict):
                    body = {**merged, **body}
            seconds = _number(body, "seconds", int) or 4
            reference = _image(body.get("input_reference"))
        else:
            extra = body.pop("extra_body", None)
            if isinstance(extra, dict):
                body.update(extra)
            try:  # pydantic VideoGenerationsRequest(**payload): lax types, extra fields allowed
                if not isinstance(body.get("prompt"), str):
                    raise ValueError("prompt\n  Field required" if "prompt" not in body
                                     else "prompt\n  Input should be a valid string")
                if body.get("input_reference") is not None and not isinstance(body["input_reference"], str):
                    raise ValueError("input_reference\n  Input should be a valid string")
                seconds = self._lax_int(body, "seconds") or 4
                extras = self.extras(body)
            except (ValueError, ApiError) as exc:
                message = exc.message if isinstance(exc, ApiError) else str(exc)
                raise ApiError(400, f"Invalid request body: 1 validation error for VideoGenerationsRequest\n"
                                    f"{message}") from None
            reference = _image(body.get("reference_url"))
            return self._params(body, seconds, extras, reference)
        return self._params(body, seconds, self.extras(body), reference)

    def _lax_int(self, body: Mapping[str, Any], name: str) -> int | None:
        try:
            return _number(body, name, int)
        except ApiError:
            raise ValueError(f"{name}\n  Input should be a valid integer") from None

    def _params(self, body: Mapping[str, Any], seconds: int, extras: dict[str, Any],
                reference: bytes | None) -> CreateParams:
        size = body.get("size") or self.default_size
        if not isinstance(size, str) or not _SIZE.fullmatch(size):
            raise ApiError(400, f"Invalid size format: {size!r}; expected WIDTHxHEIGHT")
        model = body.get("model") if isinstance(body.get("model"), str) else "sora-2"
        return self.loose_params(model or "sora-2", body["prompt"], size, seconds, extras, reference)

    def wire_status(self, job: Job) -> str:
        return QUEUED if job.status == IN_PROGRESS else job.status  # queued -> completed/failed

    def wire_progress(self, job: Job) -> int:
        return 100 if job.status == COMPLETED else 0

    def resource(self, job: Job) -> dict[str, Any]:
        base = super().resource(job)
        with self.store.lock:
            return {
                **{key: base[key] for key in ("id", "object", "model", "status", "progress", "created_at", "size",
                                              "seconds")},
                "quality": "standard",
                "url": None,
                "remixed_from_video_id": None,
                "completed_at": job.completed_at,
                "expires_at": None,  # never set
                "error": {"message": job.error["message"]} if job.error else None,  # no code
                "file_path": f"/sgl-workspace/outputs/{job.id}.mp4",
                "peak_memory_mb": None,
                "inference_time_s": round(job.completed_at - job.created_at, 3) if job.completed_at else None,
            }  # no prompt

    def list(self, request: Request) -> Response:
        limit = _number(request.query, "limit", int, 1, 100, where="query")  # Query(None, ge=1, le=100): a 422 outside
        order = (request.query.get("order") or "desc").lower()
        jobs = [job for job in self.ordered("asc" if order == "asc" else "desc") if not job.deleted]
        after = request.query.get("after")
        if after is not None:
            ids = [job.id for job in jobs]
            jobs = jobs[ids.index(after) + 1 :] if after in ids else []
        if limit is not None:
            jobs = jobs[:limit]
        return Response(json={"data": [self.resource(job) for job in jobs], "object": "list"})  # no cursors

    def delete(self, request: Request) -> Response:
        job = self.find(request.params["video_id"])
        view = self.resource(job)
        self.store.delete(job)  # pops the job; the render is not stopped
        return Response(json={**view, "status": "deleted"})

    def content(self, request: Request) -> Response:
        job = self.find(request.params["video_id"])
        variant = request.query.get("variant")
        if variant not in (None, "video"):
            raise ApiError(400, f"Unsupported video content variant: {variant!r}")
        with self.store.lock:
            if job.status != COMPLETED:
                raise ApiError(404, "Generation is still in-progress" if job.status != FAILED
                               else "Video output not found")
            if job.expired:
                raise ApiError(404, "Video output not found")
            return self.stream(job, "video", {"Content-Disposition": f'attachment; filename="{job.id}.mp4"'})
