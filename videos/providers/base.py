"""The provider backend: every call the app makes to a Videos API server.

:class:`Provider` speaks the spec through the official SDK and turns whatever comes back
into a :class:`RemoteVideo` with a normalized status; subclasses in ``dialects`` change
only what their server does differently. SDK exceptions never leave this module: callers
get :class:`~videos.exceptions.ProviderError` with status, code and retry hint.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterator

import httpx2
import openai

from .. import presets
from ..conf import ProviderConfig
from ..exceptions import ProviderError
from .client import build_client
from .errors import calling

#: Normalized remote statuses. Anything unknown means "still working".
QUEUED, IN_PROGRESS, COMPLETED, FAILED, EXPIRED, DELETED = (
    "queued",
    "in_progress",
    "completed",
    "failed",
    "expired",
    "deleted",
)
_STATUS_MAP = {
    "queued": QUEUED,
    "not_start": QUEUED,
    "not_started": QUEUED,
    "pending": QUEUED,
    "submitted": QUEUED,
    "in_progress": IN_PROGRESS,
    "processing": IN_PROGRESS,
    "running": IN_PROGRESS,
    **{s: COMPLETED for s in presets.TERMINAL_SUCCESS},
    **{s: FAILED for s in presets.TERMINAL_FAILURE},
    "expired": EXPIRED,
    "deleted": DELETED,
}


def normalize_status(raw: str | None) -> str:
    """Map any server's status onto ours; unknown statuses mean the job is still working."""
    return _STATUS_MAP.get((raw or "").strip().lower(), IN_PROGRESS)


