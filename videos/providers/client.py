"""The one factory for ``openai`` SDK clients.

Retries are off (``max_retries=0``): the SDK retries POSTs without an idempotency key, so
one ``videos.create`` could make up to three paid jobs. Our submission code decides when
a retry is safe instead.
"""
from __future__ import annotations

import threading
import warnings

import openai

from ..conf import ProviderConfig

# Every ``videos.*`` method of the SDK is marked deprecated because OpenAI's own hosted
# Sora API shut down on 2026-09-24. The same protocol lives on at the providers we talk
# to, so the warning says nothing about them; filter it here, once, and nowhere else.
warnings.filterwarnings(
    "ignore", message=r"The Sora API is scheduled to permanently shut down", category=DeprecationWarning
)

_clients: dict[tuple[str, str, str, float], openai.OpenAI] = {}
_lock = threading.Lock()

DEFAULT_TIMEOUT = 60.0


def build_client(config: ProviderConfig, *, timeout: float = DEFAULT_TIMEOUT) -> openai.OpenAI:
    """An SDK client for ``config`` (one per process, key and timeout: it pools connections)."""
    key = config.api_key()
    cache_key = (config.name, config.base_url, key, timeout)
    with _lock:
        client = _clients.get(cache_key)
        if client is None:
            client = openai.OpenAI(base_url=config.base_url, api_key=key, max_retries=0, timeout=timeout)
            _clients[cache_key] = client
        return client


def reset_clients() -> None:
    """Drop pooled clients (after a fork, or when settings change in tests)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
