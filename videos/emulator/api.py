"""The ``/v1/videos`` endpoints: validation, job creation and each dialect's wire format.

Handlers take a decoded :class:`Request` and return a :class:`Response` or raise
:class:`ApiError`; HTTP details (auth, faults, streaming) live in :mod:`server`.
Error messages follow OpenAI's wording where it is known, so clients that show
them to users get realistic text.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image

from videos.emulator.dialects import COMPLETED, FAILED
from videos.emulator.forms import UploadedFile
from videos.emulator.render import VARIANTS, RenderSpec, Segment, probe_video
from videos.emulator.state import Job, PlannedFailure, Store
from videos.presets import EXTEND_SECONDS

MAX_PROMPT_CHARS = 32_000
REFERENCE_FORMATS = ("JPEG", "PNG", "WEBP")

#: Names that make a prompt fail moderation after it was accepted, like the real service.
_PROTECTED_CHARACTERS = re.compile(
    r"\b(?:super\s+)?(?:mario|luigi|spongebob|mickey\s+mouse|minnie\s+mouse|donald\s+duck|pikachu"
    r"|darth\s+vader|spider[-\s]?man|elsa|harry\s+potter|batman|superman|iron\s+man|shrek|yoda"
    r"|homer\s+simpson|bugs\s+bunny|hello\s+kitty|sonic\s+the\s+hedgehog|buzz\s+lightyear"
    r"|winnie\s+the\s+pooh|optimus\s+prime)\b",
    re.IGNORECASE,
)

#: Extra diffusion fields -> (type, minimum, maximum); multipart sends them as text.
_EXTRA_TYPES: dict[str, tuple[type, float, float]] = {
    "seed": (int, 0, 2**63 - 1),
    "fps": (int, 1, 60),
    "num_frames": (int, 1, 10_000),
    "num_inference_steps": (int, 1, 1_000),
    "guidance_scale": (float, 0.0, 100.0),
}


class ApiError(Exception):
    """An error answer in OpenAI's ``{"error": {...}}`` shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        type: str = "invalid_request_error",
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.type = type
        self.param = param
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


@dataclass
class Request:
    """A decoded API request. ``failure`` is set by a ``fail_job`` fault."""

    method: str
    query: dict[str, str]
    params: dict[str, str]
    body: dict[str, Any]
    encoding: str
    failure: PlannedFailure | None = None


@dataclass
class Response:
    """JSON (``json``) or a byte stream of ``length`` bytes (``chunks``)."""

    status: int = 200
    json: Any = None
    chunks: Iterator[bytes] | None = None
    length: int = 0
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    #: Runs once the response is sent (or dropped), e.g. to delete a temporary file.
    cleanup: Callable[[], None] | None = None


@dataclass(frozen=True)
class _Source:
    """What a remix, edit or extension starts from: a stored job or an uploaded video."""

    job: Job | None
    model: str
    spec: RenderSpec


@dataclass(frozen=True)
class _CreateParams:
    model: str
    prompt: str
    width: int
    height: int
    seconds: int
    extras: dict[str, Any]
    reference: bytes | None


