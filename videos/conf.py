"""The one place that reads ``settings.SORA_VIDEOS``.

Options are read when used, never at import, and validated as a whole: an unknown key
raises :class:`~videos.exceptions.ConfigurationError` naming it (system checks report the
same errors at start-up). ``docs/settings.md`` documents every option.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from . import presets
from .exceptions import ConfigurationError, InvalidRequest

SETTING = "SORA_VIDEOS"

DEFAULTS: dict[str, Any] = {
    "DEFAULT_PROVIDER": None,  # None: the first provider
    "PROVIDERS": None,  # None: one provider, the local emulator
    "STORAGE": "default",  # alias in settings.STORAGES for assets and reference images
    "STORAGE_PREFIX": "sora",
    "MAX_UPLOAD_BYTES": 20 * 1024 * 1024,
    "MAX_IMAGE_PIXELS": 50_000_000,
    "REFERENCE_FIT": "crop",  # or "letterbox"
    "POLL_INTERVAL": 5.0,  # seconds between status checks when the provider gives no hint
    "WEBHOOK_POLL_INTERVAL": 300.0,  # the same, for providers whose webhooks we receive
    "DOWNLOAD_STALL": 60.0,  # seconds without a download heartbeat before another worker takes over
    # seconds one tracking sweep keeps working before it hands over (a stopping qcluster waits for it)
    "SWEEP_DURATION": 8.0,
    "SWEEP_LEASE": 30.0,  # seconds a sweep's lease lasts unless renewed (a killed sweep frees it after this)
    "STALL_TIMEOUT": 3600,  # seconds without news before a job needs attention
    "SUBMIT_TIMEOUT": 60.0,  # seconds one create request may take
    "SUBMIT_GRACE": 30.0,  # extra seconds before an unanswered create is reconciled by the sweep
    "SUBMIT_MAX_ATTEMPTS": 6,
    "SUBMIT_CONCURRENCY": 4,  # creates one submitter sends at once (PostgreSQL, MySQL; SQLite: one)
    "RETRY_BACKOFF": 2.0,  # seconds before the first retry; doubles each attempt (capped at 300)
    "RECONCILE_WINDOW": 600,  # seconds around a create attempt that reconciliation searches
    "DOWNLOAD_MAX_ATTEMPTS": 8,
    "DOWNLOAD_CHUNK_SIZE": 1024 * 1024,
    "DOWNLOAD_SHA256": "auto",  # "inline" (while downloading), "deferred" (after storing) or "auto"
    "TEMP_DIR": None,  # None: beside the files on a local disk, else the system temp dir
    "USER_MONTHLY_BUDGET": None,  # Decimal-able; None: no limit
    "GROUP_MONTHLY_BUDGETS": {},  # group name -> Decimal-able amount
    "APPROVAL_ABOVE": None,  # Decimal-able: a job or sequence costing more waits for a reviewer
    "VISIBILITY": "all",  # or "projects": people see only the projects they belong to
    "WEBHOOKS_ALLOW_PRIVATE": False,  # outbound webhooks to private/loopback addresses (tests, an intranet)
    "SITE_URL": "",  # the site's public address (https://videos.example.com), for links the CLI prints
    "CURRENCY": "USD",
    "WEBHOOK_TOLERANCE": 300,
    "LIVE_REFRESH_AFTER": 10.0,  # a status read older than this triggers a refresh when watched
    "CAPABILITY_TTL": 86400.0,  # seconds a learned capability is trusted before the product tries again
}

PROVIDER_DEFAULTS: dict[str, Any] = {
    "BASE_URL": None,
    "API_KEY_ENV": "OPENAI_API_KEY",
    "DIALECT": "openai",
    "WEBHOOK_SECRET_ENV": None,
    "MODELS": None,  # None: the dialect's preset table
    "DEFAULT_MODEL": None,
    "MAX_IN_FLIGHT": 10,
    "CREATES_PER_MINUTE": 25,
    "EMULATOR": False,
    "LABEL": "",
    "LIST_QUERY": None,  # extra query parameters for list (LiteLLM: custom_llm_provider)
    "CAPABILITIES": None,  # feature -> True/False: pins that win over what the server answers
    "APPROVAL_ABOVE": None,  # this provider's own approval threshold (else the global one)
}

MODEL_KEYS = {"SIZES", "SECONDS", "PRICE_PER_SECOND", "EXTRA_PARAMS", "EXTEND_SECONDS", "OPEN_SIZES", "MIN_SIDE",
              "MAX_SIDE", "OPEN_SECONDS", "MAX_SECONDS"}
#: ``EXTRA_PARAMS`` entry that lets any further parameter through (servers that ignore unknown ones).
ANY_EXTRA = "*"

EMULATOR_API_KEY = "sk-emulator"


@dataclass(frozen=True)
class ModelSpec:
    """What one model of one provider offers."""

    name: str
    sizes: tuple[str, ...]
    seconds: tuple[str, ...]
    prices: dict[str, Decimal]  # size -> price per second; "*" for every size
    extra_params: tuple[str, ...] = ()
    extend_seconds: tuple[str, ...] = presets.EXTEND_SECONDS
    #: A diffusion server takes any ``WxH`` within these sides, not only ``sizes`` (then suggestions).
    open_sizes: bool = False
    min_side: int = 64
    max_side: int = 1920
    #: ... and any whole number of seconds up to ``max_seconds``.
    open_seconds: bool = False
    max_seconds: int = 60

    @property
    def named_extra_params(self) -> tuple[str, ...]:
        return tuple(name for name in self.extra_params if name != ANY_EXTRA)

    @property
    def any_extra(self) -> bool:
        return ANY_EXTRA in self.extra_params

    def price_per_second(self, size: str) -> Decimal:
        return self.prices.get(size, self.prices.get("*", Decimal("0")))

    def cost(self, size: str, seconds: int | str) -> Decimal:
        return (self.price_per_second(size) * Decimal(str(seconds))).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class ProviderConfig:
    """One provider: any base URL that speaks the Videos API."""

    name: str
    base_url: str
    api_key_env: str
    dialect: str
    webhook_secret_env: str | None
    models: dict[str, ModelSpec]
    default_model: str
    max_in_flight: int
    creates_per_minute: int
    emulator: bool
    label: str
    list_query: dict[str, str] = field(default_factory=dict)
    #: Settings pins (feature -> bool); see ``videos.capabilities`` for the full answer.
    capabilities: dict[str, bool] = field(default_factory=dict)
    #: Cost above which a job waits for approval (None: the global ``APPROVAL_ABOVE``).
    approval_above: Decimal | None = None

    @property
    def display_name(self) -> str:
        return self.label or self.name

    def api_key(self) -> str:
        """The key, read from the environment now (never stored, never logged)."""
        key = os.environ.get(self.api_key_env)
        if key:
            return key
        if self.emulator:
            return EMULATOR_API_KEY
        raise ConfigurationError(
            f"No API key for provider {self.name!r}: set the environment variable {self.api_key_env}",
            setting=self.api_key_env,
        )

    def webhook_secret(self) -> str | None:
        if not self.webhook_secret_env:
            return None
        return os.environ.get(self.webhook_secret_env) or None

    def model(self, name: str | None) -> ModelSpec:
        name = name or self.default_model
        try:
            return self.models[name]
        except KeyError:
            raise InvalidRequest(
                f"Provider {self.display_name!r} has no model {name!r}; it offers: {', '.join(self.models)}.",
                field="model",
            ) from None


def _raw() -> dict[str, Any]:
    value = getattr(settings, SETTING, {}) or {}
    if not isinstance(value, dict):
        raise ConfigurationError(f"{SETTING} must be a dict", setting=SETTING)
    unknown = sorted(set(value) - set(DEFAULTS))
    if unknown:
        raise ConfigurationError(
            f"Unknown {SETTING} option(s): {', '.join(unknown)}; known options: {', '.join(sorted(DEFAULTS))}",
            setting=f"{SETTING}[{unknown[0]!r}]",
        )
    return value


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): RETRY_BACKOFF doubling, capped."""
    return min(300.0, float(get("RETRY_BACKOFF")) * 2 ** max(0, attempt - 1))


