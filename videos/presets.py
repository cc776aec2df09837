"""Model tables of the servers that speak the Videos API, one per dialect.

Plain Python with no Django import: the emulator serves these tables and the Django
side offers them as defaults for a provider of the same dialect, so the two cannot
drift apart. Prices are US dollars per second of output; a dict maps size -> price.
"""
from __future__ import annotations

import copy
from typing import Any

DIALECTS: tuple[str, ...] = (
    "openai",
    "vllm-omni",
    "sglang",
    "tensorrt",
    "litellm",
    "new-api",
    "gateway",
    "llama-swap",
    "aisix",
    "openrouter",
)

#: Extension segments the spec allows (``CreateVideoExtend*Body.seconds``).
EXTEND_SECONDS: tuple[str, ...] = ("4", "8", "12", "16", "20")

_SORA_2 = {
    "SIZES": ["720x1280", "1280x720"],
    "SECONDS": ["4", "8", "12"],
    "PRICE_PER_SECOND": "0.10",
    "EXTRA_PARAMS": [],
}
_SORA_2_PRO = {
    "SIZES": ["720x1280", "1280x720", "1024x1792", "1792x1024"],
    "SECONDS": ["4", "8", "12"],
    "PRICE_PER_SECOND": {
        "720x1280": "0.30",
        "1280x720": "0.30",
        "1024x1792": "0.50",
        "1792x1024": "0.50",
    },
    "EXTRA_PARAMS": [],
}
_OPENAI_MODELS = {"sora-2": _SORA_2, "sora-2-pro": _SORA_2_PRO}

#: Extra (non-spec) body fields a diffusion server accepts.
DIFFUSION_EXTRA_PARAMS: tuple[str, ...] = (
    "seed",
    "negative_prompt",
    "fps",
    "num_frames",
    "guidance_scale",
    "num_inference_steps",
)

#: vLLM-Omni's typed form fields (protocol/videos.py) beyond the spec's.
VLLM_OMNI_EXTRA_PARAMS: tuple[str, ...] = (
    *DIFFUSION_EXTRA_PARAMS,
    "guidance_scale_2",
    "true_cfg_scale",
    "boundary_ratio",
    "flow_shift",
    "generate_sound",
    "sound_duration",
    "video_reference",
    "audio_reference",
    "lora",
    "extra_params",
)


def _open_model(sizes: list[str], seconds: list[str], extra: tuple[str, ...]) -> dict[str, Any]:
    """A self-hosted diffusion model: any WxH and length the server takes; the lists are suggestions.

    ``*`` lets other parameters through too: these servers ignore fields they do not know.
    """
    return {"SIZES": sizes, "SECONDS": seconds, "PRICE_PER_SECOND": "0", "EXTRA_PARAMS": [*extra, "*"],
            "OPEN_SIZES": True, "OPEN_SECONDS": True, "MIN_SIDE": 64, "MAX_SIDE": 1920, "MAX_SECONDS": 30}


MODEL_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "openai": _OPENAI_MODELS,
    # vLLM-Omni serves one model per server; self-hosted, so no per-second price.
    "vllm-omni": {
        "Wan-AI/Wan2.2-TI2V-5B-Diffusers": _open_model(
            ["832x480", "480x832", "1280x720", "720x1280"], ["2", "4", "5", "8"], VLLM_OMNI_EXTRA_PARAMS
        ),
    },
    # SGLang Diffusion names its default model "sora-2" whatever it really serves.
    "sglang": {
        "sora-2": _open_model(["1280x720", "720x1280", "832x480", "480x832"], ["4", "8"],
                              (*DIFFUSION_EXTRA_PARAMS, "flow_shift")),
    },
    # TensorRT-LLM's trtllm-serve also serves one diffusion model per server.
    "tensorrt": {
        "Wan-AI/Wan2.1-T2V-1.3B-Diffusers": _open_model(["832x480", "480x832"], ["2", "4", "5"],
                                                        DIFFUSION_EXTRA_PARAMS),
    },
    # LiteLLM routes to OpenAI here; the table is OpenAI's.
    "litellm": _OPENAI_MODELS,
    # Gateways (new-api and the like) resell OpenAI's models.
    "new-api": _OPENAI_MODELS,
    "gateway": _OPENAI_MODELS,
    # A router (llama-swap) and an AI gateway (aisix) in front of an OpenAI-style server.
    "llama-swap": _OPENAI_MODELS,
    "aisix": _OPENAI_MODELS,
    # OpenRouter names models by vendor slug and sizes by resolution and aspect ratio.
    "openrouter": {
        "openai/sora-2": {**_SORA_2, "SIZES": ["1280x720", "720x1280"]},
    },
}

#: Endpoints and behaviours a provider may or may not have (see ``videos.capabilities``).
FEATURES: tuple[str, ...] = ("remix", "edit", "extend", "delete", "list", "variants", "sync")


def _features(*supported: str) -> dict[str, bool]:
    return {feature: feature in supported for feature in FEATURES}


#: Each dialect's defaults, from compatible-servers.md; what the server answers overrides them.
DIALECT_FEATURES: dict[str, dict[str, bool]] = {
    "openai": _features("remix", "edit", "extend", "delete", "list", "variants"),
    # vLLM-Omni: no remix (404), edits/extensions 405, /content ignores variant, DELETE cancels.
    "vllm-omni": _features("delete", "list", "sync"),
    # SGLang: no remix/edits/extensions; a variant other than video is a 400 (older releases: the MP4).
    "sglang": _features("delete", "list"),
    "tensorrt": _features("delete", "list", "sync"),
    # LiteLLM proxy [run]: edits and extensions work; ?variant= dropped; DELETE 405; list fails.
    "litellm": _features("remix", "edit", "extend"),
    "new-api": _features("remix", "variants"),
    "gateway": _features("remix", "delete", "list", "variants"),
    "llama-swap": _features("remix", "edit", "extend", "delete", "list", "variants"),
    "aisix": _features("remix", "edit", "extend", "delete", "list", "variants"),
    "openrouter": _features(),
}

#: Statuses that end a job. Anything not listed anywhere means "still working".
TERMINAL_SUCCESS = frozenset({"completed", "succeeded", "success"})
TERMINAL_FAILURE = frozenset({"failed", "failure", "error", "cancelled", "canceled"})
TERMINAL_GONE = frozenset({"expired", "deleted"})


def models_for(dialect: str) -> dict[str, dict[str, Any]]:
    """The model table for ``dialect`` (a deep copy, safe to mutate)."""
    return copy.deepcopy(MODEL_PRESETS[dialect])
