"""What each compatible server does differently from the spec (see compatible-servers.md).

Statuses such as ``processing``/``NOT_START``/``expired`` and a null ``seconds`` are
handled for everyone by :func:`~videos.providers.base.normalize_status` and
:class:`~videos.providers.base.RemoteVideo`; the classes here cover the rest.
"""
from __future__ import annotations

from typing import Any

from .base import Provider, ReferenceUpload, RemoteVideo


class OpenAIProvider(Provider):
    dialect = "openai"


class VllmOmniProvider(Provider):
    """vLLM-Omni: one model per server, diffusion fields as extra body, no remix/edit/extend."""

    dialect = "vllm-omni"


class SGLangProvider(Provider):
    """SGLang Diffusion: a multipart create must carry ``input_reference``; text-only is JSON."""

    dialect = "sglang"

    def create(
        self,
        *,
        prompt: str,
        model: str,
        size: str,
        seconds: int,
        reference: ReferenceUpload | None = None,
        extra: dict[str, Any] | None = None,
        timeout: float = 60.0,
    ) -> RemoteVideo:
        if reference is not None:
            return super().create(
                prompt=prompt, model=model, size=size, seconds=seconds, reference=reference, extra=extra, timeout=timeout
            )
        body = {"prompt": prompt, "model": model, "size": size, "seconds": str(seconds), **(extra or {})}
        return self._post_json("/videos", body, timeout)


class LiteLLMProvider(Provider):
    """LiteLLM proxy: list needs ``custom_llm_provider`` (set through ``LIST_QUERY``)."""

    dialect = "litellm"


class GatewayProvider(Provider):
    """new-api style gateways: odd statuses and null seconds, already normalized by the base."""

    dialect = "gateway"


class TensorRTProvider(Provider):
    """TensorRT-LLM ``trtllm-serve``: one diffusion model, no remix/edit/extend, variants ignored."""

    dialect = "tensorrt"


class NewApiProvider(GatewayProvider):
    """new-api's "Sora format" relay: gateway statuses, float or null seconds."""

    dialect = "new-api"


class LlamaSwapProvider(Provider):
    """llama-swap: a router in front of an OpenAI-style server."""

    dialect = "llama-swap"


class AisixProvider(Provider):
    """api7/aisix: ``/content`` redirects to a signed URL on another host."""

    dialect = "aisix"


class OpenRouterProvider(Provider):
    """OpenRouter's own video API under ``/api/v1``."""

    dialect = "openrouter"


DIALECT_CLASSES: dict[str, type[Provider]] = {
    cls.dialect: cls
    for cls in (
        OpenAIProvider,
        VllmOmniProvider,
        SGLangProvider,
        TensorRTProvider,
        LiteLLMProvider,
        NewApiProvider,
        GatewayProvider,
        LlamaSwapProvider,
        AisixProvider,
        OpenRouterProvider,
    )
}
