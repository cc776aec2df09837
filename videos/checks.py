"""System checks: misconfiguration is reported at start-up, naming the setting to fix."""
from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from . import conf, health
from .exceptions import ConfigurationError


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    try:
        conf.validate()
    except ConfigurationError as exc:
        return [Error(str(exc), hint=f"Fix {exc.setting}." if exc.setting else None, id="sora_videos.E001")]
    messages: list = []
    storage_alias = conf.get("STORAGE")
    if storage_alias not in getattr(settings, "STORAGES", {}):
        messages.append(
            Error(
                f"SORA_VIDEOS['STORAGE'] is {storage_alias!r}, which is not an alias in STORAGES.",
                hint="Add it to settings.STORAGES or set SORA_VIDEOS['STORAGE'] to an existing alias.",
                id="sora_videos.E002",
            )
        )
    if not getattr(settings, "Q_CLUSTER", None):
        messages.append(
            Warning(
                "Q_CLUSTER is not configured: django-q2 falls back to its defaults.",
                hint="Add a Q_CLUSTER setting (the ORM broker needs {'orm': 'default'}) and run `manage.py qcluster`.",
                id="sora_videos.W001",
            )
        )
    for provider in conf.providers().values():
        if not provider.emulator and not os.environ.get(provider.api_key_env):
            messages.append(
                Warning(
                    f"Provider {provider.name!r} has no API key: the environment variable {provider.api_key_env} "
                    "is not set.",
                    hint=f"Set {provider.api_key_env} in the environment or in .env.",
                    id="sora_videos.W002",
                )
            )
        if provider.webhook_secret_env and os.environ.get(provider.webhook_secret_env, "").strip() and not os.environ[
            provider.webhook_secret_env
        ].startswith("whsec_"):
            messages.append(
                Error(
                    f"{provider.webhook_secret_env} does not look like a webhook secret (whsec_...).",
                    hint="Copy the secret exactly as the provider shows it.",
                    id="sora_videos.E003",
                )
            )
    return messages


@register("sora_videos", deploy=True)
def check_services(app_configs: Any = None, **kwargs: Any) -> list:
    """With ``check --deploy``: the broker answers and the storage exists (what ``sora doctor``
    checks first; no object is written)."""
    return [
        Error(f"{check.name}: {check.detail}", hint=check.fix, id=check_id)
        for check, check_id in ((health.broker(), "sora_videos.E004"),
                                (health.storage_check(write=False), "sora_videos.E005"))
        if not check.ok
    ]