def get(name: str) -> Any:
    """One option of ``SORA_VIDEOS``, with its default."""
    if name not in DEFAULTS:
        raise KeyError(name)
    return _raw().get(name, DEFAULTS[name])


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ConfigurationError(f"{value!r} is not a number", setting=where) from None


def _parse_models(raw: Any, where: str) -> dict[str, ModelSpec]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigurationError("MODELS must be a non-empty dict of model name -> options", setting=where)
    models = {}
    for name, spec in raw.items():
        at = f"{where}[{name!r}]"
        if not isinstance(spec, dict):
            raise ConfigurationError("a model's options must be a dict", setting=at)
        unknown = sorted(set(spec) - MODEL_KEYS)
        if unknown:
            raise ConfigurationError(
                f"Unknown model option(s) {', '.join(unknown)}; known: {', '.join(sorted(MODEL_KEYS))}",
                setting=f"{at}[{unknown[0]!r}]",
            )
        sizes = tuple(str(s) for s in spec.get("SIZES") or ())
        seconds = tuple(str(s) for s in spec.get("SECONDS") or ())
        if not sizes or not seconds:
            raise ConfigurationError("a model needs SIZES and SECONDS", setting=at)
        for size in sizes:
            w, _, h = size.partition("x")
            if not (w.isdigit() and h.isdigit()):
                raise ConfigurationError(f"size {size!r} is not WIDTHxHEIGHT", setting=f"{at}['SIZES']")
        for sec in seconds:
            if not sec.isdigit():
                raise ConfigurationError(f"seconds {sec!r} is not a whole number", setting=f"{at}['SECONDS']")
        price = spec.get("PRICE_PER_SECOND", "0")
        if isinstance(price, dict):
            prices = {str(k): _decimal(v, f"{at}['PRICE_PER_SECOND']") for k, v in price.items()}
        else:
            prices = {"*": _decimal(price, f"{at}['PRICE_PER_SECOND']")}
        models[str(name)] = ModelSpec(
            name=str(name),
            sizes=sizes,
            seconds=seconds,
            prices=prices,
            extra_params=tuple(spec.get("EXTRA_PARAMS") or ()),
            extend_seconds=tuple(str(s) for s in spec.get("EXTEND_SECONDS") or presets.EXTEND_SECONDS),
            open_sizes=bool(spec.get("OPEN_SIZES", False)),
            min_side=_whole(spec.get("MIN_SIDE", 64), f"{at}['MIN_SIDE']"),
            max_side=_whole(spec.get("MAX_SIDE", 1920), f"{at}['MAX_SIDE']"),
            open_seconds=bool(spec.get("OPEN_SECONDS", False)),
            max_seconds=_whole(spec.get("MAX_SECONDS", 60), f"{at}['MAX_SECONDS']"),
        )
    return models


