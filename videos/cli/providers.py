"""``manage.py sora providers``: what each provider's server can do, and who says so."""
from __future__ import annotations

import json
from typing import Any

from .. import capabilities, conf
from ..exceptions import ProviderError
from ..providers import get_provider
from .console import Console, table


def describe(config: conf.ProviderConfig) -> dict[str, Any]:
    """One provider as JSON: every feature with its source, the served models, the model table."""
    caps = capabilities.table(config)
    return {
        "provider": config.name,
        "label": config.display_name,
        "dialect": config.dialect,
        "base_url": conf.safe_url(config.base_url),
        "emulator": config.emulator,
        "capabilities": {
            feature: {
                "supported": cap.supported,
                "source": cap.source,
                "learned_at": cap.learned_at.isoformat() if cap.learned_at else None,
                "evidence": cap.evidence,
            }
            for feature, cap in caps.items()
        },
        "models_served": capabilities.learned_models(config),
        "models": sorted(config.models),
    }


def providers(console: Console, o: dict[str, Any]) -> None:
    configs = [conf.provider(o["provider"])] if o.get("provider") else list(conf.providers().values())
    if o.get("forget"):
        for config in configs:
            console.info(f"{config.name}: forgot {capabilities.forget(config)} learned answer(s).")
    for config in configs:
        if not o.get("no_check") and (o.get("check") or capabilities.models_due(config)):
            try:
                capabilities.check_models(get_provider(config.name))
            except ProviderError as exc:
                console.info(f"{config.name}: GET /models failed ({exc}); shown as last known.")
    if o.get("json"):
        console.out(json.dumps([describe(config) for config in configs], indent=2))
        return
    blocks = []
    for config in configs:
        rows = []
        for feature, cap in capabilities.table(config).items():
            named = {capabilities.SETTINGS: "pinned in settings", capabilities.DIALECT: f"{config.dialect} default"}
            source = named.get(cap.source) or f"learned {cap.learned_at:%Y-%m-%d %H:%M}"
            rows.append([feature, "yes" if cap.supported else "no", source, cap.evidence or "-"])
        served = capabilities.learned_models(config)
        head = f"{config.name} ({config.dialect}; {conf.safe_url(config.base_url)})"
        models = f"models served (GET /models): {', '.join(served) if served else 'not listed'}"
        blocks.append(f"{head}\n{models}\n" + table(["FEATURE", "WORKS", "WHO SAYS SO", "FROM THE ANSWER"], rows))
    console.out("\n\n".join(blocks))