class Api:
    """One method per endpoint; all state lives in the :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dialect = store.dialect
        self.config = store.config

    # -- endpoints ---------------------------------------------------------------------

    def create(self, request: Request) -> Response:
        params = self._create_params(request)
        job_id = self.dialect.new_backend_id()
        job = self.store.add(
            id=job_id,
            kind="create",
            model=params.model,
            prompt=params.prompt,
            size=f"{params.width}x{params.height}",
            seconds=params.seconds,
            spec=self._spec(job_id, params),
            seed=params.extras.get("seed"),
            planned_failure=request.failure or _moderation(params.prompt),
        )
        return Response(json=self.resource(job))

    def sync(self, request: Request) -> Response:
        """vLLM-Omni's blocking create: the MP4 in the response, no job kept."""
        if not self.dialect.sync_endpoint:
            raise _no_such_endpoint("POST /v1/videos/sync")
        params = self._create_params(request)
        blocked = _moderation(params.prompt)
        if blocked is not None:
            raise ApiError(400, blocked.message, code=blocked.code, param="prompt")
        stem = f"sync_{secrets.token_hex(8)}"
        asset = self.store.render_now(self._spec(stem, params), stem)
        return Response(
            chunks=asset.open_chunks(),
            length=asset.size,
            content_type=asset.content_type,
            cleanup=lambda: asset.path.unlink(missing_ok=True),
        )

    def retrieve(self, request: Request) -> Response:
        job = self._job(request.params["video_id"])
        headers = {}
        if self.dialect.poll_after_header:
            headers["openai-poll-after-ms"] = str(self.config.poll_after_ms)
        return Response(json=self.resource(job), headers=headers)

    def list(self, request: Request) -> Response:
        query = request.query
        if self.dialect.list_requires_provider and not query.get("custom_llm_provider"):
            raise ApiError(
                400,
                "custom_llm_provider is required to list videos, e.g. ?custom_llm_provider=openai.",
                param="custom_llm_provider",
                code="missing_required_parameter",
            )
        limit = _int_param(query, "limit", default=20, low=1, high=100)
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise ApiError(
                400, f"Invalid value {order!r} for order; use 'asc' or 'desc'.", param="order", code="invalid_value"
            )
        jobs = self.store.ordered()
        if order == "desc":
            jobs.reverse()
        after = query.get("after")
        if after:
            backend_id = self.dialect.backend_id(after)
            positions = [n for n, job in enumerate(jobs) if job.id == backend_id]
            if not positions:
                raise ApiError(
                    400, f"No video found with id {after!r} to list after.", param="after", code="invalid_value"
                )
            jobs = jobs[positions[0] + 1 :]
        visible = [job for job in jobs if not job.deleted]
        page = visible[:limit]
        data = [self.resource(job) for job in page]
        return Response(
            json={
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": len(visible) > limit,
            }
        )

    def delete(self, request: Request) -> Response:
        job = self._job(request.params["video_id"])
        self.store.delete(job)
        if self.dialect.delete_returns_job:
            return Response(json={**self.resource(job), "status": "deleted"})
        return Response(json={"id": self.dialect.public_id(job.id), "object": "video.deleted", "deleted": True})

    def content(self, request: Request) -> Response:
        job = self._job(request.params["video_id"])
        variant = "video" if self.dialect.ignores_variant else request.query.get("variant", "video")
        if variant not in VARIANTS:
            raise ApiError(
                400,
                f"Invalid value {variant!r} for variant; use one of {', '.join(VARIANTS)}.",
                param="variant",
                code="invalid_value",
            )
        if variant not in job.variants:
            raise ApiError(
                404, f"Variant {variant!r} is not available on this server.", param="variant", code="variant_not_found"
            )
        public_id = self.dialect.public_id(job.id)
        with self.store.lock:
            if job.expired:
                raise ApiError(404, f"The content of video {public_id!r} has expired.", code="video_expired")
            if job.status == FAILED:
                raise ApiError(400, f"Video {public_id!r} failed and has no content.", code="video_failed")
            if job.status != COMPLETED:
                raise ApiError(
                    400,
                    f"Video {public_id!r} is not ready yet (status {job.status}, {job.progress}% done).",
                    code="video_not_ready",
                )
            asset = job.assets[variant]
            chunks = asset.open_chunks()  # opened under the lock: expiry may unlink the file next
        return Response(chunks=chunks, length=asset.size, content_type=asset.content_type)

    def remix(self, request: Request) -> Response:
        self._require_feature("remix", "POST /v1/videos/{video_id}/remix")
        job = self._job(request.params["video_id"])
        _reject_unknown(request.body, {"prompt", *self.dialect.proxy_fields})
        prompt = _prompt(request.body)
        source = self._usable(job, "remix", param="video_id")
        segments = (Segment(prompt, source.spec.seconds),)
        return self._derive(request, source, "remix", prompt, segments, remixed_from=job.id)

    def edit(self, request: Request) -> Response:
        self._require_feature("edit", "POST /v1/videos/edits")
        _reject_unknown(request.body, {"video", "prompt", *self.dialect.proxy_fields})
        source = self._source(request.body, "edit")
        prompt = _prompt(request.body)
        return self._derive(request, source, "edit", prompt, (Segment(prompt, source.spec.seconds),))

    def extend(self, request: Request) -> Response:
        self._require_feature("extend", "POST /v1/videos/extensions")
        _reject_unknown(request.body, {"video", "prompt", "seconds", *self.dialect.proxy_fields})
        source = self._source(request.body, "extension")
        prompt = _prompt(request.body)
        extra = int(_choice(request.body, "seconds", EXTEND_SECONDS, default=None))
        return self._derive(request, source, "extend", prompt, (*source.spec.segments, Segment(prompt, extra)))

    # -- wire format -----------------------------------------------------------------

    def resource(self, job: Job) -> dict[str, Any]:
        """The job as the dialect's ``VideoResource``."""
        dialect = self.dialect
        with self.store.lock:
            return {
                "id": dialect.public_id(job.id),
                "object": "video",
                "model": job.model,
                "status": dialect.wire_status(job.status, expired=job.expired),
                "progress": dialect.wire_progress(job.status, job.progress),
                "created_at": job.created_at,
                "completed_at": job.completed_at,
                "expires_at": job.expires_at,
                "prompt": job.prompt,
                "size": job.size,
                "seconds": str(job.seconds) if dialect.reports_seconds else None,
                "remixed_from_video_id": dialect.public_id(job.remixed_from) if job.remixed_from else None,
                "error": dict(job.error) if job.error else None,
            }

    def internal_view(self, job: Job) -> dict[str, Any]:
        """What ``GET /_emulator/jobs`` shows: the wire view plus the emulator's own state."""
        view = self.resource(job)
        with self.store.lock:
            view["emulator"] = {
                "backend_id": job.id,
                "kind": job.kind,
                "status": job.status,
                "progress": job.progress,
                "deleted": job.deleted,
                "expired": job.expired,
                "seed": job.seed,
                "source_video_id": self.dialect.public_id(job.source_id) if job.source_id else None,
                "fps": job.spec.fps,
                "render": {
                    "state": job.render_state,
                    "started_at": job.render_started,
                    "finished_at": job.render_finished,
                    "error": job.render_error,
                },
                "assets": {variant: asset.describe() for variant, asset in job.assets.items()},
            }
        return view

    def fault_context(self, endpoint: str, request: Request) -> dict[str, Any]:
        """The values a fault rule's ``match`` can test for this request."""
        context: dict[str, Any] = {}
        for key, value in request.body.items():
            if isinstance(value, (str, int, float)):
                context[key] = value
        source = request.body.get("video")
        if isinstance(source, Mapping) and "id" in source:
            context["video_id"] = source["id"]
        context.update(request.query)
        context.update(request.params)
        if endpoint == "content":
            context.setdefault("variant", "video")
        return context

    # -- helpers ---------------------------------------------------------------------

    def _job(self, public_id: str) -> Job:
        job = self.store.get(self.dialect.backend_id(public_id))
        if job is None:
            raise ApiError(404, f"Video with id {public_id!r} not found.", code="video_not_found")
        return job

    def _source(self, body: Mapping[str, Any], kind: str) -> _Source:
        """The video to edit or extend: ``{"id": ...}`` of a generated one, or an uploaded file."""
        reference = body.get("video")
        if isinstance(reference, UploadedFile):
            return self._uploaded_source(reference)
        if reference is None:
            raise ApiError(
                400, "Missing required parameter: 'video'.", param="video", code="missing_required_parameter"
            )
        if not isinstance(reference, Mapping) or not isinstance(reference.get("id"), str) or not reference["id"]:
            raise ApiError(
                400,
                'video must be an uploaded file or an object like {"id": "video_123"}.',
                param="video",
                code="invalid_type",
            )
        return self._usable(self._job(reference["id"]), kind, param="video")

    def _usable(self, job: Job, kind: str, param: str) -> _Source:
        """``job`` as a source, if it is completed and its content has not expired."""
        with self.store.lock:
            usable = job.status == COMPLETED and not job.expired
            status = self.dialect.wire_status(job.status, expired=job.expired)
        if not usable:
            raise ApiError(
                400,
                f"Video {self.dialect.public_id(job.id)!r} cannot be used for a {kind}: it must be completed "
                f"and its content not expired (status {status}).",
                param=param,
                code="invalid_video_state",
            )
        return _Source(job, job.model, job.spec)

    def _uploaded_source(self, upload: UploadedFile) -> _Source:
        """An uploaded video: its size picks the model, its first frame leads the new clip."""
        try:
            probe = probe_video(upload.data)
        except ValueError:
            raise ApiError(
                400, "The uploaded video could not be decoded.", param="video", code="invalid_video"
            ) from None
        size = f"{probe.width}x{probe.height}"
        models = [name for name, model in self.dialect.models.items() if size in model["SIZES"]]
        if not models:
            sizes = sorted({size for model in self.dialect.models.values() for size in model["SIZES"]})
            raise ApiError(
                400,
                f"The uploaded video is {size}; supported sizes are: {', '.join(sizes)}.",
                param="video",
                code="invalid_video_dimensions",
            )
        spec = RenderSpec(
            width=probe.width,
            height=probe.height,
            fps=self.config.fps,
            segments=(Segment(f"uploaded video {upload.filename}", probe.seconds),),
            label="",
            seed_key="",
            reference=probe.first_frame,
        )
        return _Source(None, models[0], spec)

    def _require_feature(self, feature: str, endpoint: str) -> None:
        if not self.dialect.features[feature]:
            raise _no_such_endpoint(endpoint)

    def _derive(
        self,
        request: Request,
        source: _Source,
        kind: str,
        prompt: str,
        segments: tuple[Segment, ...],
        remixed_from: str | None = None,
    ) -> Response:
        """A remix, edit or extension: the source's model, size and look, new ``segments``."""
        job_id = self.dialect.new_backend_id()
        spec = replace(source.spec, segments=segments, label=job_id, seed_key=job_id)
        job = self.store.add(
            id=job_id,
            kind=kind,
            model=source.model,
            prompt=prompt,
            size=f"{spec.width}x{spec.height}",
            seconds=spec.seconds,
            spec=spec,
            source_id=source.job.id if source.job else None,
            remixed_from=remixed_from,
            planned_failure=request.failure or _moderation(prompt),
        )
        return Response(json=self.resource(job))

    def _create_params(self, request: Request) -> _CreateParams:
        body = request.body
        dialect = self.dialect
        if dialect.multipart_needs_reference and request.encoding == "multipart" and "input_reference" not in body:
            raise ApiError(
                400,
                "A multipart/form-data request must include input_reference; send text-only requests as JSON.",
                param="input_reference",
                code="missing_required_parameter",
            )
        model_name = body.get("model", dialect.default_model)
        if not isinstance(model_name, str) or model_name not in dialect.models:
            raise ApiError(
                400,
                f"Invalid model {model_name!r}. Supported models are: {', '.join(dialect.models)}.",
                param="model",
                code="invalid_value",
            )
        model = dialect.models[model_name]
        extra_names = list(model["EXTRA_PARAMS"])
        _reject_unknown(
            body, {"model", "prompt", "seconds", "size", "input_reference", *extra_names, *dialect.proxy_fields}
        )
        prompt = _prompt(body)
        size = body.get("size", model["SIZES"][0])
        if size not in model["SIZES"]:
            raise ApiError(
                400,
                f"Invalid size {size!r} for model {model_name!r}. Supported sizes are: {', '.join(model['SIZES'])}.",
                param="size",
                code="invalid_value",
            )
        default_seconds = "4" if "4" in model["SECONDS"] else model["SECONDS"][0]
        seconds = int(_choice(body, "seconds", model["SECONDS"], default=default_seconds))
        extras = {name: _extra(name, body[name]) for name in extra_names if name in body}
        width, height = (int(part) for part in size.split("x"))
        reference = _reference(body.get("input_reference"), width, height)
        return _CreateParams(model_name, prompt, width, height, seconds, extras, reference)

    def _spec(self, job_id: str, params: _CreateParams) -> RenderSpec:
        """Seeded jobs show and hash the seed and parameters instead of the job id."""
        seed = params.extras.get("seed")
        if seed is None:
            label, seed_key = job_id, job_id
        else:
            label = f"seed {seed}"
            seed_key = json.dumps({"model": params.model, **params.extras}, sort_keys=True)
        return RenderSpec(
            width=params.width,
            height=params.height,
            fps=params.extras.get("fps", self.config.fps),
            segments=(Segment(params.prompt, params.seconds),),
            label=label,
            seed_key=seed_key,
            reference=params.reference,
        )