def _whole(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"{value!r} is not a positive whole number", setting=where)
    return value


def _parse_provider(name: str, raw: Any) -> ProviderConfig:
    where = f"{SETTING}['PROVIDERS'][{name!r}]"
    if not isinstance(raw, dict):
        raise ConfigurationError("a provider's options must be a dict", setting=where)
    unknown = sorted(set(raw) - set(PROVIDER_DEFAULTS))
    if unknown:
        raise ConfigurationError(
            f"Unknown provider option(s) {', '.join(unknown)}; known: {', '.join(sorted(PROVIDER_DEFAULTS))}",
            setting=f"{where}[{unknown[0]!r}]",
        )
    opts = {**PROVIDER_DEFAULTS, **raw}
    if not opts["BASE_URL"] or not str(opts["BASE_URL"]).startswith(("http://", "https://")):
        raise ConfigurationError("BASE_URL must be an http(s) URL such as https://host/v1", setting=f"{where}['BASE_URL']")
    dialect = opts["DIALECT"]
    if dialect not in presets.DIALECTS:
        raise ConfigurationError(
            f"Unknown dialect {dialect!r}; choose one of {', '.join(presets.DIALECTS)}", setting=f"{where}['DIALECT']"
        )
    models = _parse_models(
        opts["MODELS"] if opts["MODELS"] is not None else presets.models_for(dialect), f"{where}['MODELS']"
    )
    default_model = opts["DEFAULT_MODEL"] or next(iter(models))
    if default_model not in models:
        raise ConfigurationError(f"DEFAULT_MODEL {default_model!r} is not in MODELS", setting=f"{where}['DEFAULT_MODEL']")
    for key in ("MAX_IN_FLIGHT", "CREATES_PER_MINUTE"):
        if not isinstance(opts[key], int) or opts[key] < 1:
            raise ConfigurationError(f"{key} must be a positive whole number", setting=f"{where}[{key!r}]")
    pins = opts["CAPABILITIES"] or {}
    if not isinstance(pins, dict):
        raise ConfigurationError(
            "CAPABILITIES must be a dict of feature -> True/False", setting=f"{where}['CAPABILITIES']"
        )
    for feature, value in pins.items():
        if feature not in presets.FEATURES:
            raise ConfigurationError(
                f"Unknown capability {feature!r}; known: {', '.join(presets.FEATURES)}",
                setting=f"{where}['CAPABILITIES'][{feature!r}]",
            )
        if not isinstance(value, bool):
            raise ConfigurationError(
                "a capability pin is True or False", setting=f"{where}['CAPABILITIES'][{feature!r}]"
            )
    list_query = opts["LIST_QUERY"]
    if list_query is None:
        list_query = {"custom_llm_provider": "openai"} if dialect == "litellm" else {}
    return ProviderConfig(
        name=name,
        base_url=str(opts["BASE_URL"]).rstrip("/"),
        api_key_env=str(opts["API_KEY_ENV"]),
        dialect=dialect,
        webhook_secret_env=opts["WEBHOOK_SECRET_ENV"],
        models=models,
        default_model=default_model,
        max_in_flight=opts["MAX_IN_FLIGHT"],
        creates_per_minute=opts["CREATES_PER_MINUTE"],
        emulator=bool(opts["EMULATOR"]),
        label=str(opts["LABEL"] or ""),
        list_query=dict(list_query),
        capabilities=dict(pins),
        approval_above=None if opts["APPROVAL_ABOVE"] is None else _decimal(
            opts["APPROVAL_ABOVE"], f"{where}['APPROVAL_ABOVE']"),
    )


