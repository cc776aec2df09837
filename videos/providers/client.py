"""The one factory for ``openai`` SDK clients.

Retries are off (``max_retries=0``): the SDK retries POSTs without an idempotency key, so
one ``videos.create`` could make up to three paid jobs. Our submission code decides when
a retry is safe instead.
"""
from __future__ import annotations

import threading
import warnings

import openai

from .. import conf
from ..conf import ProviderConfig
from .transport import streaming_http_client

# Every ``videos.*`` method of the SDK is marked deprecated because OpenAI's own hosted
# Sora API shut down on 2026-09-24. The same protocol lives on at the providers we talk
# to, so the warning says nothing about them; filter it here, once, and nowhere else.
warnings.filterwarnings(
    "ignore", message=r"The Sora API is scheduled to permanently shut down", category=DeprecationWarning
)

_clients: dict[tuple[str, str, str, float, bool], openai.OpenAI] = {}
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
            if streaming:
                extra = {
                    "http_client": streaming_http_client(timeout=timeout, chunk_size=_chunk_size()),
                    "default_headers": {"Accept-Encoding": "identity"},
                }
            client = openai.OpenAI(base_url=config.base_url, api_key=key, max_retries=0, timeout=timeout, **extra)
            _clients[cache_key] = client
        return client


def _chunk_size() -> int:
    return int(conf.get("DOWNLOAD_CHUNK_SIZE"))


def reset_clients() -> None:
    """Drop pooled clients (after a fork, or when settings change in tests)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
