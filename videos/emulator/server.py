"""HTTP plumbing: routing, auth, faults, streaming and the ``/_emulator`` control API.

Built on the standard library's ThreadingHTTPServer (HTTP/1.1 with keep-alive)
because faults need to act at the socket level: close before any byte is
written, or cut a body short after promising its full Content-Length.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import socket
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from videos.emulator.config import EmulatorConfig
from videos.emulator.dialects import get_dialect
from videos.emulator.faults import HTTP_FAULTS, FaultBook, FaultRule, parse_rules
from videos.emulator.forms import BodyError, parse_body
from videos.emulator.inspection import fault_context, internal_view
from videos.emulator.protocol import ApiError, Request, Response, openai_error
from videos.emulator.state import PlannedFailure, Store
from videos.emulator.webhooks import WebhookSender

MAX_BODY_BYTES = 64 * 1024 * 1024
_CONTROL_JOB = re.compile(r"/_emulator/jobs/(?P<video_id>[^/]+)/(?P<action>complete|expire)")


class EmulatorServer(ThreadingHTTPServer):
    """The whole emulator: HTTP server plus store, faults and webhooks."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.webhooks = WebhookSender(config.webhook_url, config.webhook_secret)
        self.store = Store(config, self.webhooks)
        self.faults = FaultBook(config.fault_seed)
        self.api = get_dialect(config.dialect)(self.store)
        if ":" in config.host:
            self.address_family = socket.AF_INET6
        super().__init__((config.host, config.port), Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}{self.api.base_path}"

    def start_background(self) -> None:
        """Start the clock and webhook threads (the caller runs ``serve_forever``)."""
        self.store.start()
        self.webhooks.start()

    def server_close(self) -> None:
        super().server_close()
        self.webhooks.stop()
        self.store.stop()

    def reset(self) -> None:
        self.store.reset()
        self.faults.clear()
        self.webhooks.reset()


