"""The spec's server: ``/v1/videos`` as OpenAI wrote it, with hooks for each dialect.

:class:`Api` answers every endpoint the way ``openai-videos-openapi.yaml`` says; the
servers that copy it (``selfhosted``, ``gateways``) subclass it and override what
their source does differently: routes, errors, validation, wire format. Handlers take
a decoded :class:`Request` and return a :class:`Response` or raise :class:`ApiError`;
HTTP details (faults, streaming) live in :mod:`server`.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from videos.emulator import checks
from videos.emulator.forms import UploadedFile
from videos.emulator.protocol import AUTH, ApiError, Request, Response, openai_error
from videos.emulator.render import VARIANTS, RenderSpec, Segment, probe_video
from videos.emulator.state import COMPLETED, FAILED, IN_PROGRESS, QUEUED, Job, Store
from videos.presets import EXTEND_SECONDS, MODEL_PRESETS

_ID = r"(?P<video_id>[^/]+)"
#: Every route of the spec: (method, path pattern, endpoint); earlier patterns win.
SPEC_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", r"/v1/models", "models"),
    ("POST", r"/v1/videos", "create"),
    ("GET", r"/v1/videos", "list"),
    ("POST", r"/v1/videos/edits", "edit"),
    ("POST", r"/v1/videos/extensions", "extend"),
    ("GET", rf"/v1/videos/{_ID}", "retrieve"),
    ("DELETE", rf"/v1/videos/{_ID}", "delete"),
    ("GET", rf"/v1/videos/{_ID}/content", "content"),
    ("POST", rf"/v1/videos/{_ID}/remix", "remix"),
)


@dataclass(frozen=True)
class Source:
    """What a remix, edit or extension starts from: a stored job or an uploaded video."""

    job: Job | None
    model: str
    spec: RenderSpec


@dataclass(frozen=True)
class CreateParams:
    model: str
    prompt: str
    width: int
    height: int
    seconds: int
    extras: dict[str, Any]
    reference: bytes | None


class Api:
    """One method per endpoint; all state lives in the :class:`Store`."""

    name: ClassVar[str] = "openai"
    routes: ClassVar[tuple[tuple[str, str, str], ...]] = SPEC_ROUTES
    #: The variants rendered and served; a server that ignores ``variant`` has one.
    variants: ClassVar[tuple[str, ...]] = tuple(VARIANTS)
    id_prefix: ClassVar[str] = "video_"
    #: Only OpenAI sends the ``openai-poll-after-ms`` hint.
    poll_after_header: ClassVar[bool] = True
    #: Prompts naming protected characters fail moderation (a hosted service's rule).
    moderates: ClassVar[bool] = True

    def __init__(self, store: Store) -> None:
        self.store = store
        self.config = store.config
        self.routes_compiled = [(method, re.compile(pattern), endpoint) for method, pattern, endpoint in self.routes]
        store.bind(self.variants, self.public_id)

    @property
    def base_path(self) -> str:
        return "/v1"

    @property
    def model_table(self) -> Mapping[str, Mapping[str, Any]]:
        return MODEL_PRESETS["openai"]

    # -- identity, auth, errors ------------------------------------------------------

    def new_backend_id(self) -> str:
        return f"{self.id_prefix}{secrets.token_hex(16)}"

    def public_id(self, backend_id: str) -> str:
        """The id clients see for a stored job."""
        return backend_id

    def backend_id(self, public_id: str) -> str | None:
        """Inverse of :meth:`public_id`; None when the id cannot be one of ours."""
        return public_id

    def authenticate(self, headers: Mapping[str, str]) -> None:
        scheme, _, key = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or key.strip() not in self.config.api_keys:
            message = (
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
                if not key.strip()
                else "Incorrect API key provided."
            )
            raise ApiError(401, message, code="invalid_api_key", layer=AUTH)

    def error_response(self, error: ApiError) -> Response:
        """``error`` in this server's shape."""
        return openai_error(error)

    def route_error(self, method: str, path: str, allowed: list[str]) -> ApiError:
        if allowed:
            return ApiError(405, f"Method {method} not allowed on {path}.", code="method_not_allowed",
                            headers={"Allow": ", ".join(allowed)})
        return ApiError(404, f"Unknown endpoint: {method} {path}.", code="unknown_url")

    # -- endpoints ---------------------------------------------------------------------

    def create(self, request: Request) -> Response:
        params = self.create_params(request)
        job = self._add_created(request, params)
        return Response(json=self.resource(job))

    def retrieve(self, request: Request) -> Response:
        job = self.find(request.params["video_id"])
        headers = {}
        if self.poll_after_header:
            headers["openai-poll-after-ms"] = str(self.config.poll_after_ms)
        return Response(json=self.resource(job), headers=headers)

    def list(self, request: Request) -> Response:
        query = request.query
        limit = checks.int_param(query, "limit", default=20, low=0, high=100)  # the spec allows 0
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise ApiError(
                400, f"Invalid value {order!r} for order; use 'asc' or 'desc'.", param="order", code="invalid_value"
            )
        jobs = self.ordered(order)
        after = query.get("after")
        if after:
            backend_id = self.backend_id(after)
            positions = [n for n, job in enumerate(jobs) if job.id == backend_id]
            if not positions:
                raise ApiError(
                    400, f"No video found with id {after!r} to list after.", param="after", code="invalid_value"
                )
            jobs = jobs[positions[0] + 1 :]
        visible = [job for job in jobs if not job.deleted]
        page = visible[:limit]
        data = [self.resource(job) for job in page]
        return Response(json={
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": len(visible) > limit,
        })

    def delete(self, request: Request) -> Response:
        job = self.find(request.params["video_id"])
        self.store.delete(job)
        return Response(json={"id": self.public_id(job.id), "object": "video.deleted", "deleted": True})

    def content(self, request: Request) -> Response:
        job = self.find(request.params["video_id"])
        variant = request.query.get("variant", "video")
        if variant not in VARIANTS:
            raise ApiError(
                400,
                f"Invalid value {variant!r} for variant; use one of {', '.join(VARIANTS)}.",
                param="variant",
                code="invalid_value",
            )
        public_id = self.public_id(job.id)
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
            return self.stream(job, variant)

    def remix(self, request: Request) -> Response:
        job = self.find(request.params["video_id"])
        checks.reject_unknown(request.body, {"prompt", *self.proxy_fields()})
        prompt = checks.prompt_of(request.body)
        source = self._usable(job, "remix", param="video_id")
        segments = (Segment(prompt, source.spec.seconds),)
        return self._derive(request, source, "remix", prompt, segments, remixed_from=job.id)

    def edit(self, request: Request) -> Response:
        checks.reject_unknown(request.body, {"video", "prompt", *self.proxy_fields()})
        source = self._source(request.body, "edit")
        prompt = checks.prompt_of(request.body)
        return self._derive(request, source, "edit", prompt, (Segment(prompt, source.spec.seconds),))

    def extend(self, request: Request) -> Response:
        checks.reject_unknown(request.body, {"video", "prompt", "seconds", *self.proxy_fields()})
        source = self._source(request.body, "extension")
        prompt = checks.prompt_of(request.body)
        extra = int(checks.choice(request.body, "seconds", EXTEND_SECONDS, default=None))
        return self._derive(request, source, "extend", prompt, (*source.spec.segments, Segment(prompt, extra)))

    def models(self, request: Request) -> Response:
        """``GET /v1/models``: what the server serves (vLLM-Omni, SGLang, LiteLLM, gateways have it too)."""
        return Response(json={"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": self.owner} for name in self.served_models()]})

    def served_models(self) -> list[str]:
        return list(self.model_table)

    owner: ClassVar[str] = "openai"

    def sync(self, request: Request) -> Response:
        """A blocking create answered with the MP4 bytes; no job is kept (vLLM-Omni, TensorRT-LLM)."""
        params = self.create_params(request)
        stem = f"sync_{secrets.token_hex(8)}"
        asset = self.store.render_now(self.render_spec(stem, params), stem)
        return Response(
            chunks=asset.open_chunks(),
            length=asset.size,
            content_type=asset.content_type,
            cleanup=lambda: asset.path.unlink(missing_ok=True),
        )

    # -- wire format -----------------------------------------------------------------

    def wire_status(self, job: Job) -> str:
        return job.status

    def wire_progress(self, job: Job) -> int:
        return job.progress

    def resource(self, job: Job) -> dict[str, Any]:
        """The job as this server's ``VideoResource``."""
        with self.store.lock:
            return {
                "id": self.public_id(job.id),
                "object": "video",
                "model": job.model,
                "status": self.wire_status(job),
                "progress": self.wire_progress(job),
                "created_at": job.created_at,
                "completed_at": job.completed_at,
                "expires_at": job.expires_at,
                "prompt": job.prompt,
                "size": job.size,
                "seconds": str(job.seconds),
                "remixed_from_video_id": self.public_id(job.remixed_from) if job.remixed_from else None,
                "error": dict(job.error) if job.error else None,
            }

    def stream(self, job: Job, variant: str, headers: Mapping[str, str] | None = None) -> Response:
        """The asset's bytes; called under the store's lock (expiry may unlink the file next)."""
        asset = job.assets[variant]
        return Response(chunks=asset.open_chunks(), length=asset.size, content_type=asset.content_type,
                        headers=dict(headers or {}))

    # -- helpers for subclasses --------------------------------------------------------

    def proxy_fields(self) -> tuple[str, ...]:
        """Body fields a proxy consumes itself, accepted on top of the model's."""
        return ()

    def not_found(self, public_id: str) -> ApiError:
        return ApiError(404, f"Video with id {public_id!r} not found.", code="video_not_found")

    def find(self, public_id: str) -> Job:
        job = self.store.get(self.backend_id(public_id))
        if job is None:
            raise self.not_found(public_id)
        return job

    def ordered(self, order: str) -> list[Job]:
        jobs = self.store.ordered()
        if order == "desc":
            jobs.reverse()
        return jobs

    def create_params(self, request: Request) -> CreateParams:
        """The spec's strict validation: the model table, exact sizes and lengths, no unknown field."""
        body = request.body
        model_name = body.get("model", next(iter(self.model_table)))
        if not isinstance(model_name, str) or model_name not in self.model_table:
            raise ApiError(
                400,
                f"Invalid model {model_name!r}. Supported models are: {', '.join(self.model_table)}.",
                param="model",
                code="invalid_value",
            )
        model = self.model_table[model_name]
        extra_names = list(model["EXTRA_PARAMS"])
        checks.reject_unknown(
            body, {"model", "prompt", "seconds", "size", "input_reference", *extra_names, *self.proxy_fields()}
        )
        prompt = checks.prompt_of(body)
        size = body.get("size", model["SIZES"][0])
        if size not in model["SIZES"]:
            raise ApiError(
                400,
                f"Invalid size {size!r} for model {model_name!r}. Supported sizes are: {', '.join(model['SIZES'])}.",
                param="size",
                code="invalid_value",
            )
        default_seconds = "4" if "4" in model["SECONDS"] else model["SECONDS"][0]
        seconds = int(checks.choice(body, "seconds", model["SECONDS"], default=default_seconds))
        extras = {name: checks.extra_value(name, body[name]) for name in extra_names if name in body}
        width, height = (int(part) for part in size.split("x"))
        reference = checks.reference_image(body.get("input_reference"), width, height)
        return CreateParams(model_name, prompt, width, height, seconds, extras, reference)

    def render_spec(self, job_id: str, params: CreateParams) -> RenderSpec:
        """Seeded jobs show and hash the seed and parameters instead of the job id."""
        seed = params.extras.get("seed")
        if seed is None:
            label, seed_key = job_id, job_id
        else:
            label = f"seed {seed}"
            seed_key = json.dumps({"model": params.model, **params.extras}, sort_keys=True, default=str)
        return RenderSpec(
            width=params.width - params.width % 2,  # H.264 4:2:0 needs even sides
            height=params.height - params.height % 2,
            fps=int(params.extras.get("fps") or self.config.fps),
            segments=(Segment(params.prompt, params.seconds),),
            label=label,
            seed_key=seed_key,
            reference=params.reference,
            audio=bool(params.extras.get("generate_sound")),
        )

    def _add_created(self, request: Request, params: CreateParams) -> Job:
        job_id = self.new_backend_id()
        return self.store.add(
            id=job_id,
            kind="create",
            model=params.model,
            prompt=params.prompt,
            size=f"{params.width}x{params.height}",
            seconds=params.seconds,
            spec=self.render_spec(job_id, params),
            seed=params.extras.get("seed"),
            planned_failure=request.failure or (checks.moderation(params.prompt) if self.moderates else None),
        )

    def _source(self, body: Mapping[str, Any], kind: str) -> Source:
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
        return self._usable(self.find(reference["id"]), kind, param="video")

    def _usable(self, job: Job, kind: str, param: str) -> Source:
        """``job`` as a source, if it is completed and its content has not expired."""
        with self.store.lock:
            usable = job.status == COMPLETED and not job.expired
            status = self.wire_status(job)
        if not usable:
            raise ApiError(
                400,
                f"Video {self.public_id(job.id)!r} cannot be used for a {kind}: it must be completed "
                f"and its content not expired (status {status}).",
                param=param,
                code="invalid_video_state",
            )
        return Source(job, job.model, job.spec)

    def _uploaded_source(self, upload: UploadedFile) -> Source:
        """An uploaded video: its size picks the model, its first frame leads the new clip."""
        try:
            probe = probe_video(upload.data)
        except ValueError:
            raise ApiError(
                400, "The uploaded video could not be decoded.", param="video", code="invalid_video"
            ) from None
        size = f"{probe.width}x{probe.height}"
        models = [name for name, model in self.model_table.items() if size in model["SIZES"]]
        if not models:
            sizes = sorted({size for model in self.model_table.values() for size in model["SIZES"]})
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
        return Source(None, models[0], spec)

    def _derive(
        self,
        request: Request,
        source: Source,
        kind: str,
        prompt: str,
        segments: tuple[Segment, ...],
        remixed_from: str | None = None,
    ) -> Response:
        """A remix, edit or extension: the source's model, size and look, new ``segments``."""
        job_id = self.new_backend_id()
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
            planned_failure=request.failure or checks.moderation(prompt),
        )
        return Response(json=self.resource(job))


__all__ = ["Api", "CreateParams", "Source", "SPEC_ROUTES", "QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED"]
