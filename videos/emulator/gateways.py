"""Proxies and gateways in front of a spec server: LiteLLM, new-api, llama-swap, aisix.

Each keeps the spec's job behaviour (it is relayed to an OpenAI-style backend) and
changes what the proxy itself changes: ids, statuses, routes, error wrapping,
redirects. LiteLLM's quirks were observed on a real proxy (``litellm[proxy]`` 1.108.7,
``litellm/proxy/video_endpoints/endpoints.py``); the others come from their docs and
PRs, and each assumption says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from videos.emulator.api import SPEC_ROUTES, Api, CreateParams
from videos.emulator.protocol import AUTH, ROUTE, ApiError, Request, Response, fastapi_error, route_error, text_error
from videos.emulator.state import COMPLETED, IN_PROGRESS, QUEUED, Job

_PROVIDER_MISSING = (
    "litellm.BadRequestError: LLM Provider NOT provided. Pass in the LLM provider you are trying to call. "
    "You passed model=\n Pass model as E.g. For 'Huggingface' inference endpoints pass in "
    "`completion(model='huggingface/starcoder',..)` Learn more: https://docs.litellm.ai/docs/providers"
)
_NO_OPENAI = (
    "litellm.InternalServerError: InternalServerError: OpenAIException - Cannot connect to host "
    "api.openai.com:443 ssl:<ssl.SSLContext object at 0x7f53b8e1d7f0> [Name or service not known]"
)
_EXCEPTION_NAMES = {429: "RateLimitError", 500: "InternalServerError", 502: "InternalServerError",
                    503: "ServiceUnavailableError"}


class ProxyError(ApiError):
    """An error the proxy makes itself (not relayed from the backend)."""


class LiteLLMApi(Api):
    """LiteLLM proxy routing ``sora-2``/``sora-2-pro`` to an OpenAI-style backend [run]."""

    name = "litellm"
    # DELETE is not routed: 405 {"detail": "Method Not Allowed"}, Allow: GET.
    routes = tuple(route for route in SPEC_ROUTES if route[0] != "DELETE")
    poll_after_header = False  # the proxy does not pass the backend's hint on

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        #: ``openai`` passes statuses through; a non-OpenAI backend reports ``processing``.
        self.backend = self.config.backend

    def proxy_fields(self) -> tuple[str, ...]:
        return ("custom_llm_provider",)

    # -- ids: video_ + standard base64 of "litellm:custom_llm_provider:...;video_id:..." --

    def _deployment(self, model: str) -> str:
        return hashlib.sha256(f"{model}:{self.config.port}".encode()).hexdigest()

    def public_id(self, backend_id: str) -> str:
        job = self.store.jobs.get(backend_id)
        model = job.model if job is not None else "sora-2"
        blob = (f"litellm:custom_llm_provider:{self.backend};model_id:{model};video_id:{backend_id};"
                f"deployment_id:{self._deployment(model)}")
        return "video_" + base64.b64encode(blob.encode()).decode()

    def backend_id(self, public_id: str) -> str | None:
        fields = _decode(public_id)
        if fields is None:  # a raw id makes the proxy call api.openai.com, which it cannot reach
            raise ProxyError(500, _NO_OPENAI, type="internal_server_error", code="500")
        return fields.get("video_id")

    # -- auth and errors -----------------------------------------------------------------

    def authenticate(self, headers: Mapping[str, str]) -> None:
        scheme, _, key = (headers.get("Authorization") or "").partition(" ")
        if not key.strip():
            raise ApiError(500, "Internal Server Error", layer=AUTH)  # plain text, seen on 1.108.7
        if key.strip() not in self.config.api_keys:  # a proxy without a database cannot look the key up
            raise ProxyError(400, "No connected db.", type="no_db_connection", code="400")

    def error_response(self, error: ApiError) -> Response:
        if error.layer == ROUTE:
            return fastapi_error(error)
        if error.layer == AUTH:
            return text_error(error)
        if isinstance(error, ProxyError):
            return Response(status=error.status, json=error.body(), headers=error.headers)
        name = _EXCEPTION_NAMES.get(error.status, "BadRequestError")
        prefix = f"litellm.{name}: " + (f"{name}: " if error.status >= 500 else "")
        message = (f"{prefix}OpenAIException - {json.dumps(error.body())}\n\nLiteLLM: model group "
                   f"'{error.model or 'sora-2'}' failed with the error above. No fallback was attempted.")
        kind = "internal_server_error" if error.status >= 500 else "invalid_request_error"
        body = {"error": {"message": message, "type": kind, "param": None, "code": str(error.status)}}
        return Response(status=error.status, json=body, headers=error.headers)

    def route_error(self, method: str, path: str, allowed: list[str]) -> ApiError:
        return route_error(method, path, allowed)

    # -- endpoints -------------------------------------------------------------------------

    def create(self, request: Request) -> Response:
        model = request.body.get("model")
        if not isinstance(model, str) or model not in self.model_table:
            message = (f"/videos: Invalid model name passed in model={model}. Call `/v1/models` to view "
                       "available models for your key.")
            error = ProxyError(400, message, code="400")
            error.extra = {"provider_specific_fields": {"error": message}}
            raise error
        try:
            response = super().create(request)
        except ApiError as error:
            error.model = model
            raise
        response.json["usage"] = {"duration_seconds": float(response.json["seconds"])}
        return response

    def retrieve(self, request: Request) -> Response:
        response = super().retrieve(request)
        response.json["usage"] = None
        return response

    def remix(self, request: Request) -> Response:
        response = super().remix(request)
        response.json["usage"] = {"duration_seconds": float(response.json["seconds"])}
        return response

    def edit(self, request: Request) -> Response:
        response = super().edit(request)
        response.json["usage"] = None
        return response

    def extend(self, request: Request) -> Response:
        response = super().extend(request)
        response.json["usage"] = None
        return response

    def list(self, request: Request) -> Response:
        if not request.query.get("custom_llm_provider"):
            raise ProxyError(400, _PROVIDER_MISSING, code="400")
        # With it, the proxy ignores the deployment's api_base and tries api.openai.com.
        raise ProxyError(500, _NO_OPENAI, type="internal_server_error", code="500")

    def content(self, request: Request) -> Response:
        public = request.params["video_id"]
        response = super().content(Request(request.method, {}, request.params, {}, "empty"))  # ?variant= dropped
        response.headers["Content-Disposition"] = f"attachment; filename=video_{public}.mp4"
        return response

    def resource(self, job: Job) -> dict[str, Any]:
        view = super().resource(job)
        view["remixed_from_video_id"] = job.remixed_from  # the raw backend id: no match to the parent
        return view

    def wire_status(self, job: Job) -> str:
        if self.backend != "openai" and job.status == IN_PROGRESS:
            return "processing"
        return job.status

    def find(self, public_id: str) -> Job:
        try:
            return super().find(public_id)
        except ProxyError:
            raise
        except ApiError as error:
            error.model = (_decode(public_id) or {}).get("model_id")
            raise


def _decode(public_id: str) -> dict[str, str] | None:
    token = public_id.removeprefix("video_")
    try:
        text = base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not text.startswith("litellm:"):
        return None
    fields = dict(part.split(":", 1) for part in text.removeprefix("litellm:").split(";") if ":" in part)
    return fields if fields.get("video_id") else None


class GatewayApi(Api):
    """A generic reselling gateway: ``NOT_START``/``processing``, null ``seconds``, ``expired``."""

    name = "gateway"
    poll_after_header = False

    def wire_status(self, job: Job) -> str:
        if job.expired:
            return "expired"
        return {QUEUED: "NOT_START", IN_PROGRESS: "processing"}.get(job.status, job.status)

    def resource(self, job: Job) -> dict[str, Any]:
        view = super().resource(job)
        view["seconds"] = None
        return view

    def content(self, request: Request) -> Response:
        job = self.find(request.params["video_id"])
        if job.expired:
            raise ApiError(404, f"Video {request.params['video_id']!r} has expired.", code="video_expired")
        return super().content(request)


class NewApiApi(GatewayApi):
    """new-api (QuantumNous/new-api) "Sora format" relay [docs]. Assumed from its docs: Gin's plain-text
    404 for what it does not route (list, DELETE, edits, extensions), provider fields in a ``metadata``
    JSON field, ``seconds`` a float once known, OpenAI-shaped errors with type ``new_api_error``."""

    name = "new-api"
    routes = tuple(route for route in SPEC_ROUTES if route[2] in {"models", "create", "retrieve", "content", "remix"})

    def route_error(self, method: str, path: str, allowed: list[str]) -> ApiError:
        return ApiError(404, "404 page not found", layer=ROUTE)  # Gin answers unknown methods with 404 too

    def error_response(self, error: ApiError) -> Response:
        if error.layer == ROUTE:
            return text_error(error)
        body = {"error": {"message": error.message, "type": "new_api_error", "param": error.param or "",
                          "code": error.code}}
        return Response(status=error.status, json=body, headers=error.headers)

    def create_params(self, request: Request) -> CreateParams:
        body = dict(request.body)
        metadata = body.pop("metadata", None)
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except ValueError:
                raise ApiError(400, "metadata is not valid JSON", param="metadata", code="invalid_request") from None
        if metadata is not None and not isinstance(metadata, dict):
            raise ApiError(400, "metadata must be a JSON object", param="metadata", code="invalid_request")
        request = Request(request.method, request.query, request.params, body, request.encoding,
                          request.headers, request.failure)
        params = super().create_params(request)
        return CreateParams(params.model, params.prompt, params.width, params.height, params.seconds,
                            {**params.extras, **(metadata or {})}, params.reference)

    def resource(self, job: Job) -> dict[str, Any]:
        view = super().resource(job)
        view["seconds"] = None if job.status == QUEUED else float(job.seconds)
        return view


class LlamaSwapApi(Api):
    """llama-swap in front of a spec server [docs, PR #991]: GET and DELETE on ``/v1/videos...`` name
    the model in ``?model=``, since they carry no body. Assumed: its plain-text 400 without it."""

    name = "llama-swap"
    poll_after_header = False

    def _require_model(self, request: Request) -> None:
        model = request.query.get("model")
        if not model:
            raise ApiError(400, "could not find a model for this request: add ?model=<name> to GET and DELETE",
                           code="plain")
        if model not in self.model_table:
            raise ApiError(404, f"could not find suitable handler for {model}", code="plain")

    def error_response(self, error: ApiError) -> Response:
        return text_error(error) if error.code == "plain" else super().error_response(error)

    def retrieve(self, request: Request) -> Response:
        self._require_model(request)
        return super().retrieve(request)

    def list(self, request: Request) -> Response:
        self._require_model(request)
        return super().list(Request(request.method, {k: v for k, v in request.query.items() if k != "model"},
                                    request.params, request.body, request.encoding))

    def delete(self, request: Request) -> Response:
        self._require_model(request)
        return super().delete(request)

    def content(self, request: Request) -> Response:
        self._require_model(request)
        return super().content(request)


class AisixApi(Api):
    """api7/aisix [docs]: ``/content`` answers a 302 to a signed URL on another host. The signed URL
    behaves like an object store's: no ``Authorization`` header allowed, and it expires."""

    name = "aisix"
    poll_after_header = False
    #: Seconds a signed URL stays valid (assumed).
    url_ttl = 600

    def content(self, request: Request) -> Response:
        job = self.find(request.params["video_id"])
        super().content(request).chunks.close()  # the same checks as the spec; the bytes come from the URL
        variant = request.query.get("variant", "video")
        return Response(status=302, json={}, headers={"Location": self.signed_url(request, job, variant)})

    def signed_url(self, request: Request, job: Job, variant: str) -> str:
        expires = int(time.time()) + self.url_ttl
        host = request.headers.get("Host") or f"127.0.0.1:{self.config.port}"
        name, _, port = host.rpartition(":")
        other = "localhost" if name in ("127.0.0.1", "[::1]") else "127.0.0.1"  # another origin
        signature = self._sign(job.id, variant, expires)
        return f"http://{other}:{port}/_signed/{job.id}/{variant}?expires={expires}&signature={signature}"

    def _sign(self, job_id: str, variant: str, expires: int) -> str:
        return hmac.new(self.config.api_keys[0].encode(), f"{job_id}/{variant}/{expires}".encode(),
                        hashlib.sha256).hexdigest()

    def signed(self, path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> Response:
        """``GET /_signed/<id>/<variant>``: an object store's answers, XML errors included."""
        job_id, _, variant = path.removeprefix("/_signed/").partition("/")
        if headers.get("Authorization"):
            return _s3_error(400, "InvalidArgument", "Only one auth mechanism allowed")
        try:
            expires = int(query.get("expires", ""))
        except ValueError:
            return _s3_error(403, "AccessDenied", "Request has expired")
        if not hmac.compare_digest(query.get("signature", ""), self._sign(job_id, variant, expires)):
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature does not match")
        if time.time() > expires:
            return _s3_error(403, "AccessDenied", "Request has expired")
        job = self.store.get(job_id)
        with self.store.lock:
            if job is None or job.status != COMPLETED or job.expired or variant not in job.assets:
                return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
            return self.stream(job, variant)


def _s3_error(status: int, code: str, message: str) -> Response:
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(status=status, text=xml, content_type="application/xml")


