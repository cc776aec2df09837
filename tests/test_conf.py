"""SORA_VIDEOS is read lazily, validated strictly, and reported by system checks."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from videos import conf
from videos.checks import check_settings
from videos.exceptions import ConfigurationError, InvalidRequest


def test_embedded_default_is_the_labelled_emulator(settings, monkeypatch):
    monkeypatch.delenv("SORA_EMULATOR_API_KEY", raising=False)
    settings.SORA_VIDEOS = {}
    provider = conf.provider()
    assert provider.emulator and provider.display_name == "Local emulator"
    assert provider.base_url.endswith("/v1")
    assert provider.api_key() == "sk-emulator"
    assert set(provider.models) == {"sora-2", "sora-2-pro"}


def test_unknown_top_level_option_names_itself(settings):
    settings.SORA_VIDEOS = {"POLL_INTERVALL": 3}
    with pytest.raises(ConfigurationError) as err:
        conf.get("POLL_INTERVAL")
    assert "POLL_INTERVALL" in str(err.value) and "SORA_VIDEOS" in err.value.setting


def test_unknown_provider_option_is_rejected(settings):
    settings.SORA_VIDEOS = {"PROVIDERS": {"p": {"BASE_URL": "http://x/v1", "APIKEY": "oops"}}}
    with pytest.raises(ConfigurationError) as err:
        conf.providers()
    assert err.value.setting == "SORA_VIDEOS['PROVIDERS']['p']['APIKEY']"


@pytest.mark.parametrize(
    "provider, fragment",
    [
        ({"BASE_URL": "ftp://x"}, "BASE_URL"),
        ({"BASE_URL": "http://x/v1", "DIALECT": "klingon"}, "DIALECT"),
        ({"BASE_URL": "http://x/v1", "MODELS": {"m": {"SIZES": ["big"], "SECONDS": ["4"]}}}, "SIZES"),
        ({"BASE_URL": "http://x/v1", "MODELS": {"m": {"SIZES": ["1x1"], "SECONDS": ["4"], "FPS": 3}}}, "FPS"),
        ({"BASE_URL": "http://x/v1", "DEFAULT_MODEL": "nope"}, "DEFAULT_MODEL"),
        ({"BASE_URL": "http://x/v1", "MAX_IN_FLIGHT": 0}, "MAX_IN_FLIGHT"),
    ],
)
def test_bad_provider_settings_name_the_setting(settings, provider, fragment):
    settings.SORA_VIDEOS = {"PROVIDERS": {"p": provider}}
    with pytest.raises(ConfigurationError) as err:
        conf.providers()
    assert fragment in err.value.setting


def test_system_check_reports_misconfiguration(settings):
    settings.SORA_VIDEOS = {"REFERENCE_FIT": "stretch"}
    errors = check_settings()
    assert [e.id for e in errors] == ["sora_videos.E001"]
    assert "REFERENCE_FIT" in errors[0].msg
    with pytest.raises(SystemCheckError):
        call_command("check")


def test_missing_api_key_is_a_warning_naming_the_variable(settings, monkeypatch):
    monkeypatch.delenv("ACME_KEY", raising=False)
    settings.SORA_VIDEOS = {"PROVIDERS": {"acme": {"BASE_URL": "https://acme.example/v1", "API_KEY_ENV": "ACME_KEY"}}}
    warnings = [m for m in check_settings() if m.id == "sora_videos.W002"]
    assert warnings and "ACME_KEY" in warnings[0].msg
    with pytest.raises(ConfigurationError) as err:
        conf.provider("acme").api_key()
    assert err.value.setting == "ACME_KEY"


def test_key_comes_from_the_environment_only(settings, monkeypatch):
    monkeypatch.setenv("ACME_KEY", "sk-secret-value")
    settings.SORA_VIDEOS = {"PROVIDERS": {"acme": {"BASE_URL": "https://acme.example/v1", "API_KEY_ENV": "ACME_KEY"}}}
    provider = conf.provider("acme")
    assert provider.api_key() == "sk-secret-value"
    assert "sk-secret-value" not in repr(provider)


def test_prices_per_size_and_cost(settings):
    settings.SORA_VIDEOS = {}
    pro = conf.provider().model("sora-2-pro")
    assert pro.cost("1792x1024", 8) == Decimal("4.0000")
    assert pro.cost("1280x720", 4) == Decimal("1.2000")


def test_settings_changes_are_seen_without_restart(settings):
    settings.SORA_VIDEOS = {"PROVIDERS": {"a": {"BASE_URL": "http://a/v1", "EMULATOR": True}}}
    assert conf.provider().name == "a"
    settings.SORA_VIDEOS = {"PROVIDERS": {"b": {"BASE_URL": "http://b/v1", "EMULATOR": True}}}
    assert conf.provider().name == "b"


def test_unknown_provider_is_invalid_input(settings):
    settings.SORA_VIDEOS = {}
    with pytest.raises(InvalidRequest) as err:
        conf.provider("nope")
    assert "nope" in str(err.value)
