"""The emulator's request handling, without a socket.

:class:`EmulatorApp` takes a decoded request (method, target, headers, body) and answers
an :class:`Exchange`: the response and, for the faults that act on the connection, what
the connection should do with it (hang up before a byte, or cut the body short). The HTTP
server (:mod:`videos.emulator.server`) writes that to a socket; tests that do not test HTTP
call it in process (``tests/inprocess.py``), through the same routes, dialects and faults.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from videos.emulator.config import EmulatorConfig
from videos.emulator.dialects import get_dialect
from videos.emulator.faults import HTTP_FAULTS, FaultBook, FaultRule, parse_rules
from videos.emulator.forms import BodyError, parse_body
from videos.emulator.inspection import fault_context, internal_view
from videos.emulator.protocol import ApiError, Request, Response, openai_error
from videos.emulator.state import PlannedFailure, Store
from videos.emulator.webhooks import WebhookSender

_CONTROL_JOB = re.compile(r"/_emulator/jobs/(?P<video_id>[^/]+)/(?P<action>complete|expire)")

#: What the connection does with a response: send it, hang up without it, or cut it short.
SEND, DROP, TRUNCATE = "send", "drop", "truncate"


@dataclass
class Exchange:
    response: Response
    connection: str = SEND
    #: With ``TRUNCATE``: bytes of the body to send before hanging up (None: half).
    after_bytes: int | None = None
    #: Close the connection after sending (after an internal error).
    close: bool = False

    def cut_at(self, length: int) -> int | None:
        """Bytes of a ``length``-byte body to send before hanging up (None: all of it)."""
        if self.connection != TRUNCATE:
            return None
        return length // 2 if self.after_bytes is None else min(self.after_bytes, length)


class EmulatorApp:
    """Store, faults, webhooks and the dialect's API, behind one ``handle`` call."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.webhooks = WebhookSender(config.webhook_url, config.webhook_secret)
        self.store = Store(config, self.webhooks)
        self.faults = FaultBook(config.fault_seed)
        self.api = get_dialect(config.dialect)(self.store)

    def start(self) -> None:
        """Start the clock and webhook threads."""
        self.store.start()
        self.webhooks.start()

    def stop(self) -> None:
        self.webhooks.stop()
        self.store.stop()

    def reset(self) -> None:
        self.store.reset()
        self.faults.clear()
        self.webhooks.reset()

    def handle(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> Exchange:
        url = urlsplit(target)
        path = url.path.rstrip("/") or "/"
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            if path == "/health" and method == "GET":
                return Exchange(Response(json={"status": "ok", "dialect": self.api.name}))
            if path.startswith("/_emulator/"):
                return Exchange(self._control(method, path, raw))
            if path.startswith("/_signed/") and hasattr(self.api, "signed"):
                return Exchange(self.api.signed(path, query, headers))
            return self._api(method, path, query, headers, raw)
        except ApiError as error:
            return Exchange(self.error_response(error, path))
        except Exception:  # a bug: answer 500 rather than leave the client hanging
            traceback.print_exc(file=sys.stderr)
            return Exchange(openai_error(ApiError(500, "Internal emulator error.", type="server_error",
                                                  code="server_error")), close=True)

    def error_response(self, error: ApiError, path: str) -> Response:
        """API errors in the dialect's shape; the control API's in OpenAI's."""
        return openai_error(error) if path.startswith("/_emulator/") else self.api.error_response(error)

    def _api(self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str],
             raw: bytes) -> Exchange:
        endpoint, params = self._route(method, path)
        self.store.count_request(endpoint)
        self.api.authenticate(headers)
        try:
            fields, encoding = parse_body(headers.get("Content-Type"), raw)
        except BodyError as exc:
            raise ApiError(400, str(exc), code="invalid_body") from None
        request = Request(method, query, params, fields, encoding, headers)
        rule = self.faults.pick(endpoint, fault_context(endpoint, request))
        if rule is not None and rule.fault in HTTP_FAULTS:
            return Exchange(self.api.error_response(_fault_error(rule)))
        if rule is not None and rule.fault == "slow":
            time.sleep(rule.delay)
        if rule is not None and rule.fault == "fail_job":
            message = rule.message or f"Video generation failed ({rule.error_code}, emulated fault)."
            request.failure = PlannedFailure(rule.error_code, message, rule.at_progress)
        try:
            response = getattr(self.api, endpoint)(request)
        except ApiError as error:
            response = self.api.error_response(error)
        if rule is not None and rule.fault == "drop_response":
            return Exchange(response, DROP)  # the action took effect; the client never hears of it
        if rule is not None and rule.fault == "truncate":
            return Exchange(response, TRUNCATE, rule.after_bytes)
        return Exchange(response)

    def _route(self, method: str, path: str) -> tuple[str, dict[str, str]]:
        allowed: list[str] = []
        for route_method, pattern, endpoint in self.api.routes_compiled:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if route_method == method:
                return endpoint, {key: unquote(value) for key, value in match.groupdict().items()}
            allowed.append(route_method)
        raise self.api.route_error(method, path, allowed)

    # -- control API -----------------------------------------------------------------

    def _control(self, method: str, path: str, raw: bytes) -> Response:
        if path == "/_emulator/faults":
            if method == "GET":
                return Response(json=self.faults.describe())
            if method == "DELETE":
                self.faults.clear()
                return Response(json=[])
            if method == "POST":
                try:
                    rules = parse_rules(json.loads(raw or b"null"))
                except ValueError as exc:
                    raise ApiError(400, f"Invalid fault rules: {exc}", code="invalid_fault_rules") from None
                self.faults.replace(rules)
                return Response(json=self.faults.describe())
        elif path == "/_emulator/stats" and method == "GET":
            return Response(json=self.store.stats())
        elif path == "/_emulator/jobs" and method == "GET":
            return Response(json=[internal_view(self.api, job) for job in self.store.ordered()])
        elif path == "/_emulator/webhooks" and method == "GET":
            return Response(json=self.webhooks.describe())
        elif path == "/_emulator/reset" and method == "POST":
            self.reset()
            return Response(json={"reset": True})
        elif path == "/_emulator/restart" and method == "POST":
            # What a server that keeps jobs in memory does on restart: every id is forgotten.
            return Response(json={"restarted": True, "forgotten": self.store.forget_jobs()})
        elif (match := _CONTROL_JOB.fullmatch(path)) and method == "POST":
            return self._control_job(match["video_id"], match["action"])
        raise ApiError(404, f"Unknown control endpoint: {method} {path}.", code="unknown_url")

    def _control_job(self, public_id: str, action: str) -> Response:
        job = self.store.get(self.api.backend_id(unquote(public_id)))
        if job is None:
            raise ApiError(404, f"Video with id {public_id!r} not found.", code="video_not_found")
        if action == "complete" and not self.store.finish_now(job):
            raise ApiError(504, "The job did not finish within 60 s.", type="server_error", code="timeout")
        if action == "expire":
            self.store.expire_now(job)
        return Response(json=internal_view(self.api, job))


