"""The emulator in the test process, without a socket: the fast tier's provider.

:class:`InProcessEmulator` has :class:`~videos.emulator.testing.EmulatorProcess`'s interface
(``base_url``, ``api_key``, ``complete``, ``set_faults``, ...). Its requests reach the same
:class:`~videos.emulator.app.EmulatorApp` (routes, dialects, faults) through an httpx2
transport, mounted for its base URL with :func:`videos.providers.client.mount`; the real
``openai`` SDK builds every request as it would over HTTP. Tests that test HTTP itself
(sockets, subprocesses, workers, browsers) keep the emulator process.
"""
from __future__ import annotations

import itertools
import json
from typing import Any, Iterator

import httpx2
import openai

from videos.emulator.app import DROP, EmulatorApp, body_bytes, cut, discard
from videos.emulator.cli import build_parser, config_from_options
from videos.emulator.testing import EmulatorError, EmulatorProcess
from videos.providers import client as provider_clients

_hosts = itertools.count(1)


class InProcessTransport(httpx2.BaseTransport):
    """httpx2 requests in, :class:`EmulatorApp` exchanges out; connection faults as httpx2 errors."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        target = request.url.raw_path.decode("ascii")
        exchange = self.app.handle(request.method, target, request.headers, request.read())
        response = exchange.response
        if exchange.connection == DROP:
            discard(response)
            raise httpx2.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        chunks, length = body_bytes(response)
        headers = {"Content-Type": response.content_type, "Content-Length": str(length), **response.headers}
        if request.method == "HEAD":
            discard(response)
            return httpx2.Response(response.status, headers=headers, request=request)
        body = _Body(response, chunks, exchange.cut_at(length), length, request)
        return httpx2.Response(response.status, headers=headers, stream=body, request=request)

    def close(self) -> None:
        """Clients come and go (``reset_clients``); the app stays until the emulator stops."""


class _Body(httpx2.SyncByteStream):
    """The body as the socket would carry it; cut short, it ends as a hung-up connection does."""

    def __init__(self, response: Any, chunks: Any, limit: int | None, length: int, request: httpx2.Request) -> None:
        self._response, self._chunks, self._request = response, chunks, request
        self._limit, self._length = limit, length

    def __iter__(self) -> Iterator[bytes]:
        yield from cut(self._chunks, self._limit)
        if self._limit is not None and self._limit < self._length:
            raise httpx2.RemoteProtocolError("peer closed connection without sending complete message body",
                                             request=self._request)

    def close(self) -> None:
        discard(self._response)


class InProcessEmulator(EmulatorProcess):
    """An emulator with a made-up host, reached only through its mounted transport."""

    def start(self) -> InProcessEmulator:
        options = vars(build_parser().parse_args(self.args))
        self.app = EmulatorApp(config_from_options(options))
        self.app.start()
        self.url = f"http://inprocess-{next(_hosts)}.emulator.invalid:1"  # a port, as dialects read one
        self.base_url = self.url + self.app.api.base_path
        self.transport = InProcessTransport(self.app)
        provider_clients.mount(self.base_url, self.transport)
        return self

    def client(self, **kwargs: Any) -> openai.OpenAI:
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("api_key", self.api_key)
        return openai.OpenAI(base_url=self.base_url,
                             http_client=openai.DefaultHttpxClient(transport=self.transport), **kwargs)

    def stderr(self) -> str:
        return ""

    def stop(self) -> None:
        if getattr(self, "app", None) is not None:
            provider_clients.mount(self.base_url, None)
            self.app.stop()
            self.app = None  # type: ignore[assignment]

    def _control(self, method: str, path: str, payload: Any = None) -> Any:
        raw = b"" if payload is None else json.dumps(payload).encode()
        exchange = self.app.handle(method, path, {"Content-Type": "application/json"}, raw)
        chunks, _ = body_bytes(exchange.response)
        body = b"".join(chunks)  # type: ignore[call-overload]
        discard(exchange.response)
        if exchange.response.status >= 400:
            raise EmulatorError(f"{method} {path} -> {exchange.response.status}: {body.decode(errors='replace')}")
        return json.loads(body)
