"""SDK exceptions -> :class:`~videos.exceptions.ProviderError`, with the server's own reason.

Servers answer errors in every shape (compatible-servers.md): OpenAI's
``{"error": {...}}``, FastAPI's ``{"detail": str | list}``, vLLM's integer ``code`` and
bare ``{"error": "Unauthorized"}``, OpenRouter's ``{"error": {"code": 400, ...}}``,
plain text, an HTML page from a proxy. The user always sees the status and the
server's words, never the SDK's bare ``Error code: 405``.
"""
from __future__ import annotations

import contextlib
import html
import http
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx2
import openai

from ..exceptions import ProviderError

MAX_REASON = 500
_HEAD = re.compile(r"<head\b.*?</head>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)
#: What a router says for a path it does not serve (FastAPI/Starlette, Gin, OpenAI, llama.cpp-style).
_ROUTE_MISSING = {"not found", "404 page not found", "method not allowed"}


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _from_text(body: str) -> str:
    """Plain text, or the words of an HTML error page."""
    if "<" in body and ">" in body:
        title = re.search(r"<title[^>]*>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
        text = html.unescape(_TAGS.sub(" ", _HEAD.sub(" ", body)))
        if title and title.group(1).strip() and title.group(1).strip() not in text[:200]:
            text = f"{title.group(1).strip()}: {text}"
        return _clip(text)
    return _clip(body)


def server_reason(body: Any) -> tuple[str, str | None]:
    """(the server's words, its error code if any) from any error body shape."""
    if isinstance(body, str):
        return _from_text(body), None
    if not isinstance(body, dict):
        return "", None
    inner = body.get("error", body)
    if isinstance(inner, str):  # vLLM's --api-key middleware: {"error": "Unauthorized"}
        return _clip(inner), None
    if isinstance(inner, dict):
        message = inner.get("message")
        code = inner.get("code") if inner.get("code") not in (None, "") else inner.get("type")
        if isinstance(message, str) and message:
            return _clip(message), None if code in (None, "") else str(code)
    detail = body.get("detail")
    if isinstance(detail, str):
        return _clip(detail), None
    if isinstance(detail, list):  # FastAPI validation: [{"loc": [...], "msg": ...}]
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc") or () if p != "body")
                parts.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
        return _clip("; ".join(parts)), "validation_error"
    return _clip(json.dumps(body)[:MAX_REASON]), None


def endpoint_missing(status: int, reason: str, code: str | None) -> bool:
    """Whether the answer says the server has no such endpoint (not: no such video)."""
    if status == 405:
        return True
    if status != 404:
        return False
    text = reason.strip().rstrip(".").lower()
    return text in _ROUTE_MISSING or code in ("unknown_url", "unsupported_endpoint") or text.startswith("invalid url")


def error_from(exc: Exception) -> ProviderError:
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        body = exc.body
        if body is None or (isinstance(body, str) and not body.strip()):
            body = exc.response.text if not exc.response.is_stream_consumed else ""
        reason, code = server_reason(body)
        phrase = _phrase(status)
        if not reason or reason.lower() == phrase.lower():
            reason = phrase or "no reason given"
        retry_after = None
        header = exc.response.headers.get("retry-after")
        if header:
            try:
                retry_after = float(header)
            except ValueError:
                retry_after = None
        error = ProviderError(f"{status}: {reason}", status_code=status, code=code, response=exc.body,
                              retry_after=retry_after)
        error.reason = reason
        error.endpoint_missing = endpoint_missing(status, reason, code)
        return error
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        # A refused or unresolvable connection never sent the request: nothing happened remotely.
        never_sent = isinstance(cause, (httpx2.ConnectError, httpx2.ConnectTimeout))
        kind = "timed out" if isinstance(exc, openai.APITimeoutError) else "failed"
        return ProviderError(
            f"The request {kind} before an answer arrived ({type(cause).__name__ if cause else 'no detail'})",
            ambiguous=not never_sent,
        )
    if isinstance(exc, httpx2.TransportError):  # while reading a streamed body (the SDK maps the rest)
        return ProviderError(f"The connection broke while the answer arrived ({exc}); try again", ambiguous=True)
    return ProviderError(f"Unexpected error talking to the provider: {exc}")


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


@contextlib.contextmanager
def calling() -> Iterator[None]:
    """SDK and transport errors inside leave as :class:`ProviderError`."""
    try:
        yield
    except ProviderError:
        raise
    except (openai.APIError, httpx2.HTTPError) as exc:
        raise error_from(exc) from exc