class Handler(BaseHTTPRequestHandler):
    """One connection; each request goes through :meth:`_dispatch`."""

    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    server_version = "SoraEmulator/1.0"
    #: Idle keep-alive connections are closed after this many seconds.
    timeout = 300

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; with Nagle's algorithm on, the
        # client's delayed ACK would add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def __getattr__(self, name: str) -> Any:
        """Every method (``do_GET``, ``do_TRACE``, ...) goes to the router, which answers
        unknown ones with a JSON 405/404 rather than the standard library's HTML 501."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, oversized headers) in OpenAI's JSON shape too."""
        self._request_id = getattr(self, "_request_id", f"req_{secrets.token_hex(12)}")
        self.close_connection = True
        error = ApiError(code, message or explain or "Bad request.", type="invalid_request_error", code="bad_request")
        self._send(openai_error(error))

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.config.quiet:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    # -- dispatch ----------------------------------------------------------------------

    def _dispatch(self) -> None:
        self._request_id = f"req_{secrets.token_hex(12)}"
        self._headers_sent = False
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            try:
                raw = self._read_body()
            except ApiError:
                self.close_connection = True  # an unread body would poison the connection
                raise
            if path == "/health" and self.command == "GET":
                self._send(Response(json={"status": "ok", "dialect": self.server.api.name}))
            elif path.startswith("/_emulator/"):
                self._send(self._control(path, raw))
            elif path.startswith("/_signed/") and hasattr(self.server.api, "signed"):
                self._send(self.server.api.signed(path, query, self.headers))
            else:
                self._api(path, query, raw)
        except ApiError as error:
            self._send(self._error(error, path))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a bug: answer 500 rather than leave the client hanging
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            if not self._headers_sent:
                self._send(openai_error(ApiError(500, "Internal emulator error.", type="server_error",
                                                 code="server_error")))

    def _error(self, error: ApiError, path: str) -> Response:
        """API errors in the dialect's shape; the control API's in OpenAI's."""
        return openai_error(error) if path.startswith("/_emulator/") else self.server.api.error_response(error)

    def _api(self, path: str, query: dict[str, str], raw: bytes) -> None:
        server = self.server
        endpoint, params = self._route(path)
        server.store.count_request(endpoint)
        server.api.authenticate(self.headers)
        try:
            fields, encoding = parse_body(self.headers.get("Content-Type"), raw)
        except BodyError as exc:
            raise ApiError(400, str(exc), code="invalid_body") from None
        request = Request(self.command, query, params, fields, encoding, self.headers)
        rule = server.faults.pick(endpoint, fault_context(endpoint, request))
        if rule is not None and rule.fault in HTTP_FAULTS:
            self._send(server.api.error_response(_fault_error(rule)))
            return
        if rule is not None and rule.fault == "slow":
            time.sleep(rule.delay)
        if rule is not None and rule.fault == "fail_job":
            message = rule.message or f"Video generation failed ({rule.error_code}, emulated fault)."
            request.failure = PlannedFailure(rule.error_code, message, rule.at_progress)
        try:
            response = getattr(server.api, endpoint)(request)
        except ApiError as error:
            response = server.api.error_response(error)
        if rule is not None and rule.fault == "drop_response":
            # The action took effect; the client just never hears about it.
            self.close_connection = True
            _discard(response)
            return
        if rule is not None and rule.fault == "truncate":
            self._send(response, truncate=True, after_bytes=rule.after_bytes)
        else:
            self._send(response)

    def _route(self, path: str) -> tuple[str, dict[str, str]]:
        allowed: list[str] = []
        for method, pattern, endpoint in self.server.api.routes_compiled:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method == self.command:
                return endpoint, {key: unquote(value) for key, value in match.groupdict().items()}
            allowed.append(method)
        raise self.server.api.route_error(self.command, path, allowed)

    # -- control API -----------------------------------------------------------------

    def _control(self, path: str, raw: bytes) -> Response:
        server, method = self.server, self.command
        if path == "/_emulator/faults":
            if method == "GET":
                return Response(json=server.faults.describe())
            if method == "DELETE":
                server.faults.clear()
                return Response(json=[])
            if method == "POST":
                try:
                    rules = parse_rules(json.loads(raw or b"null"))
                except ValueError as exc:
                    raise ApiError(400, f"Invalid fault rules: {exc}", code="invalid_fault_rules") from None
                server.faults.replace(rules)
                return Response(json=server.faults.describe())
        elif path == "/_emulator/stats" and method == "GET":
            return Response(json=server.store.stats())
        elif path == "/_emulator/jobs" and method == "GET":
            return Response(json=[internal_view(server.api, job) for job in server.store.ordered()])
        elif path == "/_emulator/webhooks" and method == "GET":
            return Response(json=server.webhooks.describe())
        elif path == "/_emulator/reset" and method == "POST":
            server.reset()
            return Response(json={"reset": True})
        elif path == "/_emulator/restart" and method == "POST":
            # What a server that keeps jobs in memory does on restart: every id is forgotten.
            return Response(json={"restarted": True, "forgotten": server.store.forget_jobs()})
        elif (match := _CONTROL_JOB.fullmatch(path)) and method == "POST":
            return self._control_job(match["video_id"], match["action"])
        raise ApiError(404, f"Unknown control endpoint: {method} {path}.", code="unknown_url")

    def _control_job(self, public_id: str, action: str) -> Response:
        api = self.server.api
        job = self.server.store.get(api.backend_id(unquote(public_id)))
        if job is None:
            raise ApiError(404, f"Video with id {public_id!r} not found.", code="video_not_found")
        if action == "complete" and not self.server.store.finish_now(job):
            raise ApiError(504, "The job did not finish within 60 s.", type="server_error", code="timeout")
        if action == "expire":
            self.server.store.expire_now(job)
        return Response(json=internal_view(api, job))

    # -- I/O -------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        try:
            length = int(length_header) if length_header else 0
        except ValueError:
            raise ApiError(400, "Invalid Content-Length header.", code="invalid_body") from None
        if length > MAX_BODY_BYTES:
            raise ApiError(413, f"Request body larger than {MAX_BODY_BYTES} bytes.", code="request_too_large")
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise ApiError(400, "Malformed chunked request body.", code="invalid_body") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise ApiError(413, f"Request body larger than {MAX_BODY_BYTES} bytes.", code="request_too_large")
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, response: Response, *, truncate: bool = False, after_bytes: int | None = None) -> None:
        """Write ``response``; with ``truncate`` stop after ``after_bytes`` (default half) and hang up."""
        if response.text is not None:
            payload = response.text.encode()
            chunks: Any = iter([payload])
            length = len(payload)
        elif response.chunks is None:
            payload = json.dumps(response.json).encode()
            chunks = iter([payload])
            length = len(payload)
        else:
            chunks, length = response.chunks, response.length
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(length))
            self.send_header("x-request-id", self._request_id)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self._headers_sent = True
            if self.command == "HEAD":
                return
            limit = length if not truncate else (length // 2 if after_bytes is None else min(after_bytes, length))
            sent = 0
            for chunk in chunks:
                if sent + len(chunk) > limit:
                    chunk = chunk[: limit - sent]
                self.wfile.write(chunk)
                sent += len(chunk)
                if sent >= limit:
                    break
            if truncate:
                self.wfile.flush()
                self.close_connection = True
        finally:
            _discard(response)


def _discard(response: Response) -> None:
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
