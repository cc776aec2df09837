"""Template context: which provider the site talks to, so the emulator is always labelled."""
from __future__ import annotations

from typing import Any

from . import conf
from .exceptions import SoraVideosError


def sora(request: Any) -> dict[str, Any]:
    try:
        provider = conf.provider()
    except SoraVideosError:
        return {"sora_provider": None, "sora_emulator": False}
    return {"sora_provider": provider, "sora_emulator": provider.emulator}