def _no_such_endpoint(endpoint: str) -> ApiError:
    return ApiError(404, f"{endpoint} is not supported by this server.", code="unsupported_endpoint")


def _moderation(prompt: str) -> PlannedFailure | None:
    found = _PROTECTED_CHARACTERS.search(prompt)
    if found is None:
        return None
    return PlannedFailure(
        "moderation_blocked",
        f"Your request was blocked by our moderation system: the prompt references {found.group(0)!r}, "
        "a third-party character protected by copyright. Please revise the prompt.",
        at_progress=0,
    )


def _reject_unknown(body: Mapping[str, Any], allowed: set[str]) -> None:
    for name in body:
        if name not in allowed:
            raise ApiError(400, f"Unknown parameter: {name!r}.", param=name, code="unknown_parameter")


def _prompt(body: Mapping[str, Any]) -> str:
    prompt = body.get("prompt")
    if prompt is None:
        raise ApiError(400, "Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter")
    if not isinstance(prompt, str):
        raise ApiError(400, "Invalid type for 'prompt': expected a string.", param="prompt", code="invalid_type")
    if not prompt.strip():
        raise ApiError(400, "prompt must not be empty.", param="prompt", code="invalid_value")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ApiError(
            400,
            f"prompt is too long: {len(prompt)} characters, at most {MAX_PROMPT_CHARS} are allowed.",
            param="prompt",
            code="string_above_max_length",
        )
    return prompt


