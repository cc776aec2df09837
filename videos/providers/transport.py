"""A transport for large downloads under the official SDK: ``http.client`` reading big chunks.

The SDK's own transport (httpx2 over httpcore2/h11) parses a response body in 64 KiB
events in Python and tops out near 500 MB/s on loopback, a fifth of what one socket can
carry (bench/bench_download.py). For ``/content`` the SDK still builds the request (base
URL, auth, headers, redirects, error mapping) and we only change how its bytes travel:
one HTTP/1.1 connection per download, the body read with ``read1`` in chunks of up to
``chunk_size`` as they arrive. With a proxy in the environment (``HTTPS_PROXY`` and the
like, which httpx2 ignores once a transport is given) the SDK's own transport is kept, so
nothing that worked before stops working.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import urllib.request
from typing import Any, Iterator

import httpx2
import openai

#: Hop-by-hop headers http.client manages itself.
_SKIP = {b"connection", b"keep-alive", b"transfer-encoding"}


class DirectTransport(httpx2.BaseTransport):
    """Send each request on its own ``http.client`` connection and stream the body in big reads."""

    def __init__(self, *, chunk_size: int = 1024 * 1024, ssl_context: ssl.SSLContext | None = None) -> None:
        self.chunk_size = chunk_size
        self._ssl_context = ssl_context

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = httpx2.create_ssl_context()  # the same trust store as the SDK's transport
        return self._ssl_context

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        timeouts = request.extensions.get("timeout", {})
        url = request.url
        connection: http.client.HTTPConnection
        if url.scheme == "https":
            connection = http.client.HTTPSConnection(
                url.host, url.port or 443, timeout=timeouts.get("connect"), context=self._context()
            )
        elif url.scheme == "http":
            connection = http.client.HTTPConnection(url.host, url.port or 80, timeout=timeouts.get("connect"))
        else:
            raise httpx2.UnsupportedProtocol(f"Request URL has an unsupported protocol '{url.scheme}://'.")
        try:
            try:
                connection.connect()
            except socket.timeout as exc:
                raise httpx2.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
            except OSError as exc:
                raise httpx2.ConnectError(str(exc), request=request) from exc
            connection.sock.settimeout(timeouts.get("read"))
            body = request.read()
            try:
                connection.putrequest(
                    request.method, url.raw_path.decode("ascii"), skip_host=True, skip_accept_encoding=True
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
        return httpx2.Response(
            response.status,
            headers=headers,
            stream=_Body(connection, response, request, self.chunk_size),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason.encode("latin-1")},
        )


class _Body(httpx2.SyncByteStream):
    """The response body, read as it arrives in chunks of up to ``chunk_size``; closing closes the socket."""

    def __init__(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse,
                 request: httpx2.Request, chunk_size: int) -> None:
        self._connection, self._response, self._request = connection, response, request
        self._chunk_size = chunk_size

    def __iter__(self) -> Iterator[bytes]:
        response, size = self._response, self._chunk_size
        try:
            while chunk := response.read1(size):
                yield chunk
        except socket.timeout as exc:
            raise httpx2.ReadTimeout(str(exc) or "timed out reading the body", request=self._request) from exc
        except http.client.IncompleteRead as exc:
            raise httpx2.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=self._request
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise httpx2.ReadError(f"{type(exc).__name__}: {exc}", request=self._request) from exc
        if response.length:  # Content-Length promised more than arrived
            raise httpx2.RemoteProtocolError(
                f"peer closed connection without sending complete message body ({response.length} bytes missing)",
                request=self._request,
            )

    def close(self) -> None:
        self._response.close()
        self._connection.close()


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
