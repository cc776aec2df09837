"""The product through a real LiteLLM proxy: one proxy and one backend emulator per test process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from videos.emulator.testing import EmulatorProcess

from ..conftest import require
from ..support import sora_settings
from .proxy import LITELLM, LiteLLMProxy

KEY_ENV = "SORA_LITELLM_TEST_KEY"


@pytest.fixture(scope="session")
def litellm_backend() -> Iterator[EmulatorProcess]:
    """The server behind the proxy: the emulator in the ``openai`` dialect."""
    with EmulatorProcess(dialect="openai", generation_time=0.5) as backend:
        yield backend


@pytest.fixture(scope="session")
def litellm_proxy(litellm_backend: EmulatorProcess) -> Iterator[LiteLLMProxy]:
    if not LITELLM.exists():
        require("The LiteLLM proxy", f"{LITELLM} is missing (bin/test installs it with bin/_litellm)")
    proxy = LiteLLMProxy(litellm_backend.base_url, litellm_backend.api_key)
    try:
        proxy.wait_ready()
    except RuntimeError as exc:
        require("The LiteLLM proxy", str(exc))
    yield proxy
    proxy.stop()


@pytest.fixture
def through_litellm(settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, litellm_proxy: LiteLLMProxy,
                    litellm_backend: EmulatorProcess) -> EmulatorProcess:
    """SORA_VIDEOS with one provider, the proxy; returns the backend (its stats count transfers)."""
    litellm_backend.reset()
    monkeypatch.setenv(KEY_ENV, litellm_proxy.key)
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(litellm_proxy, provider={
        "DIALECT": "litellm", "EMULATOR": False, "API_KEY_ENV": KEY_ENV,
        "LIST_QUERY": {"custom_llm_provider": "openai"},
    })
    return litellm_backend
