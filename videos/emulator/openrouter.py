"""OpenRouter's video API [docs: openrouter.ai/docs/api_reference/videos].

Not the Sora wire format: ``/api/v1/videos`` takes ``duration``, ``resolution`` and
``aspect_ratio``; a create answers only ``{id, polling_url, status: "pending"}``; a
finished job lists signed ``urls`` (another host, no key) and authenticated
``unsigned_urls``; ``callback_url`` is POSTed when a job ends; statuses include
``cancelled`` and ``expired``; errors are ``{"error": {"code": <int>, "message"}}``.
Assumed where the docs are silent: unknown fields are ignored, there is no list or
DELETE, the callback is one unsigned POST of the job's view.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import urllib.request
from typing import Any

from videos.emulator.api import CreateParams
from videos.emulator.gateways import AisixApi
from videos.emulator.protocol import ROUTE, ApiError, Request, Response, fastapi_error, route_error
from videos.emulator.state import COMPLETED, FAILED, IN_PROGRESS, QUEUED, Job, Store

_ID = r"(?P<video_id>[^/]+)"
#: Video model slugs served here; each model's price per second (assumed).
MODELS = {"openai/sora-2": 0.10, "openai/sora-2-pro": 0.30, "google/veo-3.1": 0.40, "alibaba/wan-2.6": 0.04}
RESOLUTIONS = {"480p": 480, "720p": 720, "1080p": 1080}
ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}


def frame_size(resolution: str, aspect: str) -> tuple[int, int]:
    """``720p`` + ``16:9`` -> (1280, 720): the short side is the resolution."""
    short = RESOLUTIONS[resolution]
    wide, tall = ASPECTS[aspect]
    long = short * max(wide, tall) // min(wide, tall)
    long -= long % 2
    return (long, short) if wide >= tall else (short, long)


class OpenRouterApi(AisixApi):
    name = "openrouter"
    routes = (
        ("POST", r"/api/v1/videos", "create"),
        ("GET", rf"/api/v1/videos/{_ID}", "retrieve"),
        ("GET", rf"/api/v1/videos/{_ID}/content", "content"),
    )
    variants = ("video",)

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.callbacks: dict[str, str] = {}
        self.base_url = ""
        store.listeners.append(self._job_ended)

    @property
    def base_path(self) -> str:
        return "/api/v1"

    def new_backend_id(self) -> str:
        return f"job-{secrets.token_hex(12)}"

    def error_response(self, error: ApiError) -> Response:
        if error.layer == ROUTE:
            return fastapi_error(error)
        return Response(status=error.status, headers=error.headers,
                        json={"error": {"code": error.status, "message": error.message}})

    def route_error(self, method: str, path: str, allowed: list[str]) -> ApiError:
        return route_error(method, path, allowed)

    def create_params(self, request: Request) -> CreateParams:
        body = request.body
        if request.encoding != "json":
            raise ApiError(400, "Request body must be JSON")
        model = body.get("model")
        if model not in MODELS:
            raise ApiError(400, f"Model {model!r} is not a video generation model. Video models: {', '.join(MODELS)}")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ApiError(400, "prompt is required")
        duration = body.get("duration", 4)
        if not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= 20:
            raise ApiError(400, "duration must be an integer number of seconds between 1 and 20")
        resolution = body.get("resolution", "720p")
        aspect = body.get("aspect_ratio", "16:9")
        if resolution not in RESOLUTIONS or aspect not in ASPECTS:
            raise ApiError(400, f"Unsupported resolution {resolution!r} or aspect_ratio {aspect!r}; "
                                f"use {', '.join(RESOLUTIONS)} and {', '.join(ASPECTS)}")
        width, height = frame_size(resolution, aspect)
        extras = {"seed": body["seed"]} if isinstance(body.get("seed"), int) else {}
        return CreateParams(model, prompt, width, height, duration, extras, _first_frame(body.get("frame_images")))

    def create(self, request: Request) -> Response:
        params = self.create_params(request)
        job = self._add_created(request, params)
        callback = request.body.get("callback_url")
        if isinstance(callback, str) and callback.startswith(("http://", "https://")):
            self.callbacks[job.id] = callback
        host = request.headers.get("Host") or f"127.0.0.1:{self.config.port}"
        self.base_url = f"http://{host}"
        return Response(json={"id": job.id, "polling_url": f"/api/v1/videos/{job.id}", "status": "pending"})

    def not_found(self, public_id: str) -> ApiError:
        return ApiError(404, f"Video generation job {public_id} not found")

    def wire_status(self, job: Job) -> str:
        if job.expired:
            return "expired"
        if job.status == FAILED and job.error and job.error.get("code") == "cancelled":
            return "cancelled"
        return {QUEUED: "pending", IN_PROGRESS: "in_progress"}.get(job.status, job.status)

    def resource(self, job: Job) -> dict[str, Any]:
        with self.store.lock:
            view: dict[str, Any] = {"id": job.id, "polling_url": f"/api/v1/videos/{job.id}",
                                    "status": self.wire_status(job)}
            if job.status != QUEUED:
                view["generation_id"] = f"gen-{job.id.removeprefix('job-')}"
            if job.status == COMPLETED and not job.expired:
                base = self.base_url or f"http://127.0.0.1:{self.config.port}"
                view["unsigned_urls"] = [f"{base}/api/v1/videos/{job.id}/content?index=0"]
                view["urls"] = [self._signed(base, job)]
                view["usage"] = {"cost": round(MODELS.get(job.model, 0.1) * job.seconds, 4), "is_byok": False}
            if job.status == FAILED and job.error:
                view["error"] = job.error["message"]
            return view

    def _signed(self, base: str, job: Job) -> str:
        request = Request("GET", {}, {}, {}, "empty", {"Host": base.removeprefix("http://")})
        return self.signed_url(request, job, "video")

    def content(self, request: Request) -> Response:
        job = self.find(request.params["video_id"])
        if request.query.get("index", "0") != "0":
            raise ApiError(404, "No output at that index")
        with self.store.lock:
            if job.status != COMPLETED or job.expired:
                raise ApiError(409 if not job.terminal else 404,
                               f"Video {job.id} has no content (status {self.wire_status(job)})")
            return self.stream(job, "video")

    def _job_ended(self, job: Job) -> None:
        url = self.callbacks.pop(job.id, None)
        if url is not None:
            body = json.dumps(self.resource(job)).encode()
            threading.Thread(target=_post, args=(url, body), name="callback", daemon=True).start()


def _first_frame(frames: Any) -> bytes | None:
    """``frame_images: [{"type": "image_url", "frame_type": "first_frame", "image_url": {"url": ...}}]``."""
    for frame in frames if isinstance(frames, list) else ():
        url = (frame.get("image_url") or {}).get("url") if isinstance(frame, dict) else None
        if frame.get("frame_type", "first_frame") == "first_frame" and isinstance(url, str) and url.startswith("data:"):
            try:
                return base64.b64decode(url.partition(",")[2], validate=True)
            except binascii.Error:
                raise ApiError(400, "frame_images[0].image_url.url is not valid base64") from None
    return None


def _post(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=5).close()
    except OSError:
        pass  # one attempt (assumed); the job can still be polled