def _choice(body: Mapping[str, Any], name: str, allowed: Any, default: str | None) -> str:
    """A string from ``allowed``; like the real API, ``"seconds": 4`` (a number) is refused."""
    value = body.get(name, default)
    if value is None:
        raise ApiError(400, f"Missing required parameter: {name!r}.", param=name, code="missing_required_parameter")
    supported = ", ".join(repr(item) for item in allowed)
    if not isinstance(value, str):
        raise ApiError(
            400,
            f"Invalid type for {name!r}: expected one of {supported} as a string, but got {type(value).__name__}.",
            param=name,
            code="invalid_type",
        )
    if value not in allowed:
        raise ApiError(
            400,
            f"Invalid value {value!r} for {name!r}. Supported values are: {supported}.",
            param=name,
            code="invalid_value",
        )
    return value


def _extra(name: str, value: Any) -> Any:
    """Coerce an extra diffusion field (text in multipart) to its type, within bounds."""
    if name not in _EXTRA_TYPES:
        if not isinstance(value, str):
            raise ApiError(400, f"Invalid type for {name!r}: expected a string.", param=name, code="invalid_type")
        return value
    kind, low, high = _EXTRA_TYPES[name]
    try:
        if isinstance(value, bool) or (kind is int and isinstance(value, float)):
            raise ValueError
        number = kind(value)
    except (TypeError, ValueError):
        raise ApiError(
            400, f"Invalid type for {name!r}: expected {kind.__name__}.", param=name, code="invalid_type"
        ) from None
    if not low <= number <= high:
        raise ApiError(400, f"{name} must be between {low:g} and {high:g}.", param=name, code="invalid_value")
    return number


