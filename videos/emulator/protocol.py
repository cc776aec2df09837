"""What every dialect shares on the wire: the decoded request, the answer, the error.

An :class:`ApiError` says what went wrong and which layer refused it (the route
table, request validation, authentication or the handler); each dialect renders it
in its own server's shape (OpenAI's ``{"error": {...}}``, FastAPI's ``{"detail"}``,
vLLM's integer ``code``, plain text).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from videos.emulator.state import PlannedFailure

#: Which layer refused a request; FastAPI servers answer each layer differently.
HANDLER, ROUTE, VALIDATION, AUTH = "handler", "route", "validation", "auth"


class ApiError(Exception):
    """An error answer; ``layer`` and ``loc`` let a dialect render it like its server."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        type: str = "invalid_request_error",
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
        layer: str = HANDLER,
        loc: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.type = type
        self.param = param
        self.headers = dict(headers or {})
        self.layer = layer
        self.loc = loc
        #: Set by proxies: the model group an error names, fields added to the body.
        self.model: str | None = None
        self.extra: dict[str, Any] = {}

    def body(self) -> dict[str, Any]:
        """OpenAI's shape, the spec's."""
        error = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        return {"error": {**error, **self.extra}}


@dataclass
class Request:
    """A decoded API request. ``failure`` is set by a ``fail_job`` fault."""

    method: str
    query: dict[str, str]
    params: dict[str, str]
    body: dict[str, Any]
    encoding: str
    headers: Mapping[str, str] = field(default_factory=dict)
    failure: PlannedFailure | None = None


@dataclass
class Response:
    """JSON (``json``), text (``text``) or a byte stream of ``length`` bytes (``chunks``)."""

    status: int = 200
    json: Any = None
    chunks: Iterator[bytes] | None = None
    length: int = 0
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    #: Runs once the response is sent (or dropped), e.g. to delete a temporary file.
    cleanup: Callable[[], None] | None = None


def openai_error(error: ApiError) -> Response:
    return Response(status=error.status, json=error.body(), headers=error.headers)


def fastapi_error(error: ApiError) -> Response:
    """FastAPI/Starlette: ``{"detail": str}``, or a list of ``{type, loc, msg}`` for a 422."""
    if error.layer == VALIDATION:
        detail: Any = [{"type": error.code or "value_error", "loc": list(error.loc), "msg": error.message}]
        return Response(status=422, json={"detail": detail}, headers=error.headers)
    return Response(status=error.status, json={"detail": error.message}, headers=error.headers)


def text_error(error: ApiError) -> Response:
    return Response(status=error.status, text=error.message, content_type="text/plain; charset=utf-8",
                    headers=error.headers)


def route_error(method: str, path: str, allowed: list[str]) -> ApiError:
    """What Starlette's router answers for an unrouted path or method (FastAPI servers)."""
    if allowed:
        return ApiError(405, "Method Not Allowed", layer=ROUTE, headers={"Allow": ", ".join(allowed)},
                        code="method_not_allowed")
    return ApiError(404, "Not Found", layer=ROUTE, code="unknown_url")
