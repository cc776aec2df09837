"""HTTP plumbing: the socket side of :class:`~videos.emulator.app.EmulatorApp`.

Built on the standard library's ThreadingHTTPServer (HTTP/1.1 with keep-alive)
because faults need to act at the socket level: close before any byte is
written, or cut a body short after promising its full Content-Length.
"""

from __future__ import annotations

import secrets
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from videos.emulator.app import DROP, EmulatorApp, Exchange, body_bytes, cut, discard
from videos.emulator.config import EmulatorConfig
from videos.emulator.protocol import ApiError, Response, openai_error

MAX_BODY_BYTES = 64 * 1024 * 1024


class EmulatorServer(ThreadingHTTPServer):
    """The whole emulator: an HTTP server around one :class:`EmulatorApp`."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.app = EmulatorApp(config)
        self.api = self.app.api
        if ":" in config.host:
            self.address_family = socket.AF_INET6
        super().__init__((config.host, config.port), Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}{self.api.base_path}"

    def start_background(self) -> None:
        """Start the clock and webhook threads (the caller runs ``serve_forever``)."""
        self.app.start()

    def server_close(self) -> None:
        super().server_close()
        self.app.stop()


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
        self.server.app.store.count_connection()

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
        try:
            try:
                raw = self._read_body()
            except ApiError as error:
                self.close_connection = True  # an unread body would poison the connection
                self._send(self.server.app.error_response(error, self.path))
                return
            exchange = self.server.app.handle(self.command, self.path, self.headers, raw)
            if exchange.close:
                self.close_connection = True
            if exchange.connection == DROP:
                self.close_connection = True
                discard(exchange.response)
            else:
                self._send(exchange.response, exchange)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

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

    def _send(self, response: Response, exchange: Exchange | None = None) -> None:
        """Write ``response``; for a truncating ``exchange`` stop where it says and hang up."""
        chunks: Any
        chunks, length = body_bytes(response)
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
            if self.command == "HEAD":
                return
            limit = exchange.cut_at(length) if exchange is not None else None
            for chunk in cut(chunks, limit):
                self.wfile.write(chunk)
            if limit is not None:
                self.wfile.flush()
                self.close_connection = True
        finally:
            discard(response)