def _int_param(query: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be an integer between {low} and {high}.", param=name, code="invalid_value")
    return value


def _reference(value: Any, width: int, height: int) -> bytes | None:
    """The reference image bytes, checked to be JPEG/PNG/WebP of exactly the output size."""
    if value is None:
        return None
    if isinstance(value, UploadedFile):
        data = value.data
    elif isinstance(value, Mapping):
        data = _image_url(value)
    else:
        raise ApiError(
            400,
            "input_reference must be an uploaded image file or an object with image_url.",
            param="input_reference",
            code="invalid_type",
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format, image_size = image.format, image.size
            if image_format in REFERENCE_FORMATS and image_size == (width, height):
                image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ApiError(
            400, "input_reference is not a readable image.", param="input_reference", code="invalid_image"
        ) from None
    if image_format not in REFERENCE_FORMATS:
        raise ApiError(
            400,
            f"Unsupported input_reference format {image_format}; use JPEG, PNG or WebP.",
            param="input_reference",
            code="invalid_image_format",
        )
    if image_size != (width, height):
        raise ApiError(
            400,
            f"input_reference is {image_size[0]}x{image_size[1]} but the requested size is {width}x{height}; "
            "they must match.",
            param="input_reference",
            code="invalid_image_dimensions",
        )
    return data


def _image_url(value: Mapping[str, Any]) -> bytes:
    _reject_unknown(value, {"image_url", "file_id"})
    if value.get("file_id") is not None:
        raise ApiError(
            400,
            "input_reference.file_id is not supported; upload the image or send it as an image_url data URL.",
            param="input_reference.file_id",
            code="unsupported_value",
        )
    url = value.get("image_url")
    if not isinstance(url, str) or not url:
        raise ApiError(
            400,
            "input_reference needs image_url or file_id.",
            param="input_reference",
            code="missing_required_parameter",
        )
    header, comma, payload = url.partition(",")
    if not url.startswith("data:") or not comma or not header.endswith(";base64"):
        raise ApiError(
            400,
            "The emulator cannot fetch remote images; send image_url as a base64 data: URL.",
            param="input_reference.image_url",
            code="unsupported_value",
        )
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error:
        raise ApiError(
            400,
            "input_reference.image_url is not valid base64.",
            param="input_reference.image_url",
            code="invalid_value",
        ) from None
