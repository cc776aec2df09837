"""The one factory for ``openai`` SDK clients.

Retries are off (``max_retries=0``): the SDK retries POSTs without an idempotency key, so
one ``videos.create`` could make up to three paid jobs. Our submission code decides when
a retry is safe instead.
"""
from __future__ import annotations

import threading
import warnings

# httpcore2 and openai.resources.videos are what the SDK's client loads at its first request:
# loaded with this module, a django-q2 worker's parent loads them once, not every worker it forks
import httpcore2
import httpx2
import openai
import openai.resources.videos

from .. import conf
from ..conf import ProviderConfig
from .transport import streaming_http_client

# Every ``videos.*`` method of the SDK is marked deprecated because OpenAI's own hosted
# Sora API shut down on 2026-09-24. The same protocol lives on at the providers we talk
# to, so the warning says nothing about them; filter it here, once, and nowhere else.
warnings.filterwarnings(
    "ignore", message=r"The Sora API is scheduled to permanently shut down", category=DeprecationWarning
)

_PRELOADED = (httpcore2, openai.resources.videos)
_clients: dict[tuple[str, str, str, float, bool], openai.OpenAI] = {}
_mounts: dict[str, httpx2.BaseTransport] = {}
_lock = threading.Lock()

DEFAULT_TIMEOUT = 60.0


def build_client(config: ProviderConfig, *, timeout: float = DEFAULT_TIMEOUT, streaming: bool = False) -> openai.OpenAI:
    """An SDK client for ``config`` (one per process, key, timeout and kind: it pools connections).

    ``streaming`` clients are for downloading content: the SDK still builds every request,
    but the bytes travel through :class:`~videos.providers.transport.DirectTransport`
    (about five times faster for big files) and ask for no compression.
    """
    key = config.api_key()
    cache_key = (config.name, config.base_url, key, timeout, streaming)
    with _lock:
        client = _clients.get(cache_key)
        if client is None:
            extra: dict = {}
            mounted = _mounts.get(config.base_url.rstrip("/"))
            if mounted is not None:
                extra = {"http_client": openai.DefaultHttpxClient(transport=mounted, timeout=timeout)}
            elif streaming:
                extra = {
                    "http_client": streaming_http_client(timeout=timeout, chunk_size=_chunk_size()),
                    "default_headers": {"Accept-Encoding": "identity"},
                }
            client = openai.OpenAI(base_url=config.base_url, api_key=key, max_retries=0, timeout=timeout, **extra)
            _clients[cache_key] = client
        return client


def _chunk_size() -> int:
    return int(conf.get("DOWNLOAD_CHUNK_SIZE"))


def mount(base_url: str, transport: httpx2.BaseTransport | None) -> None:
    """Carry every request to the provider at ``base_url`` through ``transport`` instead of
    the network (``None`` takes it away again).

    For a provider served in the same process (the test suite's in-process emulator) or a
    transport of your own (a client certificate, a private proxy). The SDK still builds
    every request, so auth, errors and redirects behave as over HTTP.
    """
    with _lock:
        if transport is None:
            _mounts.pop(base_url.rstrip("/"), None)
        else:
            _mounts[base_url.rstrip("/")] = transport
    reset_clients()


def reset_clients() -> None:
    """Drop pooled clients (after a fork, or when settings change in tests)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