def _ts(value: Any) -> dt.datetime | None:
    if value in (None, "", 0):
        return None
    try:
        return dt.datetime.fromtimestamp(int(value), tz=dt.timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None


@dataclass
class RemoteVideo:
    """A provider's video object, normalized; ``raw`` keeps the payload as received."""

    id: str
    status: str
    raw_status: str
    progress: int
    created_at: dt.datetime | None
    completed_at: dt.datetime | None
    expires_at: dt.datetime | None
    prompt: str | None
    model: str | None
    size: str | None
    seconds: int | None
    remixed_from: str | None
    error_code: str
    error_message: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> RemoteVideo:
        error = payload.get("error") or {}
        if not isinstance(error, dict):
            error = {"message": str(error)}
        seconds = payload.get("seconds")
        try:
            seconds = int(float(seconds)) if seconds not in (None, "") else None
        except (TypeError, ValueError):
            seconds = None
        status = normalize_status(payload.get("status"))
        progress = payload.get("progress")
        try:
            progress = max(0, min(100, int(progress or 0)))
        except (TypeError, ValueError):
            progress = 0
        if status == COMPLETED:
            progress = 100
        return cls(
            id=str(payload.get("id") or ""),
            status=status,
            raw_status=str(payload.get("status") or ""),
            progress=progress,
            created_at=_ts(payload.get("created_at")),
            completed_at=_ts(payload.get("completed_at")),
            expires_at=_ts(payload.get("expires_at")),
            prompt=payload.get("prompt"),
            model=payload.get("model"),
            size=payload.get("size"),
            seconds=seconds,
            remixed_from=payload.get("remixed_from_video_id"),
            error_code=str(error.get("code") or ""),
            error_message=str(error.get("message") or ""),
            raw=payload,
        )


@dataclass
class ListPage:
    videos: list[RemoteVideo]
    has_more: bool
    last_id: str | None


@dataclass(frozen=True)
class CreateRequest:
    """One create, as checked by the product; each dialect sends it the way its server takes it."""

    prompt: str
    model: str
    size: str
    seconds: int
    reference: ReferenceUpload | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    timeout: float = 60.0


@dataclass
class ReferenceUpload:
    """The image to send as ``input_reference``: already fitted to the requested size."""

    filename: str
    content: bytes
    content_type: str


class Provider:
    """A provider speaking the spec as OpenAI wrote it."""

    dialect = "openai"

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    # --- plumbing ------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config.name

    def client(self, timeout: float = 60.0, *, streaming: bool = False) -> openai.OpenAI:
        return build_client(self.config, timeout=timeout, streaming=streaming)

    def query(self, model: str | None) -> dict[str, str]:
        """Extra query parameters for a GET or DELETE on one video (a router needs ``?model=``)."""
        return {}

    def _parse(self, response: Any) -> RemoteVideo:
        return RemoteVideo.from_payload(self.decode(response.http_response.json()))

    def decode(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Hook for dialects whose payloads differ; returns a spec-shaped dict."""
        return payload

    # --- creating ------------------------------------------------------------------
    def create(
        self,
        *,
        prompt: str,
        model: str,
        size: str,
        seconds: int,
        reference: ReferenceUpload | None = None,
        extra: dict[str, Any] | None = None,
        timeout: float = 60.0,
    ) -> RemoteVideo:
        return self.send_create(CreateRequest(prompt, model, size, seconds, reference, dict(extra or {}), timeout))

    def send_create(self, req: CreateRequest) -> RemoteVideo:
        """The spec's create: multipart through the SDK, extra fields as form fields (dialects override)."""
        kwargs: dict[str, Any] = {"prompt": req.prompt, "model": req.model, "size": req.size,
                                  "seconds": str(req.seconds)}
        if req.reference is not None:
            kwargs["input_reference"] = (req.reference.filename, req.reference.content, req.reference.content_type)
        with calling():
            response = self.client(req.timeout).videos.with_raw_response.create(
                **kwargs, extra_body=req.extra or None, timeout=req.timeout
            )
        return self._parse(response)

    def remix(self, video_id: str, *, prompt: str, timeout: float = 60.0) -> RemoteVideo:
        with calling():
            response = self.client(timeout).videos.with_raw_response.remix(video_id, prompt=prompt, timeout=timeout)
        return self._parse(response)

    def edit(self, video_id: str, *, prompt: str, timeout: float = 60.0) -> RemoteVideo:
        return self._post_json("/videos/edits", {"prompt": prompt, "video": {"id": video_id}}, timeout)

    def extend(self, video_id: str, *, prompt: str, seconds: int, timeout: float = 60.0) -> RemoteVideo:
        body = {"prompt": prompt, "seconds": str(seconds), "video": {"id": video_id}}
        return self._post_json("/videos/extensions", body, timeout)

    def _post_form(self, path: str, fields: dict[str, str], files: list[Any], timeout: float) -> RemoteVideo:
        """A multipart POST with fields and files the SDK's ``videos.create`` does not name."""
        with calling():
            response = self.client(timeout).post(
                path, body=fields, files=files, cast_to=httpx2.Response,
                options={"timeout": timeout, "headers": {"Content-Type": "multipart/form-data"}},
            )
            payload = response.json()
        return RemoteVideo.from_payload(self.decode(payload))

    def _post_json(self, path: str, body: dict[str, Any], timeout: float) -> RemoteVideo:
        """A JSON POST. The SDK's ``edit``/``extend`` send ``video`` as a file upload only,
        while the spec also takes ``{"video": {"id": ...}}`` as JSON, which every server reads."""
        with calling():
            response = self.client(timeout).post(path, body=body, cast_to=httpx2.Response, options={"timeout": timeout})
            payload = response.json()
        return RemoteVideo.from_payload(self.decode(payload))

    # --- reading -------------------------------------------------------------------
    def retrieve(self, video_id: str, *, model: str | None = None) -> tuple[RemoteVideo, float | None]:
        """The video and the server's hint (seconds) for when to ask again."""
        with calling():
            response = self.client().videos.with_raw_response.retrieve(
                video_id, extra_query=self.query(model) or None
            )
        hint = response.headers.get("openai-poll-after-ms")
        try:
            poll_after = float(hint) / 1000 if hint else None
        except ValueError:
            poll_after = None
        return self._parse(response), poll_after

    def list_page(self, *, after: str | None = None, limit: int = 100, order: str = "desc") -> ListPage:
        query: dict[str, Any] = {"limit": limit, "order": order, **self.query(None), **self.config.list_query}
        if after:
            query["after"] = after
        with calling():
            response = self.client().get("/videos", cast_to=httpx2.Response, options={"params": query})
            payload = response.json()
        videos = [RemoteVideo.from_payload(self.decode(item)) for item in payload.get("data") or []]
        last_id = payload.get("last_id") or (videos[-1].id if videos else None)
        return ListPage(videos=videos, has_more=bool(payload.get("has_more")) and bool(last_id), last_id=last_id)

    def iter_videos(self, *, order: str = "desc", page_size: int = 100) -> Iterator[RemoteVideo]:
        """Every video the provider lists, across pages."""
        after = None
        while True:
            page = self.list_page(after=after, limit=page_size, order=order)
            yield from page.videos
            if not page.has_more:
                return
            after = page.last_id

    # --- downloading ---------------------------------------------------------------
    @contextlib.contextmanager
    def open_content(
        self, video_id: str, variant: str = "video", *, model: str | None = None, timeout: float = 300.0
    ) -> Iterator[Any]:
        """A streaming response for one variant (``iter_bytes``, ``headers``); read it in chunks.

        Goes through the SDK's streaming client (see ``build_client``): its requests, its errors.
        """
        with calling():
            with self.client(timeout, streaming=True).videos.with_streaming_response.download_content(
                video_id, variant=variant, extra_query=self.query(model) or None  # type: ignore[arg-type]
            ) as response:
                yield response

    # --- deleting ------------------------------------------------------------------
    def delete(self, video_id: str, *, model: str | None = None) -> bool:
        """Delete remotely; False when the provider no longer had it (that is fine).

        A server without DELETE raises (``endpoint_missing``): the caller says so and learns it.
        """
        try:
            with calling():
                self.client().videos.with_raw_response.delete(video_id, extra_query=self.query(model) or None)
        except ProviderError as exc:
            if exc.status_code == 404 and not exc.endpoint_missing:
                return False
            raise
        return True

    # --- what the server serves ----------------------------------------------------
    def list_models(self) -> list[str]:
        """The model ids ``GET /models`` lists (vLLM-Omni, SGLang, LiteLLM and OpenAI serve it)."""
        with calling():
            payload = self.client().get("/models", cast_to=httpx2.Response).json()
        data = payload.get("data") if isinstance(payload, dict) else None
        return [str(item["id"]) for item in data or [] if isinstance(item, dict) and item.get("id")]
