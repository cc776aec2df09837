"""Every server the emulator can imitate, by the name ``--dialect`` takes.

A dialect is an :class:`~videos.emulator.api.Api` subclass: the spec's server
(``openai``), or one that answers as another server's source does. The job store
keeps one internal lifecycle; each class decides how it looks on the wire.
"""

from __future__ import annotations

from videos.emulator.api import Api
from videos.emulator.gateways import AisixApi, GatewayApi, LiteLLMApi, LlamaSwapApi, NewApiApi
from videos.emulator.openrouter import OpenRouterApi
from videos.emulator.selfhosted import SGLangApi, TensorRTApi, VllmOmniApi

_DIALECTS: dict[str, type[Api]] = {
    cls.name: cls
    for cls in (
        Api,
        VllmOmniApi,
        SGLangApi,
        TensorRTApi,
        LiteLLMApi,
        NewApiApi,
        GatewayApi,
        LlamaSwapApi,
        AisixApi,
        OpenRouterApi,
    )
}

#: ``--backend`` values: what LiteLLM routes to (``openai`` passes statuses through).
BACKENDS = ("openai", "gemini")


def get_dialect(name: str) -> type[Api]:
    """The server class called ``name``; KeyError for an unknown one."""
    return _DIALECTS[name]


def dialect_names() -> tuple[str, ...]:
    return tuple(_DIALECTS)
