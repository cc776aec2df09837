"""What each compatible server does differently from the spec (see compatible-servers.md).

Statuses such as ``processing``/``NOT_START``/``expired`` and a null ``seconds`` are
handled for everyone by :func:`~videos.providers.base.normalize_status` and
:class:`~videos.providers.base.RemoteVideo`; the classes here cover the rest.
"""
from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

from .base import CreateRequest, Provider, RemoteVideo


class OpenAIProvider(Provider):
    dialect = "openai"


class VllmOmniProvider(Provider):
    """vLLM-Omni: one model per server, diffusion fields as extra body, no remix/edit/extend."""

    dialect = "vllm-omni"


class SGLangProvider(Provider):
    """SGLang Diffusion: a multipart create must carry ``input_reference``; text-only is JSON."""

    dialect = "sglang"

    def send_create(self, req: CreateRequest) -> RemoteVideo:
        if req.reference is not None:
            return super().send_create(req)
        body = {"prompt": req.prompt, "model": req.model, "size": req.size, "seconds": str(req.seconds), **req.extra}
        return self._post_json("/videos", body, req.timeout)


class LiteLLMProvider(Provider):
    """LiteLLM proxy: list needs ``custom_llm_provider`` (set through ``LIST_QUERY``)."""

    dialect = "litellm"


class GatewayProvider(Provider):
    """new-api style gateways: odd statuses and null seconds, already normalized by the base."""

    dialect = "gateway"


class TensorRTProvider(Provider):
    """TensorRT-LLM ``trtllm-serve``: the reference image goes as ``image_reference`` (PR #17493)."""

    dialect = "tensorrt"

    def send_create(self, req: CreateRequest) -> RemoteVideo:
        fields = {"prompt": req.prompt, "model": req.model, "size": req.size, "seconds": str(req.seconds),
                  **{key: _form_value(value) for key, value in req.extra.items()}}
        ref = req.reference
        files = [("image_reference", (ref.filename, ref.content, ref.content_type))] if ref is not None else []
        return self._post_form("/videos", fields, files, req.timeout)


class NewApiProvider(GatewayProvider):
    """new-api's "Sora format" relay: provider-specific fields travel in a ``metadata`` JSON field."""

    dialect = "new-api"

    def send_create(self, req: CreateRequest) -> RemoteVideo:
        extra = {"metadata": json.dumps(req.extra)} if req.extra else {}
        return super().send_create(dataclasses.replace(req, extra=extra))


class LlamaSwapProvider(Provider):
    """llama-swap: GET and DELETE carry no body, so they name the model in ``?model=`` (PR #991)."""

    dialect = "llama-swap"

    def query(self, model: str | None) -> dict[str, str]:
        return {"model": model or self.config.default_model}


class AisixProvider(Provider):
    """api7/aisix: ``/content`` answers 302 to a signed URL on another host; the SDK follows it
    and drops our ``Authorization`` there (tested)."""

    dialect = "aisix"


class OpenRouterProvider(Provider):
    """OpenRouter's own video API: ``duration``, ``resolution`` and ``aspect_ratio`` instead of
    ``seconds`` and ``size``; a create answers ``{id, polling_url, status}`` only, and the job's
    ``/content`` serves the MP4 (the signed ``urls`` need no key)."""

    dialect = "openrouter"

    def send_create(self, req: CreateRequest) -> RemoteVideo:
        width, height = (int(side) for side in req.size.split("x"))
        aspect = "1:1" if width == height else ("16:9" if width > height else "9:16")
        body: dict[str, Any] = {"model": req.model, "prompt": req.prompt, "duration": int(req.seconds),
                                "resolution": f"{min(width, height)}p", "aspect_ratio": aspect, **req.extra}
        if req.reference is not None:
            data = base64.b64encode(req.reference.content).decode()
            body["frame_images"] = [{"type": "image_url", "frame_type": "first_frame",
                                     "image_url": {"url": f"data:{req.reference.content_type};base64,{data}"}}]
        return self._post_json("/videos", body, req.timeout)

    def decode(self, payload: dict[str, Any]) -> dict[str, Any]:
        error = payload.get("error")
        return {**payload, "error": {"message": error} if isinstance(error, str) else error}


def _form_value(value: Any) -> str:
    """A multipart form field: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


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