def body_bytes(response: Response) -> tuple[object, int]:
    """The body as an iterator of bytes and its length (JSON and text encoded here)."""
    if response.text is not None:
        payload = response.text.encode()
        return iter([payload]), len(payload)
    if response.chunks is None:
        payload = json.dumps(response.json).encode()
        return iter([payload]), len(payload)
    return response.chunks, response.length


def cut(chunks: Iterable[bytes], limit: int | None) -> Iterator[bytes]:
    """The body's chunks, stopped after ``limit`` bytes (None: all)."""
    sent = 0
    for chunk in chunks:
        if limit is not None and sent + len(chunk) >= limit:
            yield chunk[: limit - sent]
            return
        sent += len(chunk)
        yield chunk


def discard(response: Response) -> None:
    """Release what a response holds (a file being streamed, a temporary file)."""
    if response.chunks is not None and hasattr(response.chunks, "close"):
        response.chunks.close()
    if response.cleanup is not None:
        response.cleanup()


def _fault_error(rule: FaultRule) -> ApiError:
    status, error_type, code, message = HTTP_FAULTS[rule.fault]
    headers = {}
    if status == 429:
        headers["Retry-After"] = str(math.ceil(rule.retry_after))
        headers["retry-after-ms"] = str(int(rule.retry_after * 1000))
    return ApiError(status, rule.message or message, type=error_type, code=code, headers=headers)