_cache: dict[str, Any] = {}


def providers() -> dict[str, ProviderConfig]:
    """Every configured provider by name, parsed and validated (cached until settings change)."""
    if "providers" not in _cache:
        raw = get("PROVIDERS")
        if raw is None:
            raw = {
                "emulator": {
                    "BASE_URL": os.environ.get("SORA_EMULATOR_URL", "http://127.0.0.1:8765/v1"),
                    "API_KEY_ENV": "SORA_EMULATOR_API_KEY",
                    "EMULATOR": True,
                    "LABEL": "Local emulator",
                }
            }
        if not isinstance(raw, dict) or not raw:
            raise ConfigurationError("PROVIDERS must be a non-empty dict", setting=f"{SETTING}['PROVIDERS']")
        _cache["providers"] = {str(name): _parse_provider(str(name), opts) for name, opts in raw.items()}
    return _cache["providers"]


def provider(name: str | None = None) -> ProviderConfig:
    """A provider by name, or the default one."""
    configured = providers()
    if name is None:
        name = get("DEFAULT_PROVIDER") or next(iter(configured))
        if name not in configured:
            raise ConfigurationError(
                f"DEFAULT_PROVIDER {name!r} is not in PROVIDERS", setting=f"{SETTING}['DEFAULT_PROVIDER']"
            )
    try:
        return configured[name]
    except KeyError:
        raise InvalidRequest(
            f"Unknown provider {name!r}; configured: {', '.join(configured)}.", field="provider"
        ) from None


def validate() -> None:
    """Parse everything once; raises ConfigurationError on the first problem."""
    _raw()
    for key in ("USER_MONTHLY_BUDGET", "APPROVAL_ABOVE"):
        if get(key) is not None:
            _decimal(get(key), f"{SETTING}[{key!r}]")
    for group, amount in (get("GROUP_MONTHLY_BUDGETS") or {}).items():
        _decimal(amount, f"{SETTING}['GROUP_MONTHLY_BUDGETS'][{group!r}]")
    if get("DOWNLOAD_SHA256") not in ("auto", "inline", "deferred"):
        raise ConfigurationError(
            "DOWNLOAD_SHA256 must be 'auto', 'inline' or 'deferred'", setting=f"{SETTING}['DOWNLOAD_SHA256']"
        )
    if get("VISIBILITY") not in ("all", "projects"):
        raise ConfigurationError("VISIBILITY must be 'all' or 'projects'", setting=f"{SETTING}['VISIBILITY']")
    if get("REFERENCE_FIT") not in ("crop", "letterbox"):
        raise ConfigurationError("REFERENCE_FIT must be 'crop' or 'letterbox'", setting=f"{SETTING}['REFERENCE_FIT']")
    provider()


@receiver(setting_changed)
def _clear_cache(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING:
        _cache.clear()


def safe_url(url: str) -> str:
    """A URL without any user:password part (never print a credential)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        parts = parts._replace(netloc=host)
    return urlunsplit(parts)
