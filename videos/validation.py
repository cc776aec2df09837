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
        check_open_size(provider, spec, size)
    seconds_text = str(seconds if seconds not in (None, "") else spec.seconds[0]).strip()
    if seconds_text not in spec.seconds:
        check_open_seconds(spec, seconds_text)
    extras = check_extra_params(provider, spec, extra_params)
    return CheckedRequest(provider, spec, size, int(seconds_text), text, extras)


def check_open_size(provider: ProviderConfig, spec: ModelSpec, size: str) -> None:
    """A size no table lists: fine for a server that takes any ``WxH`` within its bounds."""
    if not spec.open_sizes:
        raise InvalidRequest(
            f"{spec.name} at {provider.display_name} does not offer size {size}; it offers {', '.join(spec.sizes)}.",
            field="size",
        )
    width, height = (int(side) for side in size.split("x"))
    if not (spec.min_side <= width <= spec.max_side and spec.min_side <= height <= spec.max_side):
        raise InvalidRequest(
            f"{spec.name} at {provider.display_name} takes any WIDTHxHEIGHT with sides from {spec.min_side} to "
            f"{spec.max_side} pixels; {size} is outside that (e.g. {', '.join(spec.sizes[:3])}).",
            field="size",
        )


def check_open_seconds(spec: ModelSpec, seconds: str) -> None:
    if spec.open_seconds and seconds.isdigit() and 1 <= int(seconds) <= spec.max_seconds:
        return
    allowed = (f"any whole number from 1 to {spec.max_seconds}" if spec.open_seconds
               else f"one of {', '.join(spec.seconds)}")
    raise InvalidRequest(f"{spec.name} does not offer {seconds} seconds; choose {allowed}.", field="seconds")


def check_extra_params(provider: ProviderConfig, spec: ModelSpec, extra: dict[str, Any] | None) -> dict[str, Any]:
    extras = {k: v for k, v in (extra or {}).items() if v is not None}
    refused = [] if spec.any_extra else sorted(set(extras) - set(spec.extra_params))
    if refused:
        accepted = ", ".join(spec.named_extra_params) or "none"
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
