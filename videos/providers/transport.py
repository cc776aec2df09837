"""A transport for large downloads under the official SDK: ``http.client`` reading big chunks.

The SDK's own transport (httpx2 over httpcore2/h11) parses a response body in 64 KiB
events in Python and tops out near 500 MB/s on loopback, a fifth of what one socket can
carry (bench/bench_download.py). For ``/content`` the SDK still builds the request (base
URL, auth, headers, redirects, error mapping) and we only change how its bytes travel:
HTTP/1.1 connections kept alive per host (a job's video, thumbnail and spritesheet
travel on one), the body read in chunks of ``chunk_size``. With a proxy in the environment (``HTTPS_PROXY`` and the
like, which httpx2 ignores once a transport is given) the SDK's own transport is kept, so
nothing that worked before stops working.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import threading
import urllib.request
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import httpx2
import openai

#: Hop-by-hop headers http.client manages itself.
_SKIP = {b"connection", b"keep-alive", b"transfer-encoding"}


#: The response extension that holds the body's ``readinto`` (see :func:`reader`).
READINTO = "sora.readinto"

#: Idle connections kept per host; more than the downloads a worker runs at once is waste.
MAX_IDLE_PER_HOST = 4
_Key = tuple[str, str, int]


class DirectTransport(httpx2.BaseTransport):
    """Send requests on kept-alive ``http.client`` connections and stream bodies in big reads.

    A connection goes back to its host's idle list only when its body was read to the end
    and the server did not ask to close; anything else closes it. A request that fails on
    a reused connection before any answer (the server closed it while idle) is sent once
    more on a new one, for GET and HEAD only.
    """

    def __init__(self, *, chunk_size: int = 1024 * 1024, ssl_context: ssl.SSLContext | None = None) -> None:
        self.chunk_size = chunk_size
        self._ssl_context = ssl_context
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = httpx2.create_ssl_context()  # the same trust store as the SDK's transport
        return self._ssl_context

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx2.UnsupportedProtocol(f"Request URL has an unsupported protocol '{url.scheme}://'.")
        key = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        reused = self._take(key)
        if reused is not None:
            try:
                return self._send(reused, key, request)
            except httpx2.RemoteProtocolError:
                if request.method not in ("GET", "HEAD"):
                    raise
        return self._send(self._connect(key, request), key, request)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    # -- connections ------------------------------------------------------------------

    def _take(self, key: _Key) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def _give_back(self, key: _Key, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < MAX_IDLE_PER_HOST:
                idle.append(connection)
                return
        connection.close()

    def _connect(self, key: _Key, request: httpx2.Request) -> http.client.HTTPConnection:
        scheme, host, port = key
        timeout = request.extensions.get("timeout", {}).get("connect")
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._context())
        else:
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            connection.connect()
        except socket.timeout as exc:
            raise httpx2.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except OSError as exc:
            raise httpx2.ConnectError(str(exc), request=request) from exc
        return connection

    def _send(self, connection: http.client.HTTPConnection, key: _Key, request: httpx2.Request) -> httpx2.Response:
        try:
            connection.sock.settimeout(request.extensions.get("timeout", {}).get("read"))
            body = request.read()
            try:
                connection.putrequest(
                    request.method, request.url.raw_path.decode("ascii"), skip_host=True, skip_accept_encoding=True
                )
                for name, value in request.headers.raw:
                    if name.lower() not in _SKIP:
                        connection.putheader(name, value)
                connection.endheaders(body or None)
                response = connection.getresponse()
            except socket.timeout as exc:
                raise httpx2.ReadTimeout(str(exc) or "timed out waiting for the response", request=request) from exc
            except (OSError, http.client.HTTPException) as exc:
                raise httpx2.RemoteProtocolError(f"{type(exc).__name__}: {exc}", request=request) from exc
        except BaseException:
            connection.close()
            raise
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.getheaders()
                   if name.lower().encode("latin-1") not in _SKIP]
        keep = None if response.will_close else (lambda: self._give_back(key, connection))
        body = _Body(connection, response, request, self.chunk_size, keep)
        return httpx2.Response(
            response.status,
            headers=headers,
            stream=body,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason.encode("latin-1"),
                        READINTO: body.readinto},
        )


class _Body(httpx2.SyncByteStream):
    """The response body, read in chunks of ``chunk_size`` (the last one shorter). Read to the
    end, its connection goes back for the next request (``keep``); otherwise it is closed."""

    def __init__(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse,
                 request: httpx2.Request, chunk_size: int, keep: Callable[[], None] | None) -> None:
        self._connection, self._response, self._request = connection, response, request
        self._chunk_size = chunk_size
        self._keep = keep
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        response, size = self._response, self._chunk_size
        with self._errors():
            while chunk := response.read(size):
                yield chunk
        self._end()

    def readinto(self, buffer: memoryview | bytearray) -> int:
        """Read the next bytes of the body into ``buffer``; 0 at its end. A caller that reuses one
        buffer saves the allocation and the copy :meth:`__iter__` makes for every chunk (the
        download's fast path, see :func:`reader`)."""
        with self._errors():
            count = self._response.readinto(buffer)
        if not count:
            self._end()
        return count

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except socket.timeout as exc:
            raise httpx2.ReadTimeout(str(exc) or "timed out reading the body", request=self._request) from exc
        except http.client.IncompleteRead as exc:
            raise httpx2.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=self._request
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise httpx2.ReadError(f"{type(exc).__name__}: {exc}", request=self._request) from exc

    def _end(self) -> None:
        response = self._response
        if response.length:  # Content-Length promised more than arrived
            raise httpx2.RemoteProtocolError(
                f"peer closed connection without sending complete message body ({response.length} bytes missing)",
                request=self._request,
            )
        self._done = response.length == 0 or response.isclosed()  # the whole body, nothing more

    def close(self) -> None:
        self._response.close()  # the response's file, not the socket
        if self._done and self._keep is not None:
            self._keep()
        else:
            self._connection.close()
        self._keep = None


def reader(response: httpx2.Response) -> Callable[[memoryview | bytearray], int] | None:
    """The body's ``readinto`` when :class:`DirectTransport` carries ``response`` (None otherwise:
    read it with ``iter_bytes``)."""
    return response.extensions.get(READINTO)


def environment_proxies() -> dict[str, str]:
    """Proxies set in the environment for HTTP(S) (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, any case)."""
    return {scheme: url for scheme, url in urllib.request.getproxies().items() if scheme in ("http", "https", "all")}


def streaming_http_client(**kwargs: Any) -> httpx2.Client:
    """An SDK-default httpx2 client for downloads: :class:`DirectTransport` unless a proxy is
    configured in the environment (then httpx2's own transport, which honours it)."""
    chunk_size = kwargs.pop("chunk_size", 1024 * 1024)
    if environment_proxies():
        return openai.DefaultHttpxClient(**kwargs)
    return openai.DefaultHttpxClient(transport=DirectTransport(chunk_size=chunk_size), **kwargs)
