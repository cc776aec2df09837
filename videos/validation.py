"""Checks a request against the provider's model table before anything is sent."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .conf import ModelSpec, ProviderConfig
from .exceptions import InvalidRequest

MAX_PROMPT_CHARS = 32000


@dataclass(frozen=True)
class CheckedRequest:
    provider: ProviderConfig
    model: ModelSpec
    size: str
    seconds: int
    prompt: str
    extra_params: dict[str, Any]


def check_prompt(prompt: str | None) -> str:
    text = (prompt or "").strip()
    if not text:
        raise InvalidRequest("The prompt is empty: describe the video to generate.", field="prompt")
    if len(text) > MAX_PROMPT_CHARS:
        raise InvalidRequest(
            f"The prompt has {len(text):,} characters; the limit is {MAX_PROMPT_CHARS:,}. Shorten it.", field="prompt"
        )
    return text


def parse_size(value: str | None = None, *, width: int | None = None, height: int | None = None) -> str | None:
    """``"1280x720"`` from a size string or a width and height."""
    if value:
        text = str(value).lower().replace(" ", "").replace("×", "x")
        w, sep, h = text.partition("x")
        if not (sep and w.isdigit() and h.isdigit()):
            raise InvalidRequest(f"Size {value!r} is not WIDTHxHEIGHT (e.g. 1280x720).", field="size")
        return f"{int(w)}x{int(h)}"
    if width or height:
        if not (width and height):
            raise InvalidRequest("Give both width and height, or a size such as 1280x720.", field="size")
        return f"{int(width)}x{int(height)}"
    return None


def check_request(
    provider: ProviderConfig,
    *,
    prompt: str,
    model: str | None = None,
    size: str | None = None,
    seconds: int | str | None = None,
    extra_params: dict[str, Any] | None = None,
) -> CheckedRequest:
    """Validate everything the user chose; raise :class:`InvalidRequest` naming the field."""
    text = check_prompt(prompt)
    spec = provider.model(model)
    size = parse_size(size) or spec.sizes[0]
    if size not in spec.sizes:
        raise InvalidRequest(
            f"{spec.name} at {provider.display_name} does not offer size {size}; it offers {', '.join(spec.sizes)}.",
            field="size",
        )
    seconds_text = str(seconds if seconds not in (None, "") else spec.seconds[0]).strip()
    if seconds_text not in spec.seconds:
        raise InvalidRequest(
            f"{spec.name} does not offer {seconds_text} seconds; choose one of {', '.join(spec.seconds)}.",
            field="seconds",
        )
    extras = check_extra_params(provider, spec, extra_params)
    return CheckedRequest(provider, spec, size, int(seconds_text), text, extras)


def check_extra_params(provider: ProviderConfig, spec: ModelSpec, extra: dict[str, Any] | None) -> dict[str, Any]:
    extras = {k: v for k, v in (extra or {}).items() if v is not None}
    refused = sorted(set(extras) - set(spec.extra_params))
    if refused:
        accepted = ", ".join(spec.extra_params) or "none"
        raise InvalidRequest(
            f"{provider.display_name} ({provider.dialect}) does not accept {', '.join(refused)} for {spec.name}; "
            f"extra parameters it accepts: {accepted}.",
            field=refused[0],
        )
    if "seed" in extras:
        try:
            extras["seed"] = int(extras["seed"])
        except (TypeError, ValueError):
            raise InvalidRequest(f"seed must be a whole number, not {extras['seed']!r}.", field="seed") from None
    return extras


def check_feature(provider: ProviderConfig, feature: str, action: str) -> None:
    if not provider.features.get(feature, False):
        raise InvalidRequest(
            f"{provider.display_name} ({provider.dialect}) cannot {action}: its server has no {feature} endpoint.",
            field="provider",
        )
