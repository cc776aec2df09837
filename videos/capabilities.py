"""What each provider's server can do, learned from its answers rather than assumed.

One answer per feature, in this order:

1. ``SORA_VIDEOS["PROVIDERS"][name]["CAPABILITIES"]``: a pin in the settings always wins;
2. what the server itself answered (a 404/405 of its router on an endpoint, a thumbnail
   answered with an MP4, the models ``GET /models`` lists), stored in
   :class:`~videos.models.ProviderCapability` with when and from what it was learned, and
   trusted for ``CAPABILITY_TTL`` seconds, after which the product tries again;
3. the dialect's defaults (``videos/presets.py``), written from compatible-servers.md.

Servers change monthly; a learned "no" is never permanent.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from . import conf, presets
from .conf import ProviderConfig
from .exceptions import ProviderError
from .models.capability import ProviderCapability
from .providers.base import Provider

log = logging.getLogger(__name__)

FEATURES = presets.FEATURES
#: What each feature lets the user do, for messages ("... cannot edit videos").
ACTIONS = {
    "remix": "remix videos",
    "edit": "edit videos",
    "extend": "extend videos",
    "delete": "delete videos remotely",
    "list": "list its videos",
    "variants": "serve thumbnails and spritesheets",
    "sync": "answer with the video at once (POST /videos/sync)",
    "models": "list its models (GET /models)",
}
SETTINGS, LEARNED, DIALECT = "settings", "learned", "dialect"
_CACHE_SECONDS = 30


@dataclass(frozen=True)
class Capability:
    """One feature of one provider: whether it works, and who says so."""

    feature: str
    supported: bool
    source: str  # settings | learned | dialect
    learned_at: dt.datetime | None = None
    evidence: str = ""

    @property
    def action(self) -> str:
        return ACTIONS.get(self.feature, self.feature)

    def explain(self, config: ProviderConfig) -> str:
        """Why the answer is what it is, in one sentence for a message."""
        if self.source == SETTINGS:
            return f"pinned in SORA_VIDEOS['PROVIDERS'][{config.name!r}]['CAPABILITIES']"
        if self.source == LEARNED and self.learned_at is not None:
            return f"learned {self.learned_at:%Y-%m-%d %H:%M} UTC from its answer: {self.evidence}"
        return f"the {config.dialect} dialect's default (compatible-servers.md)"


def _key(config: ProviderConfig) -> str:
    return f"sora-videos:capabilities:{config.name}:{config.base_url}"


def _learned(config: ProviderConfig) -> dict[str, dict[str, Any]]:
    rows = cache.get(_key(config))
    if rows is None:
        rows = {
            row.feature: {"supported": row.supported, "value": row.value, "evidence": row.evidence,
                          "at": row.learned_at}
            for row in ProviderCapability.objects.filter(provider=config.name)
        }
        cache.set(_key(config), rows, _CACHE_SECONDS)
    return rows


def _fresh(at: dt.datetime) -> bool:
    return timezone.now() - at < dt.timedelta(seconds=float(conf.get("CAPABILITY_TTL")))


def table(config: ProviderConfig) -> dict[str, Capability]:
    """Every feature of ``config`` with its answer and its source (one query, cached briefly)."""
    defaults = presets.DIALECT_FEATURES[config.dialect]
    learned = _learned(config)
    result = {}
    for feature in FEATURES:
        if feature in config.capabilities:
            result[feature] = Capability(feature, config.capabilities[feature], SETTINGS)
        elif feature in learned and _fresh(learned[feature]["at"]):
            row = learned[feature]
            result[feature] = Capability(feature, row["supported"], LEARNED, row["at"], row["evidence"])
        else:
            result[feature] = Capability(feature, defaults.get(feature, True), DIALECT)
    return result


def get(config: ProviderConfig, feature: str) -> Capability:
    return table(config)[feature]


def supports(config: ProviderConfig, feature: str) -> bool:
    return get(config, feature).supported


def features(config: ProviderConfig) -> dict[str, bool]:
    """``{feature: supported}``, for templates and JSON."""
    return {feature: cap.supported for feature, cap in table(config).items()}


def learn(config: ProviderConfig, feature: str, supported: bool, evidence: str, value: Any = None) -> None:
    """Remember what the server just showed; a settings pin still wins over it."""
    now = timezone.now()
    evidence = evidence[:1000]
    previous = _learned(config).get(feature)
    ProviderCapability.objects.update_or_create(
        provider=config.name, feature=feature,
        defaults={"supported": supported, "evidence": evidence, "learned_at": now,
                  "value": value if value is not None else []},
    )
    cache.delete(_key(config))
    if previous is None or previous["supported"] != supported:
        log.info("provider %s: %s %s (%s)", config.name, "can" if supported else "cannot",
                 ACTIONS.get(feature, feature), evidence)


def confirm(config: ProviderConfig, feature: str, evidence: str) -> None:
    """A call that worked: if a "no" was learned before, the server has gained the feature."""
    row = _learned(config).get(feature)
    if row is not None and not row["supported"]:
        learn(config, feature, True, evidence)


#: What to do instead, per missing feature.
_INSTEAD = {
    "remix": "Make a new video with the changed prompt instead",
    "edit": "Make a new video with the changed prompt instead",
    "extend": "Make a longer video instead",
    "list": "Sync needs the list; videos made here are still tracked one by one",
    "delete": "Deleting removes our copy; the server keeps its own until it drops it",
    "sync": "Videos are made the usual way (create, then download)",
}


def refusal(config: ProviderConfig, feature: str) -> str | None:
    """Why ``feature`` cannot be used at ``config`` and what to do, or None when it can."""
    cap = get(config, feature)
    if cap.supported:
        return None
    pin = f"SORA_VIDEOS['PROVIDERS'][{config.name!r}]['CAPABILITIES'][{feature!r}] = True"
    return (f"{config.display_name} cannot {cap.action} ({cap.explain(config)}). {_INSTEAD.get(feature, '')}"
            f"{'' if cap.source == SETTINGS else f'; if the server has gained it, set {pin}'}.")


def learned_models(config: ProviderConfig) -> list[str] | None:
    """The model ids the server listed at ``GET /models`` (fresh), or None."""
    row = _learned(config).get("models")
    if row is None or not _fresh(row["at"]) or not row["supported"]:
        return None
    return list(row["value"])


def models_due(config: ProviderConfig) -> bool:
    """Whether ``GET /models`` was never asked, or so long ago that it is asked again."""
    row = _learned(config).get("models")
    return row is None or not _fresh(row["at"])


def check_models(provider: Provider) -> list[str] | None:
    """Ask ``GET /models`` and remember the answer; None when the server does not serve it."""
    config = provider.config
    try:
        ids = provider.list_models()
    except ProviderError as exc:
        if exc.status_code in (400, 404, 405, 501) or exc.endpoint_missing:
            learn(config, "models", False, f"GET /models answered {exc}")
            return None
        raise
    learn(config, "models", True, f"GET /models listed {', '.join(ids) or 'nothing'}", value=ids)
    return ids


def forget(config: ProviderConfig) -> int:
    """Drop what was learned (the admin's "Check again"); the next answers teach it anew."""
    deleted, _ = ProviderCapability.objects.filter(provider=config.name).delete()
    cache.delete(_key(config))
    return deleted
